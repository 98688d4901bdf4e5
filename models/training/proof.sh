#!/usr/bin/env bash
# The neural path's proof on reachable data: meta-learning on two of the driving videos in
# ../shared/testdata, few-shot fine-tuning on the third person (the last 20 % of its frames held out), the
# export, and the held-out comparison with the mesh warp (PSNR, SSIM, contact sheet).
#
#   bash models/training/proof.sh prepare OUT [RESOLUTION]                      # Rust: crops + landmarks
#   bash models/training/proof.sh train OUT [RESOLUTION] [META] [FINETUNE] [CHANNELS]   # Python only
#   bash models/training/proof.sh eval OUT                                      # Rust: PSNR, SSIM, sheet
#
# The train phase needs only Python (PY, default models/.venv-training/bin/python; train.py picks CUDA
# when there is a GPU), so it can run on a GPU machine with the prepared OUT/data carried there and
# OUT/export brought back. Defaults are the CPU run in BENCHMARKS.md: 64 px, 5000 meta-learning steps,
# 600 fine-tuning steps, base width 16. A GPU run: `proof.sh train OUT 256 20000 1000 32`.
set -euo pipefail
cd "$(dirname "$0")/../.."
phase=${1:?usage: proof.sh prepare|train|eval OUT ...}
out=${2:?usage: proof.sh prepare|train|eval OUT ...}
videos=../shared/testdata/driving
case "$phase" in
prepare)
  res=${3:-64}
  cargo build --features egui,replicon,fetch-runtime --example prepare_training_data
  target/debug/examples/prepare_training_data --out "$out/data" --size "$res" \
    "$videos/expressions_greenscreen.mp4" "$videos/expressions_head_turns.mp4" "$videos/webcam_talking.mp4"
  ;;
train)
  res=${3:-64}
  meta_steps=${4:-5000}
  ft_steps=${5:-600}
  channels=${6:-16}
  py=${PY:-models/.venv-training/bin/python}
  train="$py models/training/train.py"
  # Meta-learning on the two other people only: the fine-tuning person is new to the model, as in the paper.
  mkdir -p "$out/meta_data"
  ln -sfn "$(realpath "$out/data/expressions_greenscreen")" "$out/meta_data/"
  ln -sfn "$(realpath "$out/data/expressions_head_turns")" "$out/meta_data/"
  resume=()
  if [ -f "$out/meta/checkpoint.pt" ]; then resume=(--resume); fi
  $train meta --data "$out/meta_data" --out "$out/meta" --resolution "$res" --channels "$channels" \
    --embedding 128 --shots 4 --batch 4 --steps "$meta_steps" --lr-g 2e-4 --lr-d 4e-4 \
    --log-every 50 --save-every 250 --sample-every 500 "${resume[@]}"
  rm -rf "$out/person"
  $train finetune --data "$out/data/webcam_talking" --from "$out/meta/checkpoint.pt" --out "$out/person" \
    --shots 16 --steps "$ft_steps" --batch 4 --lr-g 2e-4 --lr-d 4e-4 --log-every 50 --save-every 200 \
    --sample-every 200
  $train export --checkpoint "$out/person/checkpoint.pt" --out "$out/export"
  ;;
eval)
  cargo build --features egui,replicon,fetch-runtime --example neural_eval
  target/debug/examples/neural_eval --models "$out/export" --data "$out/data/webcam_talking" \
    --video "$videos/webcam_talking.mp4" --out "$out/eval"
  ;;
*)
  echo "usage: proof.sh prepare|train|eval OUT ..." >&2
  exit 2
  ;;
esac
