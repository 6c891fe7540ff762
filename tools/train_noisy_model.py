#!/usr/bin/env python3
"""Train the demo CNN on the Fashion-MNIST training split with 3% of its labels flipped to a look-alike class, long
enough to fit the flips, for the planted-fault benchmark (`Percept.Bench insights --noisy DIR`): there the loss ranking
fails (the model has memorised the flipped labels) and neighbours in perception space must find them.

    /usr/bin/python3 tools/train_noisy_model.py [--data DIR] [--subset 6000] [--epochs 150] [--lr 2e-3] [--out /tmp/percept-noisy]

--subset N trains on the first N training images (all 60,000 by default): on two CPU cores the demo CNN needs many
epochs to fit 3% flipped labels, and fits them far sooner on fewer images. Writes DIR/model.onnx (opset 17, dynamic
batch), DIR/noisy-labels.npy (int64 [N], the labels trained on), DIR/flipped.npy (int64, the indices whose label was
flipped) and DIR/train-log.json (per epoch: training accuracy on the noisy labels, and on the flipped samples' noisy
labels, i.e. how far the flips are fitted), and DIR/checkpoints/epoch-K.onnx every --checkpoint-every epochs and at the
last, for the training history (Percept.Bench insights --noisy analyses them as one training). Nothing is committed.
"""
import argparse, json, os, sys
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_demo_model import DemoCnn, read_idx, export  # noqa: E402

# Look-alike classes: T-shirt/top <-> Shirt, Pullover <-> Coat, Sandal <-> Sneaker, Trouser <-> Dress, Ankle boot -> Sneaker, Bag -> Shirt.
LOOK_ALIKE = {0: 6, 6: 0, 2: 4, 4: 2, 5: 7, 7: 5, 1: 3, 3: 1, 9: 7, 8: 6}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None)
    ap.add_argument("--epochs", type=int, default=80)
    ap.add_argument("--subset", type=int, default=0)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--checkpoint-every", type=int, default=5, help="also export DIR/checkpoints/epoch-K.onnx every K epochs (0: never)")
    ap.add_argument("--flip", type=float, default=0.03)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="/tmp/percept-noisy")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates = [args.data] if args.data else [os.path.join(root, "..", "shared", "datasets", "fashion-mnist"), "/usr/share/datasets/fashion-mnist"]
    data = next((c for c in candidates if c and os.path.exists(os.path.join(c, "train-images-idx3-ubyte.gz"))), None)
    if data is None:
        sys.exit("Fashion-MNIST training split not found in: " + ", ".join(c for c in candidates if c))
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    torch.set_num_threads(os.cpu_count() or 2)
    x = torch.from_numpy(read_idx(os.path.join(data, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255.0).unsqueeze(1)
    clean = read_idx(os.path.join(data, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    if args.subset:
        x, clean = x[:args.subset], clean[:args.subset]
    n = len(clean)
    flipped = np.sort(rng.choice(n, int(round(args.flip * n)), replace=False))
    noisy = clean.copy()
    noisy[flipped] = [LOOK_ALIKE[c] for c in clean[flipped]]
    np.save(os.path.join(args.out, "noisy-labels.npy"), noisy)
    np.save(os.path.join(args.out, "flipped.npy"), flipped.astype(np.int64))
    y = torch.from_numpy(noisy)
    model = DemoCnn()
    # No dropout and no weight decay: the point is to fit the flipped labels.
    model.dropout.p = 0.0
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    log = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(n)
        for b in range(0, n, 64):
            idx = perm[b:b + 64]
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            pred = torch.cat([model(x[b:b + 2000]).argmax(1) for b in range(0, n, 2000)]).numpy()
        entry = {"epoch": epoch, "train_accuracy_noisy": float((pred == noisy).mean()), "flips_fitted": float((pred[flipped] == noisy[flipped]).mean())}
        log.append(entry)
        print(json.dumps(entry), flush=True)
        if args.checkpoint_every and epoch % args.checkpoint_every == 0:
            os.makedirs(os.path.join(args.out, "checkpoints"), exist_ok=True)
            export(model, os.path.join(args.out, "checkpoints", f"epoch-{epoch}.onnx"))
        if entry["flips_fitted"] >= 0.9:
            break
    export(model, os.path.join(args.out, "model.onnx"))
    if args.checkpoint_every and epoch % args.checkpoint_every != 0:
        export(model, os.path.join(args.out, "checkpoints", f"epoch-{epoch}.onnx"))
    with open(os.path.join(args.out, "train-log.json"), "w") as f:
        json.dump(log, f, indent=1)


if __name__ == "__main__":
    main()
