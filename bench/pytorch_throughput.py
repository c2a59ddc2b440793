"""PyTorch peer for `flare bench throughput`: the same CIFAR ResNet-18 shape, random 32x32 inputs,
SGD(0.01, momentum 0.9, wd 5e-4), 3 warm-up steps, then timed training and inference steps.
Run with Debian's python3-torch: /usr/bin/python3 bench/pytorch_throughput.py --width 16 64
--channels-last puts the model and the input in torch.channels_last, like Flare's default training layout.
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.norm1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(outputs)
        self.shortcut = nn.Sequential()
        if stride != 1 or inputs != outputs:
            self.shortcut = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs))

    def forward(self, x):
        y = F.relu(self.norm1(self.conv1(x)))
        y = self.norm2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNet18(nn.Module):
    def __init__(self, width, classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.norm = nn.BatchNorm2d(width)
        blocks, inputs = [], width
        for stage, outputs in enumerate([width, 2 * width, 4 * width, 8 * width]):
            for b in range(2):
                blocks.append(Block(inputs, outputs, 2 if stage > 0 and b == 0 else 1))
                inputs = outputs
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(inputs, classes)

    def forward(self, x):
        x = F.relu(self.norm(self.stem(x)))
        x = F.adaptive_avg_pool2d(self.blocks(x), 1).flatten(1)
        return self.head(x)


def measure(width, batch, steps, channels_last, warmup=3):
    torch.manual_seed(0)
    model = ResNet18(width)
    optimizer = torch.optim.SGD(model.parameters(), 0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, 3, 32, 32)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    model.train()

    def train_step():
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        train_step()
    start = time.perf_counter()
    for _ in range(steps):
        train_step()
    train = steps * batch / (time.perf_counter() - start)

    model.eval()
    with torch.no_grad():
        for _ in range(warmup):
            model(x).argmax(1)
        start = time.perf_counter()
        for _ in range(3 * steps):
            model(x).argmax(1)
        infer = 3 * steps * batch / (time.perf_counter() - start)
    return train, infer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--channels-last", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for width in args.width:
        steps = max(3, args.steps // 4) if width > 32 else args.steps
        train, infer = measure(width, args.batch, steps, args.channels_last)
        layout = "channels-last" if args.channels_last else "channels-first"
        print(f"pytorch {torch.__version__} resnet18 width {width} batch {args.batch} threads {torch.get_num_threads()} {layout}: "
              f"train {train:.0f} img/s, infer {infer:.0f} img/s")


if __name__ == "__main__":
    main()
