#!/usr/bin/env python3
"""Train a small MLP on the Fashion-MNIST training split, another architecture than the demo CNN, for `percept compare`.

Same data, input scaling and optimiser as tools/train_demo_model.py (pixels / 255, Adam 1e-3, batch 128), and the same
input name and shape ("image", N x 1 x 28 x 28), so both models analyse the same samples:
    /usr/bin/python3 tools/train_mlp.py [--data DIR] [--epochs 3] [--out /tmp/fmnist-mlp]
    percept analyze --model /tmp/fmnist-mlp/mlp.onnx --data data/fashion-mnist/t10k-images-idx3-ubyte.gz \
        --labels data/fashion-mnist/t10k-labels-idx1-ubyte.gz --classes data/fashion-mnist/classes.txt --out runs/mlp
    percept compare runs/mlp runs/demo
The weights are not committed: the script makes them in under a minute on two cores.
"""
import argparse, os, sys
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_demo_model import export, find_data, load_split  # noqa: E402


class Mlp(nn.Module):
    """784 -> 256 -> 128 -> 10, ReLU; module names become ONNX node names (fc1, fc2, fc3)."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(784, 256)
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Linear(256, 128)
        self.relu2 = nn.ReLU()
        self.fc3 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc3(self.relu2(self.fc2(self.relu1(self.fc1(self.flatten(x))))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None, help="folder with the Fashion-MNIST IDX .gz files")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--out", default="/tmp/fmnist-mlp")
    args = ap.parse_args()
    data = find_data(args.data)
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 2)
    xtr, ytr = load_split(data, "train")
    xte, yte = load_split(data, "t10k")
    model = Mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    os.makedirs(args.out, exist_ok=True)
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            F.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            acc = (model(xte).argmax(1) == yte).float().mean().item()
        print(f"epoch {epoch}: test accuracy {acc:.4f}", flush=True)
    export(model, os.path.join(args.out, "mlp.onnx"))
    print(os.path.join(args.out, "mlp.onnx"))


if __name__ == "__main__":
    main()
