#!/usr/bin/env bash
# Train the shipped mbt2018-mean qualities on one GPU, one process per quality, for a
# wall-clock budget; then export fp16 weights from each run's latest checkpoint.
# usage: tools/train_zoo.sh DATA RUNS OUT SECONDS STEPS LR [INIT]
#   INIT=1 starts each quality from RUNS/qQ/checkpoint.pt (a fresh schedule of STEPS).
# The zoo uses n=128, m=192 at every quality so each weight file stays near 15 MB.
set -uo pipefail
data=$1 runs=$2 out=$3 seconds=$4 steps=$5 lr=$6 init=${7:-0}
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
qualities=${QUALITIES:-1 2 4 6}
mkdir -p "$runs" "$out"
for q in $qualities; do
  extra=()
  if [ "$init" = 1 ]; then
    mv "$runs/q$q/checkpoint.pt" "$runs/init$q.pt" && rm -rf "$runs/q$q"
    extra=(--init-from "$runs/init$q.pt")
  fi
  timeout -s INT "$seconds" python -m licodec.cli.main train mbt2018-mean -q "$q" \
    --data "$data" --out "$runs/q$q" --steps "$steps" --lr "$lr" --batch-size 16 \
    --num-workers 3 --device cuda --log-every 50 --checkpoint-every 250 \
    --model-arg n=128 --model-arg m=192 "${extra[@]}" >"$runs/q$q.log" 2>&1 &
done
wait
for q in $qualities; do
  python tools/export_checkpoint.py "$runs/q$q/checkpoint.pt" "$out/mbt2018-mean-q$q.safetensors"
  tail -n 2 "$runs/q$q/log.csv"
  grep -i -m3 error "$runs/q$q.log"
done
