#!/usr/bin/env python3
"""A small ResNet-style model (residual Add, BatchNormalization, GlobalAveragePool, Gemm) exported by PyTorch, with
golden saliency values, for Percept's tests. Random weights (seeded) and non-trivial BatchNorm statistics.

    /usr/bin/python3 tools/make_resnet_fixture.py
writes tests/fixtures/resnet-tiny.onnx and tests/fixtures/resnet-tiny-golden.npz-like .npy files next to it.
"""
import os
import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures")


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + x)


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.block1 = Block(8)
        self.block2 = Block(8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = torch.relu(self.bn(self.stem(x)))
        x = self.block2(self.block1(x))
        return self.fc(torch.flatten(self.pool(x), 1))


def main():
    torch.manual_seed(3)
    model = TinyResNet()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    model.eval()
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "resnet-tiny.onnx")
    torch.onnx.export(model, torch.zeros(1, 3, 16, 16), path, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, opset_version=17,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    np.save(os.path.join(OUT, "resnet-tiny-inputs.npy"), x.numpy().astype(np.float32))
    xi = x.clone().requires_grad_(True)
    logits = model(xi)
    np.save(os.path.join(OUT, "resnet-tiny-logits.npy"), logits.detach().numpy().astype(np.float32))
    saliency = np.zeros((4, 5, 3, 16, 16), np.float32)
    for c in range(5):
        g, = torch.autograd.grad(model(xi)[:, c].sum(), xi)
        saliency[:, c] = g.numpy()
    np.save(os.path.join(OUT, "resnet-tiny-saliency.npy"), saliency)
    print("wrote", path)


if __name__ == "__main__":
    main()
