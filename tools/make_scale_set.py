#!/usr/bin/env python3
"""Makes the 1.05-million-image scale set for Percept's `bench scale` (issue 28).

What: the whole of Fashion-MNIST (60,000 train + 10,000 test images) followed by 14 shifted copies of all 70,000
images: 15 x 70,000 = 1,050,000 grey 28 x 28 images with their labels, as NumPy arrays that `percept analyze` reads.

Why: Fashion-MNIST has only 70,000 images, and the scale benchmark needs a run of about a million real images for the
demo model (models/fmnist-cnn) to perceive. Translated copies are still clothes the model recognises, its
perception vectors of them are close to but not equal to the originals', and so the neighbours, map and insights stay
meaningful, unlike plain duplicates (which would collapse to one point) or noise.

Shifts: copy k (k = 1..14) moves every image by SHIFTS[k-1] = (dx, dy) pixels, dx to the right and dy down (negative:
left, up); the pixels moved in at the edge are 0 (black, the background of Fashion-MNIST) and those moved out are
dropped (no wrap-around). The 14 shifts are every one-pixel move (the 8 neighbours) and the 6 two-pixel moves
(+-2, 0), (0, +-2), (2, 2), (-2, -2); none is (0, 0) and none is repeated.

Order: the originals first (train, then test), then copy 1 of all 70,000 (train, then test), copy 2, ... copy 14, so
any prefix (--count) is a meaningful subset: 70,000 is the plain data set, 100,000 adds 30,000 shifted train images.

Output (folder --out, default /tmp/percept-scale):
    images.npy   uint8 [N, 28, 28], written streaming through numpy.lib.format.open_memmap (memory stays low)
    labels.npy   int64 [N], the class index 0..9 (a copy keeps its original's label)
    classes.txt  the 10 Fashion-MNIST class names, one a line (line i names label i)

Input: the IDX .gz files of Fashion-MNIST in /work/shared/datasets/fashion-mnist/, else
/usr/share/datasets/fashion-mnist/, else the folder given by --source; it exits 1 when none has them.

Run (numpy only: Debian's python3-numpy):
    /usr/bin/python3 tools/make_scale_set.py                                   # 1,050,000 images, ~0.8 GB
    /usr/bin/python3 tools/make_scale_set.py --count 100000 --out /tmp/percept-scale-100k
    percept analyze --model models/fmnist-cnn/epoch-5.onnx --data /tmp/percept-scale/images.npy \\
        --labels /tmp/percept-scale/labels.npy --classes /tmp/percept-scale/classes.txt --out runs/scale
"""
import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np
from numpy.lib.format import open_memmap

SOURCES = ['/work/shared/datasets/fashion-mnist', '/usr/share/datasets/fashion-mnist']
FILES = {
    'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
}
CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']
# (dx, dy): dx > 0 moves the image right, dy > 0 moves it down; copy k uses SHIFTS[k - 1].
SHIFTS = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1),
          (2, 0), (-2, 0), (0, 2), (0, -2), (2, 2), (-2, -2)]
COPIES = 1 + len(SHIFTS)
assert len(set(SHIFTS)) == 14 and (0, 0) not in SHIFTS and all(abs(dx) <= 2 and abs(dy) <= 2 for dx, dy in SHIFTS)


def read_idx(path, ndim):
    """The array in an IDX .gz file of unsigned bytes with ndim axes."""
    with gzip.open(path, 'rb') as f:
        data = f.read()
    zero, dtype, dims = struct.unpack('>HBB', data[:4])
    if zero != 0 or dtype != 0x08 or dims != ndim:
        raise ValueError(f'{path}: not an IDX file of unsigned bytes with {ndim} axes')
    shape = struct.unpack('>' + 'i' * dims, data[4:4 + 4 * dims])
    body = data[4 + 4 * dims:]
    if len(body) != int(np.prod(shape)):
        raise ValueError(f'{path}: {len(body)} bytes of data for shape {shape}')
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def find_source(explicit):
    """The first folder holding all four IDX files, or None."""
    for folder in ([explicit] if explicit else SOURCES):
        if all(os.path.isfile(os.path.join(folder, name)) for pair in FILES.values() for name in pair):
            return folder
    return None


def shift(images, dx, dy):
    """images [n, H, W] moved dx pixels right and dy down, zero-filled, nothing wrapped round."""
    out = np.zeros_like(images)
    h, w = images.shape[1:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        images[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='/tmp/percept-scale', help='output folder (default /tmp/percept-scale)')
    parser.add_argument('--count', type=int, default=None,
                        help='write only the first N images (default all 1,050,000), e.g. 100000 or 300000')
    parser.add_argument('--source', default=None,
                        help='folder with the Fashion-MNIST IDX .gz files (default: ' + ', else '.join(SOURCES) + ')')
    args = parser.parse_args()

    started = time.perf_counter()
    source = find_source(args.source)
    if source is None:
        where = args.source if args.source else ' or '.join(SOURCES)
        print(f'error: the Fashion-MNIST IDX files ({", ".join(n for p in FILES.values() for n in p)}) '
              f'are not in {where}', file=sys.stderr)
        return 1

    images = np.concatenate([read_idx(os.path.join(source, FILES[s][0]), 3) for s in ('train', 'test')])
    labels = np.concatenate([read_idx(os.path.join(source, FILES[s][1]), 1) for s in ('train', 'test')]).astype(np.int64)
    if len(images) != len(labels):
        print(f'error: {len(images)} images but {len(labels)} labels in {source}', file=sys.stderr)
        return 1
    base = len(images)
    total = base * COPIES
    count = total if args.count is None else args.count
    if not 1 <= count <= total:
        print(f'error: --count must be between 1 and {total:,}', file=sys.stderr)
        return 1

    os.makedirs(args.out, exist_ok=True)
    images_path = os.path.join(args.out, 'images.npy')
    labels_path = os.path.join(args.out, 'labels.npy')
    classes_path = os.path.join(args.out, 'classes.txt')
    # Written under a temporary name and renamed at the end, so an interrupted run leaves no images.npy that looks whole.
    partial = images_path + '.partial'
    open_memmap(partial, mode='w+', dtype=np.uint8, shape=(count,) + images.shape[1:]).flush()  # header and size
    written = 0
    for copy in range(COPIES):
        if written == count:
            break
        n = min(base, count - written)
        # Mapped afresh for each copy: the pages written stay in the page cache but leave this process when it unmaps,
        # so its resident memory stays near 200 MB instead of growing with the file (0.8 GB).
        out = open_memmap(partial, mode='r+')
        out[written:written + n] = images[:n] if copy == 0 else shift(images[:n], *SHIFTS[copy - 1])
        out.flush()
        del out
        written += n
    os.replace(partial, images_path)
    np.save(labels_path, np.tile(labels, COPIES)[:count])
    with open(classes_path, 'w') as f:
        f.write('\n'.join(CLASSES) + '\n')

    seconds = time.perf_counter() - started
    shifted = count - min(count, base)
    copies = (shifted + base - 1) // base
    print(f'read Fashion-MNIST from {source}: {base:,} images')
    print(f'wrote {images_path}: uint8 [{count}, 28, 28], {os.path.getsize(images_path):,} bytes '
          f'({min(count, base):,} originals' + (f' + {shifted:,} shifted images: '
          f'{"copy 1" if copies == 1 else f"copies 1-{copies}"}{" (the last partial)" if shifted % base else ""}' if shifted else '') + ')')
    print(f'wrote {labels_path}: int64 [{count}], {os.path.getsize(labels_path):,} bytes')
    print(f'wrote {classes_path}: {len(CLASSES)} class names')
    print(f'done in {seconds:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
