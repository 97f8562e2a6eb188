#!/bin/sh
# Embedding at scale (issue 11.2): `vindex embed` of a 300-song catalog
# (Da-TACOS durations, 218 s ± 69 s) written by DuckDB as ONE row group, and
# the same songs in vindex's own 256-row groups, against the single-core
# network rate on the same songs (`vindex bench model --in`, which is what
# BenchmarkEmbed measures, at these songs' lengths), all in one run.
#
#	sh bench/scale/embed.sh [SONGS]        (default 300; needs node + DuckDB:
#	                                        bash schema/testdata/interop/install.sh)
set -eu
n=${1:-300}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/vindex" ./cmd/vindex
v="$tmp/vindex"
works=$((n / 15))
"$v" synth --works "$works" --versions 13 --noise $((n - works * 13)) --out "$tmp/own" >/dev/null
mkdir -p "$tmp/duckdb"
echo "# duckdb: $(node bench/scale/onegroup.js "$tmp/own" "$tmp/duckdb/catalog.parquet")"
echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# single-core network rate on these songs:"
"$v" bench model --in "$tmp/own" --threads 1 --seconds 60 --json
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# embed, DuckDB one row group:"
"$v" bench embed --in "$tmp/duckdb" --json --quiet
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# embed, vindex 256-row groups:"
"$v" bench embed --in "$tmp/own" --json --quiet
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
