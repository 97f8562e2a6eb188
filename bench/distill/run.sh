#!/usr/bin/env bash
# Distillation measurements (issue 14): students distilled from a seeded,
# untrained MOVE teacher on a synthetic training catalog, scored on a test
# catalog of other works (another `vindex synth --seed`), against the
# teacher and PCA fitted on the teacher's training embeddings.
#
#   bash bench/distill/run.sh [WORKDIR]
#
# Environment: WORKS/VERSIONS (training catalog), TEST_WORKS/TEST_NOISE,
# MEAN (mean duration, s), EPOCHS, PATCHES. Prints Markdown tables and the
# training times; bench/RESULTS.md records a run.
set -euo pipefail
cd "$(dirname "$0")/../.."
W=${1:-/tmp/vindex-distill-bench}
WORKS=${WORKS:-400} VERSIONS=${VERSIONS:-5} TEST_WORKS=${TEST_WORKS:-300} TEST_NOISE=${TEST_NOISE:-300}
MEAN=${MEAN:-90} EPOCHS=${EPOCHS:-70} PATCHES=${PATCHES:-0}
mkdir -p "$W"
go build -o "$W/vindex" ./cmd/vindex
go build -o "$W/eval" ./bench/distill/eval
go run ./bench/distill/teacher -d 256 -seed 1 -out "$W/t256.safetensors"
go run ./bench/distill/teacher -d 2048 -seed 1 -out "$W/t2048.safetensors"   # same extractor as t256
V="$W/vindex"
dur=(--mean-duration "$MEAN" --sd-duration 20 --min-duration 40 --max-duration 150)
[ -d "$W/train" ] || $V synth --out "$W/train" --seed 101 --works "$WORKS" --versions "$VERSIONS" --noise 0 "${dur[@]}"
[ -d "$W/test" ]  || $V synth --out "$W/test"  --seed 202 --works "$TEST_WORKS" --versions "$VERSIONS" --noise "$TEST_NOISE" "${dur[@]}"
t0=$(date +%s)
[ -d "$W/ptrain/pooled" ] || $V pooled --quiet --teacher "$W/t256.safetensors" --in "$W/train" --out "$W/ptrain" --patches "$PATCHES"
[ -d "$W/ptest/pooled" ]  || $V pooled --quiet --teacher "$W/t256.safetensors" --in "$W/test"  --out "$W/ptest"
echo "pooling (train + test): $(( $(date +%s) - t0 )) s wall"
distil() { # TEACHER D METHOD
  local out="$W/s_${3}_${1#t}_${2}.safetensors"
  echo "$3 $1 → D=$2:"
  /usr/bin/time -f "  %e s wall, %U s user, %M KB max RSS" \
    $V distill --quiet --method "$3" --teacher "$W/$1.safetensors" --in "$W/ptrain/pooled" --dim "$2" --epochs "$EPOCHS" --out "$out" 2>&1
}
for m in lsr kd prune; do distil t256 32 $m; done
for m in lsr kd prune; do distil t2048 256 $m; done
echo
echo "## teacher d=256 → D=32"
"$W/eval" -train-pooled "$W/ptrain/pooled" -test-pooled "$W/ptest/pooled" -teacher "$W/t256.safetensors" -pca 32 \
  -student "LSR (NormalizedSoftmax)=$W/s_lsr_256_32.safetensors" -student "KD (distance + triplet)=$W/s_kd_256_32.safetensors" \
  -student "pruning (triplet)=$W/s_prune_256_32.safetensors"
echo
echo "## teacher d=2048 → D=256"
"$W/eval" -train-pooled "$W/ptrain/pooled" -test-pooled "$W/ptest/pooled" -teacher "$W/t2048.safetensors" -pca 256 \
  -student "LSR (NormalizedSoftmax)=$W/s_lsr_2048_256.safetensors" -student "KD (distance + triplet)=$W/s_kd_2048_256.safetensors" \
  -student "pruning (triplet)=$W/s_prune_2048_256.safetensors"
echo
echo "## the CLI path for one student: embed the test catalog, evaluate"
[ -d "$W/emb_lsr32" ] || $V embed --quiet --weights "$W/s_lsr_256_32.safetensors" --in "$W/test" --out "$W/emb_lsr32" >/dev/null
$V evaluate --in "$W/emb_lsr32/embeddings" --out "$W/eval_lsr32" --distance cosine | head -20
