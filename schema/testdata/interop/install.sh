#!/usr/bin/env bash
# Installs DuckDB's Node.js client (@duckdb/node-api) into the git-ignored
# folder .cache/interop/ at the repository root, for the Parquet
# interoperability tests of package schema (TestDuckDB*). Idempotent.
# Usage: bash schema/testdata/interop/install.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
dest="$root/.cache/interop"
version="${DUCKDB_NODE_API_VERSION:-1.5.6-r.1}"
command -v node >/dev/null || { echo "install.sh: node is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "install.sh: npm is required" >&2; exit 1; }
mkdir -p "$dest"
if [ ! -f "$dest/package.json" ]; then
  echo '{"name":"vindex-interop","private":true}' > "$dest/package.json"
fi
npm install --prefix "$dest" --no-audit --no-fund --loglevel=error "@duckdb/node-api@$version"
node -e "require('$dest/node_modules/@duckdb/node-api'); console.log('duckdb node-api ok')"
