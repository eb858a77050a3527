#!/usr/bin/env bash
# The Tucodec runs (results/kodak/tucodec/): at q3 the full model and its three ablation
# twins (no non-local attention, integer centres, Gaussian), then the full model at q1, q2,
# q4 and q5, and after the post-filter stage (below) the no-attention twin at q1, q2, q4, q5. Every run fine-tunes 1,500 steps from shipped mbt2018-ckbd(-lattice) weights
# with the same data, batch, schedule and seed (the twins share their start exactly); two
# runs at a time, one thread each. Then the post-filter stage of every full model: 800 steps,
# the codec frozen (--objective post-filter), into RUNS/postfilter-qQ.
# Usage: tools/tucodec_twins.sh RUNS CKBD_Q2 CKBD_Q4 CKBD_LATTICE_Q1
set -euo pipefail
RUNS=$1; S2=$2; S4=$3; S1=$4
DATA=${DATA:-../shared/data/train}
mkdir -p "$RUNS"
run() {  # QUALITY START NAME [MODEL_ARG]
    local extra=()
    [ -n "${4:-}" ] && extra=(--model-arg "$4")
    OMP_NUM_THREADS=1 python -c "import sys, torch; torch.set_num_threads(1)
from licodec.cli.main import main; sys.exit(main(sys.argv[1:]))" \
        train tucodec -q "$1" --data "$DATA" --out "$RUNS/$3" --steps 1500 --batch-size 8 \
        --crop 128 --num-workers 1 --compile --checkpoint-every 500 --log-every 50 \
        --init-from "$2" --init-partial --model-arg n=64 --model-arg m=96 "${extra[@]}" \
        > "$RUNS/$3.log" 2>&1
}
export -f run; export RUNS DATA
{
    echo "3 $S2 full-q3"; echo "3 $S2 noattention-q3 attention=0"
    echo "3 $S2 integer-q3 centres=integer"; echo "3 $S2 gaussian-q3 distribution=gaussian"
    echo "1 $S1 full-q1"; echo "2 $S1 full-q2"
    echo "4 $S4 full-q4"; echo "5 $S4 full-q5"
} | xargs -P 2 -L 1 bash -c 'run "$@"' _
postfilter() {  # QUALITY
    OMP_NUM_THREADS=1 python -c "import sys, torch; torch.set_num_threads(1)
from licodec.cli.main import main; sys.exit(main(sys.argv[1:]))" \
        train tucodec -q "$1" --data "$DATA" --out "$RUNS/postfilter-q$1" --steps 800 \
        --batch-size 8 --crop 128 --num-workers 1 --lr 5e-4 --checkpoint-every 400 \
        --log-every 50 --objective post-filter --init-from "$RUNS/full-q$1/checkpoint.pt" \
        --init-partial --model-arg n=64 --model-arg m=96 > "$RUNS/postfilter-q$1.log" 2>&1
}
export -f postfilter
printf '%s\n' 1 2 3 4 5 | xargs -P 2 -L 1 bash -c 'postfilter "$@"' _
{
    echo "1 $S1 noattention-q1 attention=0"; echo "5 $S4 noattention-q5 attention=0"
    echo "2 $S1 noattention-q2 attention=0"; echo "4 $S4 noattention-q4 attention=0"
} | xargs -P 2 -L 1 bash -c 'run "$@"' _
