#!/usr/bin/env bash
# The LVQAC twins (results/kodak/lvqac/): per quality, the scalar, lattice, companding and
# lvqac variants of mbt2018-ckbd fine-tuned 1,500 steps from one scalar start with the same
# data, batch, schedule and seed; then the group sweep (lattice, groups 4 and 96, at q2) and
# the compander-range point (lvqac, R = 4, at q2). Two runs at a time, one thread each.
# Usage: tools/lvqac_twins.sh RUNS START_Q2.safetensors START_Q4.safetensors
# (q1 starts from the q2 file, q6 from the q4 file). Then:
#   python benchmarks/lvqac.py --runs RUNS --images ../shared/data/kodak --calibrate \
#       --points lattice-n4:lattice lattice-n96:lattice lvqac-r4:lvqac
set -euo pipefail
RUNS=$1; S2=$2; S4=$3
DATA=${DATA:-../shared/data/train}
mkdir -p "$RUNS"
twin() {  # MODEL QUALITY START NAME [MODEL_ARG]
    local extra=()
    [ -n "${5:-}" ] && extra=(--model-arg "$5")
    OMP_NUM_THREADS=1 python -c "import sys, torch; torch.set_num_threads(1)
from licodec.cli.main import main; sys.exit(main(sys.argv[1:]))" \
        train "$1" -q "$2" --data "$DATA" --out "$RUNS/$4" --steps 1500 --batch-size 8 \
        --crop 128 --num-workers 1 --compile --checkpoint-every 500 --log-every 50 \
        --init-from "$3" --init-partial --model-arg n=64 --model-arg m=96 "${extra[@]}" \
        > "$RUNS/$4.log" 2>&1
}
export -f twin; export RUNS DATA
{
    for v in "" -lattice -companding -lvqac; do
        name=${v#-}; name=${name:-scalar}
        echo "mbt2018-ckbd$v 1 $S2 $name-q1"; echo "mbt2018-ckbd$v 2 $S2 $name-q2"
        echo "mbt2018-ckbd$v 4 $S4 $name-q4"; echo "mbt2018-ckbd$v 6 $S4 $name-q6"
    done
    echo "mbt2018-ckbd-lattice 2 $S2 lattice-n4-q2 group=4"
    echo "mbt2018-ckbd-lattice 2 $S2 lattice-n96-q2 group=96"
    echo "mbt2018-ckbd-lvqac 2 $S2 lvqac-r4-q2 radius=4.0"
} | xargs -P 2 -L 1 bash -c 'twin "$@"' _
