#!/usr/bin/python3
"""Inputs for the dashboard frame-rate benchmark (bench/README.md): all 70,000 Fashion-MNIST images as one .npy with
their labels, and a synthetic 1,000,000-sample table with a tiny ONNX classifier for it. Uses only NumPy and onnx."""
import gzip, os, sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/percept-dashboard-bench"
os.makedirs(out, exist_ok=True)

def find(name):
    for root in ("../shared/datasets/fashion-mnist", "/work/shared/datasets/fashion-mnist", "/usr/share/datasets/fashion-mnist"):
        p = os.path.join(root, name)
        if os.path.exists(p):
            return p
    sys.exit(f"{name} not found: the full Fashion-MNIST is needed (../shared/datasets/fashion-mnist or the Debian package dataset-fashion-mnist)")

def idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)

images = np.concatenate([idx(find("train-images-idx3-ubyte.gz"), 16), idx(find("t10k-images-idx3-ubyte.gz"), 16)]).reshape(-1, 28, 28)
labels = np.concatenate([idx(find("train-labels-idx1-ubyte.gz"), 8), idx(find("t10k-labels-idx1-ubyte.gz"), 8)]).astype(np.int64)
np.save(os.path.join(out, "fmnist70k.npy"), images)
np.save(os.path.join(out, "fmnist70k-labels.npy"), labels)

# 1,000,000 points in 8 dimensions around 10 centres, and a fixed random MLP 8 -> 16 -> 10 as "the model".
rng = np.random.default_rng(0)
centres = rng.normal(0, 4, (10, 8)).astype(np.float32)
y = rng.integers(0, 10, 1_000_000)
x = (centres[y] + rng.normal(0, 1, (1_000_000, 8))).astype(np.float32)
np.save(os.path.join(out, "points1m.npy"), x)
np.save(os.path.join(out, "points1m-labels.npy"), y.astype(np.int64))
w1 = numpy_helper.from_array(rng.normal(0, 0.5, (16, 8)).astype(np.float32), "w1")
b1 = numpy_helper.from_array(np.zeros(16, np.float32), "b1")
w2 = numpy_helper.from_array(rng.normal(0, 0.5, (10, 16)).astype(np.float32), "w2")
b2 = numpy_helper.from_array(np.zeros(10, np.float32), "b2")
graph = helper.make_graph(
    [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1, name="fc1"),
     helper.make_node("Relu", ["h"], ["r"], name="relu1"),
     helper.make_node("Gemm", ["r", "w2", "b2"], ["logits"], transB=1, name="fc2")],
    "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], [w1, b1, w2, b2])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), os.path.join(out, "mlp.onnx"))
print(f"wrote {out}: fmnist70k.npy {images.shape}, points1m.npy {x.shape}, mlp.onnx")
