#!/bin/sh
# Evaluation at scale (issue 11.4): metrics.Evaluate alone vs the Beam
# pipeline on prism (ReadEmbeddings → Evaluate → report, reading a Parquet
# catalog as `vindex evaluate` does), on the same synthetic catalog, one after
# the other in one run; each line is one process's JSON (seconds, CPU
# seconds, peak RSS), then the pipeline's ratios to metrics.Evaluate (the
# issue's target: ≤ 1.5× the time, ≤ 1.5 GB peak RSS, identical figures).
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
"$tmp/gobench" -bench_synthetic "$n" -bench_dim "$d" | tee "$tmp/plain.json"
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$tmp/gobench" -bench_beam -bench_parquet "$tmp/cat" 2>"$tmp/beam.log" | tee "$tmp/beam.json" || { tail -20 "$tmp/beam.log"; exit 1; }
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
field() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$tmp/$1.json"; }
for k in map mr mr1 mrr top1 top10; do
	[ "$(field plain $k)" = "$(field beam $k)" ] || echo "# FIGURES DIFFER: $k $(field plain $k) vs $(field beam $k)"
done
awk -v pc="$(field plain cpu_seconds)" -v bc="$(field beam cpu_seconds)" -v ps="$(field plain seconds)" \
	-v bs="$(field beam seconds)" -v rss="$(field beam peak_rss_mb)" 'BEGIN {
	printf "# beam / metrics.Evaluate: %.2fx CPU-s (%.1f / %.1f), %.2fx wall (%.1f / %.1f s); beam peak RSS %.0f MB\n", bc/pc, bc, pc, bs/ps, bs, ps, rss }'
