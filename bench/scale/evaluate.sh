#!/bin/sh
# Evaluation at scale (issue 11.4): metrics.Evaluate alone vs the Beam
# pipeline on prism (ReadEmbeddings → Evaluate → report, reading a Parquet
# catalog as `vindex evaluate` does), on the same synthetic catalog, one after
# the other in one run; each line is one process's JSON (seconds, peak RSS).
#
#	sh bench/scale/evaluate.sh [N] [D]     (default 100000 256)
set -eu
n=${1:-100000}
d=${2:-256}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/gobench" ./bench/metrics/gobench
"$tmp/gobench" -bench_synthetic "$n" -bench_dim "$d" -bench_write "$tmp/cat"
echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$tmp/gobench" -bench_synthetic "$n" -bench_dim "$d"
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$tmp/gobench" -bench_beam -bench_parquet "$tmp/cat" 2>"$tmp/beam.log" || { tail -20 "$tmp/beam.log"; exit 1; }
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
