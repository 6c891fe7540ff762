#!/usr/bin/env python3
"""Train Percept's demo CNN on the Fashion-MNIST training split and export one ONNX checkpoint per epoch.

Also writes golden values (logits, cross-entropy loss and mean-pooled activations of every perception
layer, computed by PyTorch) for the first test samples into tools/golden/, next to this script, so the
C# tests can compare Percept's results with a reference framework.

Run with Debian's PyTorch (apt-get install python3-torch python3-onnx):
    /usr/bin/python3 tools/train_demo_model.py [--data DIR] [--epochs 3]
Nothing at run time or in CI needs Python: the outputs are committed.
"""
import argparse, gzip, json, os, struct, sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">i", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "i" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find_data(given):
    """The folder holding Fashion-MNIST's IDX files: the one given, else the shared copy, else Debian's; exits when none has them."""
    candidates = [given] if given else [os.path.join(ROOT, "..", "shared", "datasets", "fashion-mnist"),
                                        "/usr/share/datasets/fashion-mnist"]
    data = next((c for c in candidates if c and os.path.exists(os.path.join(c, "train-images-idx3-ubyte.gz"))), None)
    if data is None:
        sys.exit("Fashion-MNIST training split not found in: " + ", ".join(c for c in candidates if c))
    return data


def load_split(data, split):
    """A split ("train" or "t10k") as the models see it: N x 1 x 28 x 28 float pixels / 255, and int64 labels."""
    x = torch.from_numpy(read_idx(os.path.join(data, f"{split}-images-idx3-ubyte.gz")).astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(read_idx(os.path.join(data, f"{split}-labels-idx1-ubyte.gz")).astype(np.int64))
    return x, y


class DemoCnn(nn.Module):
    """Three conv blocks and two fully connected layers; module names become ONNX node names."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.relu3 = nn.ReLU()
        self.fc1 = nn.Linear(64 * 3 * 3, 128)
        self.relu4 = nn.ReLU()
        self.dropout = nn.Dropout(0.25)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(self.relu1(self.conv1(x)), 2)   # 16 x 14 x 14
        x = F.max_pool2d(self.relu2(self.conv2(x)), 2)   # 32 x 7 x 7
        x = F.max_pool2d(self.relu3(self.conv3(x)), 2)   # 64 x 3 x 3
        x = torch.flatten(x, 1)
        x = self.dropout(self.relu4(self.fc1(x)))
        return self.fc2(x)


def export(model, path):
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(model, dummy, path, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, opset_version=17)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None, help="folder with the Fashion-MNIST IDX .gz files")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "fmnist-cnn"))
    args = ap.parse_args()
    data = find_data(args.data)

    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(os.cpu_count() or 2)
    xtr, ytr = load_split(data, "train")
    xte, yte = load_split(data, "t10k")

    model = DemoCnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    os.makedirs(args.out, exist_ok=True)
    history = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(xte[i:i + 1000]) for i in range(0, len(xte), 1000)])
            acc = (logits.argmax(1) == yte).float().mean().item()
            tl = F.cross_entropy(logits, yte).item()
        history.append({"epoch": epoch, "test_accuracy": round(acc, 4), "test_loss": round(tl, 4)})
        print(f"epoch {epoch}: test accuracy {acc:.4f}, test loss {tl:.4f}", flush=True)
        export(model, os.path.join(args.out, f"epoch-{epoch}.onnx"))
    with open(os.path.join(args.out, "training.json"), "w") as f:
        json.dump({"dataset": "Fashion-MNIST train (60k)", "input": "1x28x28, pixels / 255",
                   "optimizer": "Adam lr=1e-3, batch 128", "seed": 0, "torch": torch.__version__,
                   "epochs": history}, f, indent=2)

    # Golden values for the last checkpoint, first 32 test samples.
    n = 32
    pooled = {}
    hooks = [getattr(model, m).register_forward_hook(
        (lambda name: lambda mod, inp, out: pooled.__setitem__(name, out.detach()))(name))
        for m, name in [("relu1", "conv1"), ("relu2", "conv2"), ("relu3", "conv3"), ("relu4", "fc1"), ("fc2", "fc2")]]
    with torch.no_grad():
        logits = model(xte[:n])
    for h in hooks:
        h.remove()
    gold = os.path.join(HERE, "golden")
    os.makedirs(gold, exist_ok=True)
    np.save(os.path.join(gold, "logits.npy"), logits.numpy().astype(np.float32))
    np.save(os.path.join(gold, "loss.npy"), F.cross_entropy(logits, yte[:n], reduction="none").numpy().astype(np.float32))
    np.save(os.path.join(gold, "probabilities.npy"), F.softmax(logits, 1).numpy().astype(np.float32))
    for name, act in pooled.items():
        v = act.mean(dim=(2, 3)) if act.dim() == 4 else act
        np.save(os.path.join(gold, f"pooled_{name}.npy"), v.numpy().astype(np.float32))
        if act.dim() == 4:
            np.save(os.path.join(gold, f"maxpooled_{name}.npy"), act.amax(dim=(2, 3)).numpy().astype(np.float32))
    with open(os.path.join(gold, "README.md"), "w") as f:
        f.write("Golden values made by `tools/train_demo_model.py` with PyTorch " + torch.__version__ +
                " for `models/fmnist-cnn/epoch-%d.onnx` on the first %d samples of the Fashion-MNIST test split "
                "(pixels / 255). `pooled_<layer>` is the spatial mean of the layer's activation after its ReLU "
                "(`fc2` is the logits), `maxpooled_<layer>` the spatial max. Never regenerate these to make a test pass.\n"
                % (args.epochs, n))


if __name__ == "__main__":
    main()
