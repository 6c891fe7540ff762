#!/usr/bin/env python3
"""A ResNet-50 (He et al. 2016: bottleneck blocks 3, 4, 6, 3; 224 × 224 RGB in, 1,000 classes out) with random weights,
exported to ONNX, and random images for it: for measuring the model pass's cost per sample (docs/scale.md), not for
its predictions. Written in plain PyTorch (Debian has no torchvision). Never committed.

    /usr/bin/python3 tools/make_resnet50.py --out /tmp/resnet50 [--images 128]
writes OUT/resnet50.onnx and OUT/images.npy (float32, N × 3 × 224 × 224, ImageNet-normalised noise).
"""
import argparse
import os
import numpy as np
import torch
import torch.nn as nn


class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width * 4
        self.body = nn.Sequential(
            nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = None if stride == 1 and cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.body(x) + (x if self.skip is None else self.skip(x)))


class ResNet50(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        layers = [nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
        cin = 64
        for width, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
            for b in range(blocks):
                layers.append(Bottleneck(cin, width, stride if b == 0 else 1))
                cin = width * 4
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/resnet50")
    ap.add_argument("--images", type=int, default=128)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    model = ResNet50().eval()
    print(f"parameters: {sum(p.numel() for p in model.parameters()):,}")
    torch.onnx.export(model, torch.randn(1, 3, 224, 224), os.path.join(args.out, "resnet50.onnx"), input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
    rng = np.random.default_rng(0)
    np.save(os.path.join(args.out, "images.npy"), rng.standard_normal((args.images, 3, 224, 224), dtype=np.float32))
    print(f"wrote {args.out}/resnet50.onnx and {args.images} images")


if __name__ == "__main__":
    main()
