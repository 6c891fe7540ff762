#!/usr/bin/env python3
"""Makes the "wide" case of Percept's `bench scale` (issue 28): a run wider than 2^31 floats.

What: a randomly initialised MLP, 64 -> 4096 (Gemm + Relu) -> 10 (Gemm), as ONNX, and synthetic data for it. Its
hidden layer gives every sample a 4,096-wide perception vector, so 550,000 samples make 550,000 x 4,096 =
2,252,800,000 floats (9.0 GB), more than 2^31 - 1: the run Percept has to carry without a single float[] or int-indexed
buffer holding all of it.

    model.onnx   opset 17; input "x" float32 [N, 64], output "logits" float32 [N, 10] (N is the dynamic batch "N");
                 nodes fc1 (Gemm) -> relu1 (Relu) -> fc2 (Gemm). Weights He-normal (std sqrt(2 / fan_in)) from
                 numpy's default_rng(seed), biases 0; checked with onnx.checker.
    x.npy        float32 [N, 64], written streaming through numpy.lib.format.open_memmap: a mixture of 10 Gaussian
                 clusters in 64-d (centres N(0, 1) per coordinate, each sample its centre plus N(0, 1) noise), so the
                 data have structure for the map and the neighbours to find.
    labels.npy   int64 [N]: row i's cluster, drawn uniformly.

The data are made in blocks of 65,536 rows, each from its own generator seeded with (seed, block), so a row does not
depend on --count: the first 5,000 rows of the 550,000 set are the 5,000 set. The model is untrained, so its
predictions are near chance; the case measures size (memory, time, files), not accuracy.

Layers: by default Percept records every layer with learned parameters, fc1 (4,096, after its Relu) and fc2 (10), a
4,106-wide vector that passes the default --max-width 4096 and so is randomly projected to 4,096 for every sample.
`--layers fc1` records the hidden layer alone, 4,096 wide and not projected; `--max-width 0` keeps all 4,106.

Run (Debian's python3-numpy and python3-onnx):
    /usr/bin/python3 tools/make_wide_mlp.py                                  # 550,000 samples into /tmp/percept-wide
    /usr/bin/python3 tools/make_wide_mlp.py --count 5000 --out /tmp/percept-wide-5k
    percept analyze --model /tmp/percept-wide/model.onnx --data /tmp/percept-wide/x.npy \\
        --labels /tmp/percept-wide/labels.npy --out runs/wide
"""
import argparse
import os
import sys
import time

import numpy as np
import onnx
from numpy.lib.format import open_memmap
from onnx import TensorProto, helper, numpy_helper

INPUTS, HIDDEN, CLASSES = 64, 4096, 10
OPSET = 17
BLOCK = 65536


def build_model(seed):
    """The MLP as an onnx.ModelProto, weights He-normal from default_rng(seed), biases 0."""
    rng = np.random.default_rng(seed)
    # Gemm with transB=1 takes weights as [out, in], PyTorch's layout for Linear.
    w1 = (rng.standard_normal((HIDDEN, INPUTS)) * np.sqrt(2.0 / INPUTS)).astype(np.float32)
    w2 = (rng.standard_normal((CLASSES, HIDDEN)) * np.sqrt(2.0 / HIDDEN)).astype(np.float32)
    b1 = np.zeros(HIDDEN, np.float32)
    b2 = np.zeros(CLASSES, np.float32)
    nodes = [
        helper.make_node('Gemm', ['x', 'fc1.weight', 'fc1.bias'], ['fc1_out'], name='fc1', transB=1),
        helper.make_node('Relu', ['fc1_out'], ['relu1_out'], name='relu1'),
        helper.make_node('Gemm', ['relu1_out', 'fc2.weight', 'fc2.bias'], ['logits'], name='fc2', transB=1),
    ]
    graph = helper.make_graph(
        nodes, 'wide_mlp',
        inputs=[helper.make_tensor_value_info('x', TensorProto.FLOAT, ['N', INPUTS])],
        outputs=[helper.make_tensor_value_info('logits', TensorProto.FLOAT, ['N', CLASSES])],
        initializer=[numpy_helper.from_array(a, name) for a, name in
                     ((w1, 'fc1.weight'), (b1, 'fc1.bias'), (w2, 'fc2.weight'), (b2, 'fc2.bias'))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)],
                              producer_name='percept tools/make_wide_mlp.py')
    model.ir_version = 8  # what opset 17 needs; older onnxruntime builds refuse newer IR versions
    onnx.checker.check_model(model, full_check=True)
    return model


def write_data(folder, count, seed):
    """x.npy [count, 64] and labels.npy [count], block by block; returns their paths."""
    centres = np.random.default_rng([seed, 1 << 20]).standard_normal((CLASSES, INPUTS)).astype(np.float32)
    x_path, labels_path = os.path.join(folder, 'x.npy'), os.path.join(folder, 'labels.npy')
    partial = x_path + '.partial'  # renamed at the end: an interrupted run leaves no x.npy that looks whole
    x = open_memmap(partial, mode='w+', dtype=np.float32, shape=(count, INPUTS))
    labels = np.empty(count, np.int64)
    for block, start in enumerate(range(0, count, BLOCK)):
        rng = np.random.default_rng([seed, block])
        y = rng.integers(0, CLASSES, BLOCK)
        rows = centres[y] + rng.standard_normal((BLOCK, INPUTS), dtype=np.float32)
        n = min(BLOCK, count - start)
        x[start:start + n] = rows[:n]
        labels[start:start + n] = y[:n]
    x.flush()
    del x
    os.replace(partial, x_path)
    np.save(labels_path, labels)
    return x_path, labels_path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='/tmp/percept-wide', help='output folder (default /tmp/percept-wide)')
    parser.add_argument('--count', type=int, default=550000, help='samples (default 550000)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the weights and the data (default 0)')
    args = parser.parse_args()
    if args.count < 1:
        print('error: --count must be at least 1', file=sys.stderr)
        return 1

    started = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)
    model_path = os.path.join(args.out, 'model.onnx')
    onnx.save(build_model(args.seed), model_path)
    x_path, labels_path = write_data(args.out, args.count, args.seed)
    seconds = time.perf_counter() - started

    floats = args.count * HIDDEN
    print(f'wrote {model_path}: MLP {INPUTS} -> {HIDDEN} (Gemm + Relu) -> {CLASSES} (Gemm), opset {OPSET}, '
          f'{os.path.getsize(model_path):,} bytes')
    print(f'wrote {x_path}: float32 [{args.count}, {INPUTS}], {os.path.getsize(x_path):,} bytes')
    print(f'wrote {labels_path}: int64 [{args.count}], {os.path.getsize(labels_path):,} bytes')
    print(f'perception vectors of the hidden layer: {args.count:,} x {HIDDEN:,} = {floats:,} floats '
          f'({"more" if floats > 2**31 - 1 else "less"} than 2^31 - 1)')
    print(f'done in {seconds:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
