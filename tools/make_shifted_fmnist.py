#!/usr/bin/env python3
"""Make a shifted set of Fashion-MNIST images, for a domain comparison (`percept compare A B` on two datasets).

The images are the first --count of the training split (other images than the demo's test split: a copy of the same
images would sit on top of them and hide any gap), changed in two known ways, so that a domain comparison has answers
to find:
  * it leaves regions out: every Trouser and Bag image is dropped (--drop, class names);
  * it adds a region: one image in --invert-every of the others is inverted (255 - pixel: light garments on a dark
    ground become dark garments on a light ground, which the training data never shows).
Everything else is as it is, in its order. Only the standard library is used:
    /usr/bin/python3 tools/make_shifted_fmnist.py --out /tmp/fmnist-shifted [--data DIR] [--count 10000]
    percept analyze --model models/fmnist-cnn/epoch-5.onnx --data /tmp/fmnist-shifted/images-idx3-ubyte.gz \
        --labels /tmp/fmnist-shifted/labels-idx1-ubyte.gz --classes data/fashion-mnist/classes.txt --out runs/shifted
    percept compare runs/demo runs/shifted
It also writes inverted.txt (the copy's indices of the inverted images) to check what the comparison finds.
"""
import argparse, gzip, os, struct

HERE = os.path.dirname(os.path.abspath(__file__))


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return shape, data[4 + 4 * dims:]


def write_idx(path, shape, payload):
    with gzip.open(path, "wb", compresslevel=6) as f:
        f.write(struct.pack(">I", 0x0800 | len(shape)))
        f.write(struct.pack(">" + "I" * len(shape), *shape))
        f.write(payload)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="folder with train-*-ubyte.gz (default: ../shared/datasets/fashion-mnist, else Debian's)")
    p.add_argument("--count", type=int, default=10000, help="training images read")
    p.add_argument("--out", required=True)
    p.add_argument("--drop", default="Trouser,Bag", help="class names left out, comma-separated")
    p.add_argument("--invert-every", type=int, default=6, help="invert one image in N of those kept (0: none)")
    a = p.parse_args()

    candidates = [a.data] if a.data else [os.path.join(HERE, "..", "..", "shared", "datasets", "fashion-mnist"), "/usr/share/datasets/fashion-mnist"]
    data = next((c for c in candidates if os.path.exists(os.path.join(c, "train-images-idx3-ubyte.gz"))), None)
    if data is None:
        raise SystemExit("Fashion-MNIST training split not found in: " + ", ".join(candidates))
    classes = open(os.path.join(HERE, "..", "data", "fashion-mnist", "classes.txt")).read().split("\n")
    drop = {classes.index(name) for name in a.drop.split(",") if name}
    (n, h, w), pixels = read_idx(os.path.join(data, "train-images-idx3-ubyte.gz"))
    (_,), labels = read_idx(os.path.join(data, "train-labels-idx1-ubyte.gz"))
    n = min(n, a.count)
    size = h * w
    invert = bytes(range(255, -1, -1))
    images, kept_labels, inverted = bytearray(), bytearray(), []
    kept = 0
    for i in range(n):
        if labels[i] in drop:
            continue
        image = pixels[i * size:(i + 1) * size]
        if a.invert_every and kept % a.invert_every == a.invert_every - 1:
            image = image.translate(invert)
            inverted.append(kept)
        images += image
        kept_labels.append(labels[i])
        kept += 1
    os.makedirs(a.out, exist_ok=True)
    write_idx(os.path.join(a.out, "images-idx3-ubyte.gz"), (kept, h, w), bytes(images))
    write_idx(os.path.join(a.out, "labels-idx1-ubyte.gz"), (kept,), bytes(kept_labels))
    with open(os.path.join(a.out, "inverted.txt"), "w") as f:
        f.write("\n".join(map(str, inverted)) + "\n")
    print(f"{kept} images ({n - kept} of {', '.join(classes[c] for c in sorted(drop))} dropped, {len(inverted)} inverted) in {a.out}")


if __name__ == "__main__":
    main()
