#!/bin/sh
# Go (model/torch.Load) vs PyTorch (torch.load, map_location='cpu') on the same
# full-size MOVE checkpoints (d=256, 9 MB, zip and legacy), in one run on this
# machine. Both sides read from memory (Go: bytes.Reader; Python: io.BytesIO),
# so disk caching does not enter. Run from the repository root:
#     sh bench/checkpoint/bench.sh
set -eu
N=${N:-20}
go_out=$(go test -run '^$' -bench 'BenchmarkLoadMOVE' -benchtime "${N}x" ./model/torch/)
echo "$go_out" | grep Benchmark
for f in zip legacy; do
	go_ms=$(echo "$go_out" | awk -v f="$f" '$1 ~ "LoadMOVE/"f {for (i=1;i<=NF;i++) if ($(i+1)=="ms/load") print $i}')
	py_ms=$(/usr/bin/python3 - "$f" "$N" <<'PY'
import io, sys, time, statistics, torch
torch.set_num_threads(1)
f, n = sys.argv[1], int(sys.argv[2])
data = open("model/testdata/parity/ckpt_sum4-fa3-d256-%s.pt" % f, "rb").read()
ts = []
for _ in range(n):
    t = time.perf_counter(); torch.load(io.BytesIO(data), map_location="cpu"); ts.append(time.perf_counter() - t)
print("%.3f" % (1e3 * statistics.mean(ts)))
PY
)
	echo "$f: go ${go_ms} ms/load, torch.load ${py_ms} ms/load, ratio torch/go $(echo "$py_ms $go_ms" | awk '{printf "%.2f", $1/$2}')"
done
