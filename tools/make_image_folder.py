#!/usr/bin/env python3
"""Write Fashion-MNIST images as PNG files in a folder per class, the layout `percept analyze --data FOLDER` reads.

For analysing the images with a model that takes photographs (a pretrained ImageNet network, 224 x 224 RGB): Percept
decodes each PNG and resizes it to the model's input, gray replicated to three channels. Only the standard library:
    /usr/bin/python3 tools/make_image_folder.py --out /tmp/fmnist-png [--per-class 100] [--data data/fashion-mnist] [--split t10k]
takes the first --per-class images of each class, in order, from the split's IDX files.
"""
import argparse, gzip, os, struct, zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = struct.unpack(">I", data[:4])[0] & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return shape, data[4 + 4 * dims:]


def png(width, height, gray):
    """An 8-bit grayscale PNG: each row with filter 0."""
    rows = b"".join(b"\x00" + gray[r * width:(r + 1) * width] for r in range(height))
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(HERE, "..", "data", "fashion-mnist"))
    p.add_argument("--split", default="t10k")
    p.add_argument("--per-class", type=int, default=100)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    classes = [c for c in open(os.path.join(HERE, "..", "data", "fashion-mnist", "classes.txt")).read().split("\n") if c]
    (n, h, w), pixels = read_idx(os.path.join(a.data, f"{a.split}-images-idx3-ubyte.gz"))
    (_,), labels = read_idx(os.path.join(a.data, f"{a.split}-labels-idx1-ubyte.gz"))
    written = [0] * len(classes)
    for i in range(n):
        c = labels[i]
        if written[c] >= a.per_class:
            continue
        folder = os.path.join(a.out, classes[c].replace("/", "-"))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{a.split}-{i:05d}.png"), "wb") as f:
            f.write(png(w, h, pixels[i * h * w:(i + 1) * h * w]))
        written[c] += 1
        if all(k >= a.per_class for k in written):
            break
    print(f"{sum(written)} images in {len(classes)} folders under {a.out}")


if __name__ == "__main__":
    main()
