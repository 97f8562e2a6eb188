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
# field NAME < one JSON line: the number after "NAME":
field() { sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p"; }
echo "# single-core network rate on these songs:"
"$v" bench model --in "$tmp/own" --threads 1 --seconds 60 --json | tee "$tmp/net.json"
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
for layout in duckdb own; do
  case $layout in
  duckdb) echo "# embed, DuckDB one row group:" ;;
  own) echo "# embed, vindex 256-row groups:" ;;
  esac
  "$v" bench embed --in "$tmp/$layout" --json --quiet | tee "$tmp/$layout.json"
  echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
done
# The issue's figures: cores used (≥ 1.8), rate against twice the
# single-core network rate (≥ 85 %), and CPU-s a song of the pipeline against
# the bare network's (the difference is the pipeline's own cost a song, start-up included).
net=$(field songs_per_s <"$tmp/net.json")
netcpu=$(field cpu_s_per_song <"$tmp/net.json")
for layout in duckdb own; do
  rate=$(field songs_per_s <"$tmp/$layout.json")
  cores=$(field cpu_per_wall <"$tmp/$layout.json")
  cpu=$(field cpu_s_per_song <"$tmp/$layout.json")
  awk -v l="$layout" -v r="$rate" -v n="$net" -v c="$cores" -v p="$cpu" -v q="$netcpu" 'BEGIN {
    printf "%-6s %.2f songs/s = %.1f %% of 2 x %.2f (target >= 85 %%); %.2f cores (target >= 1.8); %.4f CPU-s a song vs %.4f for the network alone (+%.1f ms)\n",
      l, r, 100 * r / (2 * n), n, c, p, q, 1000 * (p - q) }'
done
