#!/bin/sh
# Embedding memory against catalog size (issue 11.5): peak RSS of
# `vindex embed` (through `vindex bench embed`) over N1 and N2 short
# synthetic songs (mean 40 s), each catalog written by `vindex synth` in a
# separate process first, so that the figure is the pipeline's own.
#
#	sh bench/scale/embed-memory.sh [N1 N2]     (default 2000 20000)
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/vindex" ./cmd/vindex
v="$tmp/vindex"
for n in "${1:-2000}" "${2:-20000}"; do
  works=$((n / 15))
  "$v" synth --works "$works" --versions 13 --noise $((n - works * 13)) --mean-duration 40 --out "$tmp/f$n" >/dev/null
  echo "# $(date -u +%FT%TZ) n=$n load: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$v" bench embed --in "$tmp/f$n" --json --quiet
  rm -rf "$tmp/f$n"
done
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
