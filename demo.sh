#!/usr/bin/env bash
# The README's first command: build Flare and run its main job on the bundled CIFAR-10.
set -euo pipefail
cd "$(dirname "$0")"
data=../shared/data/cifar10
[[ -d "$data/train" ]] || { echo "demo: CIFAR-10 image folder not found at $data" >&2; exit 1; }
run="runs/demo-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$run"
echo "demo: training ResNet-18 (width 16) on a 5,000-image CIFAR-10 subset; results in $run" >&2
./flare train --data "$data/train" --test "$data/test" --limit 5000 --width 16 --epochs 8 --out "$run/model.ckpt"
