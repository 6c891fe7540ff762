#!/usr/bin/env python3
"""A PyTorch training loop that writes one ONNX checkpoint per epoch, for `percept watch` (or, afterwards,
`percept analyze --checkpoints`). Any framework works the same way: export the model after each epoch into a folder.

    /usr/bin/python3 examples/train_with_checkpoints.py --out ckpts/ --epochs 5 &
    percept watch ckpts/ --data data/fashion-mnist/t10k-images-idx3-ubyte.gz \\
        --labels data/fashion-mnist/t10k-labels-idx1-ubyte.gz --classes data/fashion-mnist/classes.txt \\
        --out runs/train1 --max-epochs 5 --serve

Trains a small CNN on the Fashion-MNIST training split (from ../shared/datasets/fashion-mnist or Debian's
dataset-fashion-mnist package, or --data DIR). Each checkpoint is exported with a dynamic batch axis at opset 17 and
written under a temporary name, then renamed, so a watcher never sees half a file (Percept waits for a complete file
anyway).
"""
import argparse, gzip, os, struct, sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = struct.unpack(">i", data[:4])[0] & 0xFF
    dims = struct.unpack(">" + "i" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None)
    ap.add_argument("--out", default="ckpts")
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [args.data] if args.data else [os.path.join(here, "..", "..", "shared", "datasets", "fashion-mnist"), "/usr/share/datasets/fashion-mnist"]
    data = next((c for c in candidates if c and os.path.exists(os.path.join(c, "train-images-idx3-ubyte.gz"))), None)
    if data is None:
        sys.exit("Fashion-MNIST training split not found; give --data DIR")
    x = torch.from_numpy(read_idx(os.path.join(data, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(read_idx(os.path.join(data, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(y))
        for b in range(0, len(y), 128):
            idx = perm[b:b + 128]
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        model.eval()
        path = os.path.join(args.out, f"epoch-{epoch}.onnx")
        tmp = path + ".partial"
        torch.onnx.export(model, torch.zeros(1, 1, 28, 28), tmp, input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, opset_version=17)
        os.replace(tmp, path)
        print(f"epoch {epoch}: wrote {path}", flush=True)


if __name__ == "__main__":
    main()
