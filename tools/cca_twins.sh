#!/usr/bin/env bash
# The cross-component runs (results/kodak-yuv420/): cca-yuv420 (N = M = 64, centred planes,
# chroma gain 4, equal plane weights: luma_weight 1, luma stream N wide at H/2: luma_width 64,
# residual GDN resampling in the FABs: residual_resampling 1) and its RGB twin cheng2020-anchor
# (N = 64), trained with one recipe: stage A from scratch at q2's λ (1500 steps, lr 3e-4,
# seed 0), stages A2 and A3 (below), then stage B, every quality fine-tuned 200 steps
# (lr 1e-4) from its own family's last stage-A checkpoint, so both families have the same
# steps at each quality (1500 + 1000 + 2000 + 1000 + 200 = 5700 with the defaults: every
# quality in HIGH goes through stage C below, 4700 for the others); batch 8, 128²
# crops, one thread per run. λ: cca-yuv420's registered ones for the twin, four times them
# for cca-yuv420's stages A, A2 and A3, whose (Y + U + V)/3 distortion is then at the twin's RGB MSE scale
# (BT.709 limited range: MSE_RGB ≈ 1.36·MSE_Y + 1.50·MSE_U + 1.17·MSE_V). The ablations at q2
# are stage A only (no IGU, BGU, no ACEM, linear fusion, no FA, shared synthesis, M = 128),
# each cca-A with one switch flipped (same λ, steps, seed and data; a repeated --model-arg
# replaces the earlier one, so m128-A's m=128 overrides WIDE's m=64); BGU at seed 1, because
# in an earlier recipe at seed 0 its luma path died within 50 steps (latent std 0.03, Ŷ constant, PSNR 14.4 dB to step 500) and never came back.
# Five lanes at once on two cores (~2.5–5.5 s/step each, by machine); ABLATIONS=0 runs the
# two families only, one lane each (cca 2.0–2.2 s/step, the twin 0.8 s/step, beside each other).
# Stage A2 (STEPS_A2, default 1000; 0 skips it): each family's stage A continued at q2's λ,
# lr 1e-4, seed 1 (fresh crops). Stage A3 (STEPS_A3, default 2000; 0 skips it): A2 continued
# at q2's λ, lr 3e-4 again (dropped ×0.1 at 80% and 95%), seed 2. Stage B starts from the
# last of A, A2, A3 that runs. A stage whose folder holds `done` is not rerun, so RUNS may
# start with earlier stages linked in (how the A3 runs continued session 15/16's A2).
# cca-yuv420's stage B runs at luma_weight 0.25 (the metric's weights, see models/cca.py)
# for all five qualities, q2 included, at λ = 0.006, 0.02, 0.06, 0.18, 0.54 (ten times the
# registered λ one quality down, so that 200 steps spread the qualities apart; q1 at three
# times its own); the twin's stage B at its registered λ. cca's q5 is trained to see whether
# the span widens and is not shipped (at 4700 steps, held-out: 30.17 dB at 0.362 bpp against
# stage-B-only q4's 30.17 at 0.324; through stage C, +0.05 dB over q4 for 25% more bits).
# Stage C (STEPS_C, default 1000; 0 skips it), for the qualities in HIGH (default "1 2 3 4"): a
# branch from each family's last stage A at that quality's own stage-A λ (cca: four times the
# registered one, luma_weight 1; the twin: the registered one), lr 3e-4 (same schedule shape),
# seed 3; that quality's stage B then starts from the branch (1000 more steps there, the same
# for both families). Part of the shipped recipe since session 20 for q3 and q4, chosen on
# the held-out CamVid val frames once cca's decoder ran its ACEM as trained (on the unclamped
# synthesis): cca's q4 30.17 -> 30.44 dB PSNR-YUV for 16% more bits (the twin's 30.36 -> 30.79
# for 26% more), cca's q3 30.06 -> 30.29 for 6% more (the twin's 30.32 -> 30.69 for 14%).
# Session 19 had judged the branch on the clamp-first decoder and left it out. Since session
# 21 for q1 and q2 too, where the branch's λ is stage A's own (q2) or a third of it (q1):
# both axes improve in both families on the same frames (cca q2 29.75 @ 0.177 -> 29.94 @
# 0.170 bpp, q1 28.93 @ 0.112 -> 29.07 @ 0.109; the twin's q2 30.16 @ 0.256 -> 30.47 @ 0.257,
# q1 29.73 @ 0.187 -> 29.93 @ 0.171).
# Stage D (session 24; CONTINUE="1 2 3 4" runs it instead of the stages above, one lane, the
# qualities in turn for each family in FAMILIES): each family's fp16 end point of the recipe
# above (cca: CCA_FROM, default the shipped src/licodec/weights; the twin: CHENG_FROM, its
# exports) continued STEPS_D (default 1000) steps as its stage B (same λ and plane weights,
# lr 1e-4, ×0.1 at 80% and 95%), seed 4. Both start from fp16 weights without optimizer state.
# A_LUMA_WEIGHT (default 1, the recipe above) sets cca's luma weight in stages A, A2, A3 and C,
# and A_LAMBDA_SCALE (default 1) multiplies their λ: A_LUMA_WEIGHT=0.25 A_LAMBDA_SCALE=2.5 trains
# every stage at stage B's plane weights (session 25: as stage-A twins at q2, 1,500 steps, seed
# 0, on the held-out CamVid val frames it took 29.22 dB PSNR-YUV at 0.326 bpp against luma
# weight 1's 29.04 at 0.389: Y -0.12, U/V +1.1 dB; but weight 1 at seed 1 took 29.11 at 0.305,
# so about +0.05-0.1 dB at equal rate). With FAMILIES=cca alone a second lane
# trains cca's q2 and q4. Every run resumes from its last checkpoint if it was stopped.
# Usage: tools/cca_twins.sh RUNS   (PYTHONPATH may point at a snapshot of src/)
set -euo pipefail
RUNS=$1
DATA=${DATA:-../shared/data/train}
STEPS_A=${STEPS_A:-1500}
STEPS_B=${STEPS_B:-200}
STEPS_A2=${STEPS_A2:-1000}
STEPS_A3=${STEPS_A3:-2000}
STEPS_C=${STEPS_C:-1000}
STEPS_D=${STEPS_D:-1000}
CCA_FROM=${CCA_FROM:-src/licodec/weights}
CHENG_FROM=${CHENG_FROM:-}
HIGH=${HIGH:-"1 2 3 4"}
START=A; [ "$STEPS_A2" -gt 0 ] && START=A2; [ "$STEPS_A3" -gt 0 ] && [ "$START" = A2 ] && START=A3
ABLATIONS=${ABLATIONS:-1}
FAMILIES=${FAMILIES:-"cca cheng"}  # FAMILIES=cheng retrains the twin alone (with ABLATIONS=0)
LAMBDAS=(0 0.002 0.006 0.018 0.054 0.162)
A_LUMA_WEIGHT=${A_LUMA_WEIGHT:-1}
A_LAMBDA_SCALE=${A_LAMBDA_SCALE:-1}
read -r -a CCA_LAMBDAS <<< "$(echo 0 0.008 0.024 0.072 0.216 0.648 |
    awk -v s="$A_LAMBDA_SCALE" '{for (i = 1; i <= NF; i++) printf "%g ", $i * s}')"
CCA_B_LAMBDAS=(0 0.006 0.02 0.06 0.18 0.54)
WIDE=(--model-arg n=64 --model-arg m=64 --model-arg chroma_gain=4 --model-arg luma_width=64
      --model-arg residual_resampling=1)
CCA=("${WIDE[@]}" --model-arg luma_weight="$A_LUMA_WEIGHT")
CCA_B=("${WIDE[@]}" --model-arg luma_weight=0.25)
CHENG=(--model-arg n=64)
mkdir -p "$RUNS"
train() {  # MODEL QUALITY NAME STEPS LR LAMBDA [extra args...]; touches NAME/done
    local model=$1 q=$2 name=$3 steps=$4 lr=$5 lmbda=$6; shift 6
    [ -e "$RUNS/$name/done" ] && return
    OMP_NUM_THREADS=1 LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \
    python -c "import sys, torch; torch.set_num_threads(1)
from licodec.cli.main import main; sys.exit(main(sys.argv[1:]))" \
        train "$model" -q "$q" --data "$DATA" --out "$RUNS/$name" --steps "$steps" \
        --batch-size 8 --crop 128 --num-workers 1 --lr "$lr" --checkpoint-every 250 \
        --log-every 50 --lmbda "$lmbda" --resume "$@" > "$RUNS/$name.log" 2>&1 &&
        touch "$RUNS/$name/done"
}
stage_a() {  # MODEL NAME LAMBDA ARGS...: stage A, and for the two families A2 and A3
    local model=$1 name=$2 lmbda=$3; shift 3
    train "$model" 2 "$name" "$STEPS_A" 3e-4 "$lmbda" "$@" || return
    case $name in cca-A|cheng-A) ;; *) return ;; esac
    [ "$START" = A ] && return
    train "$model" 2 "${name}2" "$STEPS_A2" 1e-4 "$lmbda" "$@" --seed 1 \
        --init-from "$RUNS/$name/checkpoint.pt" || return
    [ "$START" = A2 ] && return
    train "$model" 2 "${name}3" "$STEPS_A3" 3e-4 "$lmbda" "$@" --seed 2 \
        --init-from "$RUNS/${name}2/checkpoint.pt"
}
stage_b() {  # QUALITY FAMILY: one fine-tune, once that family's last stage A has exported
    local q=$1 family=$2 init model lambda_c lambda_b
    local -a args_c args_b
    if [ "$family" = cca ]; then
        model=cca-yuv420 lambda_c=${CCA_LAMBDAS[$q]} lambda_b=${CCA_B_LAMBDAS[$q]}
        args_c=("${CCA[@]}") args_b=("${CCA_B[@]}")
    else
        model=cheng2020-anchor lambda_c=${LAMBDAS[$q]} lambda_b=${LAMBDAS[$q]}
        args_c=("${CHENG[@]}") args_b=("${CHENG[@]}")
    fi
    until [ -e "$RUNS/$family-$START/done" ]; do sleep 30; done  # train touches it
    init=$RUNS/$family-$START/checkpoint.pt
    if [ "$STEPS_C" -gt 0 ] && [[ " $HIGH " == *" $q "* ]]; then  # stage C first
        train "$model" "$q" "$family-C$q" "$STEPS_C" 3e-4 "$lambda_c" \
            --init-from "$init" "${args_c[@]}" --seed 3 || return
        init=$RUNS/$family-C$q/checkpoint.pt
    fi
    train "$model" "$q" "$family-q$q" "$STEPS_B" 1e-4 "$lambda_b" --init-from "$init" "${args_b[@]}"
}
has() { [[ " $FAMILIES " == *" $1 "* ]]; }
cca_even() { stage_b 2 cca; [ "$ABLATIONS" = 1 ] || stage_b 4 cca; }  # q4: else an ablation lane
stage_d() {  # QUALITY FAMILY: STEPS_D more steps of stage B from the family's fp16 end point
    local q=$1 family=$2
    if [ "$family" = cca ]; then
        train cca-yuv420 "$q" "cca-D$q" "$STEPS_D" 1e-4 "${CCA_B_LAMBDAS[$q]}" \
            --init-from "$CCA_FROM/cca-yuv420-q$q.safetensors" "${CCA_B[@]}" --seed 4
    else
        train cheng2020-anchor "$q" "cheng-D$q" "$STEPS_D" 1e-4 "${LAMBDAS[$q]}" \
            --init-from "$CHENG_FROM/cheng2020-anchor-q$q.safetensors" "${CHENG[@]}" --seed 4
    fi
}
if [ -n "${CONTINUE:-}" ]; then  # stage D only, one lane: CONTINUE's qualities in turn
    for q in $CONTINUE; do for family in $FAMILIES; do stage_d "$q" "$family"; done; done
    exit
fi
# q4 goes to an ablation lane when there is one, else the twin's lane, which finishes first
has cca && { stage_a cca-yuv420 cca-A "${CCA_LAMBDAS[2]}" "${CCA[@]}"; stage_b 1 cca
  stage_b 3 cca; stage_b 5 cca; } &
has cheng && { stage_a cheng2020-anchor cheng-A "${LAMBDAS[2]}" "${CHENG[@]}"; stage_b 1 cheng
  stage_b 3 cheng; [ "$ABLATIONS" = 1 ] || stage_b 4 cheng; stage_b 2 cheng; stage_b 5 cheng
  has cca && cca_even; } &
if has cca && ! has cheng; then cca_even & fi
if [ "$ABLATIONS" = 1 ]; then
    { stage_a cca-yuv420 noigu-A "${CCA_LAMBDAS[2]}" "${CCA[@]}" --model-arg guide=none
      stage_b 4 cheng; } &
    { stage_a cca-yuv420 bgu-A "${CCA_LAMBDAS[2]}" "${CCA[@]}" --model-arg guide=bgu --seed 1; } &
    { stage_a cca-yuv420 noacem-A "${CCA_LAMBDAS[2]}" "${CCA[@]}" --model-arg acem=0
      stage_b 4 cca; } &
    { stage_a cca-yuv420 linfuse-A "${CCA_LAMBDAS[2]}" "${CCA[@]}" --model-arg linear_fusion=1
      stage_a cca-yuv420 nofa-A "${CCA_LAMBDAS[2]}" "${CCA[@]}" --model-arg feature_attention=0
      stage_a cca-yuv420 shared-A "${CCA_LAMBDAS[2]}" "${CCA[@]}" --model-arg shared_synthesis=1
      stage_a cca-yuv420 m128-A "${CCA_LAMBDAS[2]}" "${CCA[@]}" --model-arg m=128
    } &
fi
wait
