"""PyTorch peer for `flare bench purify`: FLARE's pipeline as the authors' code runs it, on the same images.

Stages, each timed: train the detection model with Flare's purify recipe (CIFAR ResNet-18 at the given width,
horizontal flip, SGD 0.1 with momentum 0.9 and weight decay 5e-4, cosine schedule per step, batch 128, loss and
accuracy read every step as a usual PyTorch loop does), extract the per-channel BatchNorm features (minimum
log-likelihood of each BatchNorm input channel under the layer's running statistics), and embed them in 2-D with
umap-learn (n_neighbors 40, min_dist 0, seed 42). No clustering: Debian 12 has no hdbscan package and its
scikit-learn (1.2) predates sklearn.cluster.HDBSCAN.

Input: a CIFAR-10 binary file (per image one label byte, then 32x32 red, green and blue planes) that
`flare bench purify` writes with the images it uses itself. Output: one JSON object with the stage times.
Run with Debian's packages: apt install python3-torch umap-learn; /usr/bin/python3 bench/pytorch_purify.py --data x.bin
"""
import argparse
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from pytorch_throughput import ResNet18


def load(path):
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 1 + 3 * 32 * 32)
    labels = torch.from_numpy(raw[:, 0].astype(np.int64))
    images = torch.from_numpy(raw[:, 1:].reshape(-1, 3, 32, 32).copy())
    return images, labels


def normalise(images):
    pixels = images.float() / 255
    mean = pixels.mean(dim=(0, 2, 3), keepdim=True)
    std = pixels.std(dim=(0, 2, 3), keepdim=True, unbiased=False)
    return (pixels - mean) / std


def train(inputs, labels, width, epochs, batch, seed):
    torch.manual_seed(seed)
    model = ResNet18(width, int(labels.max()) + 1)
    optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9, weight_decay=5e-4)
    steps = math.ceil(len(inputs) / batch)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps)
    model.train()
    history = []
    for epoch in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(inputs))
        loss_sum, correct = 0.0, 0
        for first in range(0, len(inputs), batch):
            index = order[first:first + batch]
            x = inputs[index]
            flip = torch.rand(len(index)) < 0.5
            x[flip] = x[flip].flip(3)
            y = labels[index]
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            loss_sum += loss.item() * len(index)
            correct += (logits.argmax(1) == y).sum().item()
        seconds = time.perf_counter() - start
        history.append({"epoch": epoch + 1, "loss": loss_sum / len(inputs), "accuracy": correct / len(inputs),
                        "images_per_second": len(inputs) / seconds})
        print(f"epoch {epoch + 1}: loss {loss_sum / len(inputs):.3f} acc {correct / len(inputs):.3f} "
              f"{len(inputs) / seconds:.0f} img/s", file=sys.stderr, flush=True)
    return model, history


def extract(model, inputs, batch=128):
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    captured = []

    def hook(norm):
        def record(_, args):
            x = args[0]
            mean = norm.running_mean.view(1, -1, 1, 1)
            variance = norm.running_var + norm.eps
            deviation = (x - mean).abs().flatten(2).amax(2)
            captured.append(-0.5 * math.log(2 * math.pi) - 0.5 * variance.log() - 0.5 * deviation.square() / variance)
        return record

    handles = [n.register_forward_pre_hook(hook(n)) for n in norms]
    model.eval()
    features = []
    with torch.no_grad():
        for first in range(0, len(inputs), batch):
            captured.clear()
            model(inputs[first:first + batch])
            features.append(torch.cat(captured, 1))
    for handle in handles:
        handle.remove()
    return torch.cat(features).numpy()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True, help="CIFAR-10 binary file written by flare bench purify")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    images, labels = load(args.data)
    times = {}
    clock = time.perf_counter()
    inputs = normalise(images)
    model, history = train(inputs, labels, args.width, args.epochs, args.batch, args.seed)
    times["training"] = time.perf_counter() - clock

    clock = time.perf_counter()
    features = extract(model, inputs)
    times["extraction"] = time.perf_counter() - clock

    clock = time.perf_counter()
    import umap  # imported here: its import (numba) takes seconds, part of what a run of the pipeline pays

    umap.UMAP(n_neighbors=40, min_dist=0.0, n_components=2, random_state=42).fit_transform(features)
    times["embedding"] = time.perf_counter() - clock

    print(json.dumps({
        "peer": f"pytorch {torch.__version__}, umap-learn {umap.__version__}",
        "images": len(images), "features": features.shape[1], "threads": torch.get_num_threads(),
        "seconds": times, "train_accuracy": history[-1]["accuracy"],
        "train_images_per_second": sum(h["images_per_second"] for h in history) / len(history),
    }))


if __name__ == "__main__":
    main()
