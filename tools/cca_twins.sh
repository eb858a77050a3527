#!/usr/bin/env bash
# The cross-component runs (results/kodak-yuv420/): cca-yuv420 (N = M = 64) and its RGB
# twin cheng2020-anchor (N = M = 64), trained with one recipe: stage A from scratch at q2's
# λ (800 steps, lr 3e-4), then stage B, every quality fine-tuned 400 steps (lr 1e-4) from its
# own family's stage-A checkpoint; batch 8, 128² crops, seed 0, λ of cca-yuv420's qualities
# for both, one thread per run, two lanes at once. Then the ablations at q2, stage A only
# (BGU, no IGU, no ACEM), each the twin of the full stage-A run.
# Usage: tools/cca_twins.sh RUNS   (PYTHONPATH may point at a snapshot of src/)
set -euo pipefail
RUNS=$1
DATA=${DATA:-../shared/data/train}
LAMBDAS=(0 0.002 0.006 0.018 0.054)
CCA=(--model-arg n=64 --model-arg m=64)
CHENG=(--model-arg n=64)
mkdir -p "$RUNS"
train() {  # MODEL QUALITY NAME STEPS LR [extra args...]
    local model=$1 q=$2 name=$3 steps=$4 lr=$5; shift 5
    OMP_NUM_THREADS=1 LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \
    python -c "import sys, torch; torch.set_num_threads(1)
from licodec.cli.main import main; sys.exit(main(sys.argv[1:]))" \
        train "$model" -q "$q" --data "$DATA" --out "$RUNS/$name" --steps "$steps" \
        --batch-size 8 --crop 128 --num-workers 1 --lr "$lr" --checkpoint-every 200 \
        --log-every 50 --lmbda "${LAMBDAS[$q]}" "$@" > "$RUNS/$name.log" 2>&1
}
stage_b() {  # MODEL PREFIX ARGS...
    local model=$1 prefix=$2; shift 2
    for q in 1 2 3 4; do
        train "$model" "$q" "$prefix-q$q" 400 1e-4 --init-from "$RUNS/$prefix-A/checkpoint.pt" "$@"
    done
}
{
    train cca-yuv420 2 cca-A 800 3e-4 "${CCA[@]}"
    stage_b cca-yuv420 cca "${CCA[@]}"
    train cca-yuv420 2 bgu-A 800 3e-4 "${CCA[@]}" --model-arg guide=bgu
} &
{
    train cheng2020-anchor 2 cheng-A 800 3e-4 "${CHENG[@]}"
    stage_b cheng2020-anchor cheng "${CHENG[@]}"
    train cca-yuv420 2 noigu-A 800 3e-4 "${CCA[@]}" --model-arg guide=none
    train cca-yuv420 2 noacem-A 800 3e-4 "${CCA[@]}" --model-arg acem=0
} &
wait
