#!/usr/bin/env bash
# The generative runs (results/gan/): gan-gc q1 (C = 2) and q2 (C = 4) and gan-sc q2 with the
# adversarial objective, and the MSE-only twin of gan-gc q2 (warmup=1: the same recipe with
# the adversarial term never switched on). Recipe, all at once, one thread each: width
# 10, 6 residual blocks, 3000 steps from scratch, batch 8, 128² crops, seed 0, lr 2e-4 for
# codec and discriminator (×0.1 after 80% and 95%), a 750-step warm start on 10·MSE alone,
# then LSGAN + 10·feature matching + 10·MSE against a 3-scale PatchGAN of widths 16…128.
# GC trains on ../shared/data/train, SC on ../shared/data/camvid/train.
# STAGE=camvid: the second stage, two runs from the shipped gan-gc q2, 3000 steps on CamVid
# train, adversarial from the first step (warmup=0; D starts afresh): sc-q2-gc, gan-sc q2
# whose generator takes gc-q2's weights and a zero-started label input (--init-partial), and
# its twin gc-q2-camvid, gan-gc q2 continued on the same data with the same schedule.
# Neither ships: on CamVid val (results/gan/sc-from-gc-val/) sc-q2-gc kept 1.2-1.3 dB less
# PSNR than the shipped SC where most is kept, and the twin lost 1 dB against shipped GC.
# gc-q2-camvid-scratch is SC's GC twin: gan-gc q2 with this recipe on SC's data (CamVid train,
# from scratch; benchmarks/gan.py --gc-twin), so SC against GC compares the mode, not the data.
# The sc-q2 lane feeds the keep-mask to the generator (mask_input=1: gan-sc q2 as shipped
# until session 21, chosen on CamVid val, results/gan/sc-val-variants/, over the same lane
# without it and over --objective-arg keep_all=0.5).
# STAGE=gc-encoder (session 21): is SC's kept-area gap its encoder (it codes 22% less than
# GC at the same C)? Two sc-q2 lanes (mask_input=1, the shipped recipe otherwise) on the
# shipped gan-gc q2's encoder, frozen (--freeze g_a), so SC codes GC's very latent where it
# keeps a block: sc-q2-gcenc with only the encoder taken (--init-only g_a; generator from
# scratch), sc-q2-gcenc-gcgen with GC's generator too (widened, as sc-q2-gc). Neither ships:
# on CamVid val (results/gan/sc-val-variants/) they keep 16.52 / 14.87 / 15.56 and 16.71 /
# 15.18 / 15.51 dB (everything / 60% / 18% kept), inside the shipped recipe's seed spread and
# 1.5-2.4 dB below GC (1.5 dB with everything kept, where both decode the very same latent):
# the gap is the generator's, not the encoder's. So two more lanes freeze most of GC's
# generator too, on the same frozen encoder: sc-q2-gcbody trains only the generator's first
# layer (widened to read [ŵ, m, F(s)]) and the label features; sc-q2-gctail also the residual
# blocks (the upsampling tail frozen). On val they keep 17.94 / 17.13 / 16.19 and 18.10 /
# 16.56 / 16.34 dB, 0.9-2.2 dB above the previous shipped SC; sc-q2-gcbody ships as gan-sc
# q2 since session 21 (GC itself: 18.25 / 17.31 / 16.89). The sc-q2-gcbody lane with
# --objective-arg mse=30 (not a lane here) kept 17.75 / 16.97 / 16.54: even on average.
# STAGE=gated (session 22): SC with the gated generator input (gated_input=1, models/gan.py):
# GC's whole network as it is, frozen (--freeze g_a g_s); only the label head (standing in for
# GC's first convolution where a block is dropped) and the label features train. sc-q2-gated
# at seeds 0 and 1 from the shipped gan-gc q2, sc-q1-gated (seed 1) from gan-gc q1. On val the
# q2 lanes keep 18.25 / 17.01 / 16.17 and 18.25 / 17.24 / 16.44 dB (everything kept: GC's own
# picture, by construction), and on 24 training frames of the dusk sequence 0001TP (which val
# lacks) 19.53 / 18.78 / 18.16 and 19.53 / 18.70 / 18.79; sc-q2-gated-s1 ships as gan-sc q2
# since session 22 (29 min beside one other run). A first form of the gate (instance-norm
# statistics over the kept blocks alone, commit 340add0) kept 18.25 / 17.14 / 16.52 on val but
# 13.87 dB on the dusk frames' objects: it normalised away the kept area's own level.
# STAGE=context (session 23): the gated recipe with context_head=1 (models/gan.py: the label
# head also reads the kept blocks' features, three convolutions deep), q2 at seeds 0 and 1;
# STAGE=context2 then q1 at seed 1 (from gan-gc q1) and q2 at seed 1 for 6000 steps. On val
# the q2 lanes keep 18.25 / 16.84 / 16.55, 18.25 / 17.16 / 16.66 and (6000 steps) 18.25 /
# 17.22 / 16.65 dB, on the dusk check 19.53 / 19.24 / 19.50, 19.53 / 18.97 / 18.83 and 19.53
# / 19.33 / 17.78; sc-q2-context-s1 and sc-q1-context-s1 ship as gan-sc q2 and q1 since
# session 23 (17.5-18 min each, two at once). A third seed (--seed 2) of sc-q2-gated and
# sc-q2-context, run the same way after the choice: val 18.25 / 16.98 / 16.40 and 18.25 /
# 17.09 / 16.57 dB, dusk check 19.53 / 18.53 / 18.06 and 19.53 / 18.89 / 18.08.
# STAGE=correction: q2 at seeds 0 and 1 with kept_correction=1 too (the context head also
# corrects the kept blocks' features); val 18.25 / 16.51 / 16.62 and 18.25 / 16.77 / 16.69
# dB: not shipped. A third variant, the head's convolutions dilated by 1, 2, 4 (a 15×15-block
# view; context_head=2 and STAGE=wide at commit c88c1ed, since removed), lost 1.6-1.9 dB on
# val's objects (18.25 / 16.54 / 14.79 and 18.25 / 16.33 / 15.08) and more on the dusk check.
# STAGE=stats (session 25): the context recipe with --objective-arg norm_stats=β (the first
# norm's input statistics matched to GC's on the whole latent), q2 at each β in BETAS (default
# "1 5") and seed in SEEDS (default 1). Seeds 0-2 at β = 1 against the context recipe's seeds at
# margin 1: val 17.30 / 16.76 against 17.24 / 16.80 dB (most kept / objects, seed means), dusk
# check 18.67 / 18.87 against 18.89 / 18.87; β = 5 (seed 1) 17.29 / 16.65 and 18.71 / 19.13. Not
# shipped. STAGE=crops: the context recipe on 256² crops at batch 2 (the same pixels per step;
# 16×16 latents, nearer a 360×480 frame's 23×30), seeds in SEEDS (default "0 1 2"), norm_stats=BETA
# (default 0). Seed means: val 17.40 / 16.75, dusk check 18.56 / 19.46 dB. Not shipped.
# Usage: [STAGE=camvid|gc-encoder|gated|context|context2|correction|stats|crops] tools/gan_runs.sh RUNS   (PYTHONPATH may point at a snapshot of src/)
set -euo pipefail
RUNS=$1
SHARED=${SHARED:-../shared/data}
mkdir -p "$RUNS"
INIT=()
train() {  # NAME MODEL QUALITY DATA [objective args...]
    local name=$1 model=$2 q=$3 data=$4; shift 4
    local extra=()
    for arg in "$@"; do extra+=(--objective-arg "$arg"); done
    OMP_NUM_THREADS=1 LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \
    python -m licodec.cli.main train "$model" --quality "$q" --data "$data" \
        --out "$RUNS/$name" --steps 3000 --crop 128 --batch-size 8 --num-workers 1 \
        --log-every 25 --checkpoint-every 250 --lr 2e-4 --seed 0 \
        --model-arg width=10 --model-arg blocks=6 --objective-arg d_width=16 "${extra[@]}" \
        --channels-last --resume "${INIT[@]}" > "$RUNS/$name.out" 2>&1
}
if [ "${STAGE:-scratch}" = camvid ]; then
    GC_Q2=(--init-from "${GC_Q2:-src/licodec/weights/gan-gc-q2.safetensors}")
    (INIT=("${GC_Q2[@]}" --init-partial); train sc-q2-gc gan-sc 2 "$SHARED/camvid/train" warmup=0) &
    (INIT=("${GC_Q2[@]}"); train gc-q2-camvid gan-gc 2 "$SHARED/camvid/train" warmup=0) &
elif [ "${STAGE:-scratch}" = gc-encoder ]; then
    GC_Q2=(--init-from "${GC_Q2:-src/licodec/weights/gan-gc-q2.safetensors}" --init-partial)
    FROZEN=(--model-arg mask_input=1 --freeze g_a)
    (INIT=("${GC_Q2[@]}" --init-only g_a "${FROZEN[@]}")
     train sc-q2-gcenc gan-sc 2 "$SHARED/camvid/train") &
    (INIT=("${GC_Q2[@]}" "${FROZEN[@]}"); train sc-q2-gcenc-gcgen gan-sc 2 "$SHARED/camvid/train") &
    TAIL=(g_s.layers.7. g_s.layers.8. g_s.layers.9. g_s.layers.10. g_s.layers.12.)
    BODY=(g_s.layers.1. g_s.layers.2. g_s.layers.3. g_s.layers.4. g_s.layers.5. g_s.layers.6.)
    (INIT=("${GC_Q2[@]}" "${FROZEN[@]}" "${BODY[@]}" "${TAIL[@]}")
     train sc-q2-gcbody gan-sc 2 "$SHARED/camvid/train") &
    (INIT=("${GC_Q2[@]}" "${FROZEN[@]}" "${TAIL[@]}")
     train sc-q2-gctail gan-sc 2 "$SHARED/camvid/train") &
elif [ "${STAGE:-scratch}" = gated ]; then
    GATED=(--init-partial --model-arg gated_input=1 --freeze g_a g_s)
    GC=src/licodec/weights/gan-gc
    (INIT=(--init-from "$GC-q2.safetensors" "${GATED[@]}")
     train sc-q2-gated gan-sc 2 "$SHARED/camvid/train") &
    (INIT=(--init-from "$GC-q2.safetensors" "${GATED[@]}" --seed 1)
     train sc-q2-gated-s1 gan-sc 2 "$SHARED/camvid/train") &
    (INIT=(--init-from "$GC-q1.safetensors" "${GATED[@]}" --seed 1)
     train sc-q1-gated gan-sc 1 "$SHARED/camvid/train") &
elif [[ " context context2 correction stats crops " == *" ${STAGE:-scratch} "* ]]; then
    CONTEXT=(--init-partial --model-arg gated_input=1 --model-arg context_head=1 --freeze g_a g_s)
    GC=src/licodec/weights/gan-gc
    if [ "$STAGE" = context ]; then
        (INIT=(--init-from "$GC-q2.safetensors" "${CONTEXT[@]}")
         train sc-q2-context gan-sc 2 "$SHARED/camvid/train") &
        (INIT=(--init-from "$GC-q2.safetensors" "${CONTEXT[@]}" --seed 1)
         train sc-q2-context-s1 gan-sc 2 "$SHARED/camvid/train") &
    elif [ "$STAGE" = stats ]; then
        for beta in ${BETAS:-1 5}; do
            for seed in ${SEEDS:-1}; do
                (INIT=(--init-from "$GC-q2.safetensors" "${CONTEXT[@]}" --seed "$seed")
                 train "sc-q2-stats$beta-s$seed" gan-sc 2 "$SHARED/camvid/train" "norm_stats=$beta") &
            done
        done
    elif [ "$STAGE" = crops ]; then
        for seed in ${SEEDS:-0 1 2}; do
            (INIT=(--init-from "$GC-q2.safetensors" "${CONTEXT[@]}" --seed "$seed" --crop 256
                   --batch-size 2)
             train "sc-q2-crop256-s$seed" gan-sc 2 "$SHARED/camvid/train" "norm_stats=${BETA:-0}") &
        done
    elif [ "$STAGE" = correction ]; then
        CONTEXT+=(--model-arg kept_correction=1)
        (INIT=(--init-from "$GC-q2.safetensors" "${CONTEXT[@]}")
         train sc-q2-correction gan-sc 2 "$SHARED/camvid/train") &
        (INIT=(--init-from "$GC-q2.safetensors" "${CONTEXT[@]}" --seed 1)
         train sc-q2-correction-s1 gan-sc 2 "$SHARED/camvid/train") &
    else
        (INIT=(--init-from "$GC-q1.safetensors" "${CONTEXT[@]}" --seed 1)
         train sc-q1-context-s1 gan-sc 1 "$SHARED/camvid/train") &
        (INIT=(--init-from "$GC-q2.safetensors" "${CONTEXT[@]}" --seed 1 --steps 6000)
         train sc-q2-context-s1-6k gan-sc 2 "$SHARED/camvid/train") &
    fi
else
    train gc-q2 gan-gc 2 "$SHARED/train" &
    train gc-q1 gan-gc 1 "$SHARED/train" &
    (INIT=(--model-arg mask_input=1); train sc-q2 gan-sc 2 "$SHARED/camvid/train") &
    train gc-q2-mse gan-gc 2 "$SHARED/train" warmup=1 &
    train gc-q2-camvid-scratch gan-gc 2 "$SHARED/camvid/train" &
fi
wait
