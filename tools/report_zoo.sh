#!/usr/bin/env bash
# BD-rates of the shipped zoo against every classic-codec run and CompressAI's published
# mbt2018-mean, plus the RD plot; writes results/kodak/bdrate.md and results/kodak/rd.png.
set -euo pipefail
cd "$(dirname "$0")/.."
ours=results/kodak/licodec-mbt2018-mean.json
anchors=(results/kodak/jpeg.json results/kodak/webp.json results/kodak/avif.json
  results/kodak/hevc-444.json results/kodak/vvc-420.json
  ../shared/anchors/kodak/compressai-mbt2018-mean_mse_cpu.json)
{
  echo "# BD-rate of licodec mbt2018-mean (shipped zoo) on Kodak"
  echo
  for metric in psnr-rgb ms-ssim-rgb; do
    for anchor in "${anchors[@]}"; do
      echo "## $metric, anchor $(basename "$anchor")"
      echo '```'
      licodec bdrate --metric "$metric" --anchor "$anchor" "$ours" 2>&1 || true
      echo '```'
    done
  done
} >results/kodak/bdrate.md
licodec plot "$ours" "${anchors[@]}" results/kodak/jpeg2000.json results/kodak/jpegxl.json \
  -o results/kodak/rd.png --title "Kodak (24 images)"
