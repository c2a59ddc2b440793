#!/usr/bin/env bash
# The README's first command: build Flare and run its whole story on the bundled CIFAR-10:
# poison a 10,000-image subset with BadNets (all-to-one, 10 %), purify it, print TPR and FPR.
set -euo pipefail
cd "$(dirname "$0")"
data=../shared/data/cifar10
[[ -d "$data/train" ]] || { echo "demo: CIFAR-10 image folder not found at $data/train" >&2; exit 1; }
run="runs/demo-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$run"
echo "demo: 1/2 poisoning 10,000 CIFAR-10 training images with BadNets (all-to-one, rate 0.1) -> $run/poisoned" >&2
./flare poison --data "$data/train" --limit 10000 --attack badnets --mode a2o --rate 0.1 --seed 0 \
  --test "$data/test" --out "$run/poisoned"
echo "demo: 2/2 purifying: train ResNet-18 (width 16, 20 epochs, flip), detect with FLARE, copy the kept images -> $run/purify" >&2
./flare purify --data "$run/poisoned/train" --out "$run/purify" --seed 0
echo "demo: open $run/purify/report.md for the report and plots" >&2
