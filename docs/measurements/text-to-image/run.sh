#!/usr/bin/env bash
# Text-to-image on emoji, end to end: the caption encoder and the attribute classifier
# (seed 1), the GAN-CLS run of configs/text-to-image/emoji.toml and its ablation without
# the real/wrong-caption term (loss.mismatched = false), and GAN-CLS with GAN-INT's interpolated
# captions (loss.interpolated = 1), and GAN-CLS with hard wrong captions (half of them a
# nearest caption by shared words, loss.mismatched_neighbours = 8), and GAN-CLS with TAC-GAN's
# attribute head on D (loss.attributes = 1), and the head with recoloured captions for G (colours
# on objects no image shows in them, loss.recoloured = 1), and the head with G taking the caption
# at every BatchNorm (model.g_conditioning = "film"), and that with half of all captions swapped
# for a shorter form, the name alone or with some of its keywords (film-kw,
# loss.keyword_dropout = 0.5), each measured on the held-out and
# compositional splits (R-precision, attribute accuracy, Inception FID; with the EMA weights and
# with the raw G; panels under each run's samples/). The compositional split is also measured
# with 10 generated images per real one (eval-compositional-r10*.txt): its colour pairs have
# 12 real images, too few to tell a rate from chance.
# Resumes an interrupted run from its last checkpoint.
#   docs/measurements/text-to-image/run.sh OUT_DIR [SEED] [VARIANTS]
# VARIANTS: any of cls, no-mismatched, int, hard, tac, recolour, film, film-kw (default "cls no-mismatched"); GAN=path/to/gan
# picks a binary.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
gan="${GAN:-$root/target/release/gan}"
out="$(realpath -m "${1:?OUT_DIR}")"
seed="${2:-1}"
variants="${3:-cls no-mismatched}"
declare -A settings=(
  [cls]="loss.mismatched=true"
  [no-mismatched]="loss.mismatched=false"
  [int]="loss.interpolated=1.0"
  [hard]="loss.mismatched_neighbours=8"
  [tac]="loss.attributes=1.0"
  [recolour]="loss.attributes=1.0 loss.recoloured=1.0"
  [film]='loss.attributes=1.0 model.g_conditioning="film"'
  [film-kw]='loss.attributes=1.0 model.g_conditioning="film" loss.keyword_dropout=0.5'
)
mkdir -p "$out"
enc="$out/encoder.safetensors"
attr="$out/attributes.safetensors"
[ -f "$enc" ] || "$gan" caption-encoder train --out "$enc" --steps 400 --seed 1
[ -f "$attr" ] || "$gan" attributes train --out "$attr" --steps 600 --seed 1
for name in $variants; do
  run="$out/$name-s$seed"
  if [ ! -f "$run/summary.json" ]; then
    if [ -f "$run/checkpoint.safetensors" ]; then "$gan" train --quiet --resume "$run"
    else "$gan" train --quiet --config "$root/configs/text-to-image/emoji.toml" --seed "$seed" \
      --set "model.text_encoder=\"$enc\"" $(printf -- '--set %s ' ${settings[$name]}) --out "$run"; fi
  fi
  # the EMA weights (what `gan generate` uses), then the raw G
  for split in test compositional compositional-r10; do
    for weights in "" -no-ema; do
      file="$run/eval-$split$weights.txt"
      [ -f "$file" ] && continue
      repeats=1; [ "$split" = compositional-r10 ] && repeats=10
      "$gan" eval "$run" "captions:${split%-r10}" --attributes "$attr" --metrics fid --repeats $repeats \
        ${weights:+--no-ema} > "$file.tmp"
      mv "$file.tmp" "$file"
    done
  done
  "$gan" generate "$run" --interpolate "red heart" "blue heart" --frames 8 --rows 4 > /dev/null
  cat "$run"/eval-*.txt
done
