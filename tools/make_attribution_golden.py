#!/usr/bin/env python3
"""Golden saliency and Grad-CAM values for Percept's gradient engine, computed with PyTorch autograd.

Rebuilds the demo CNN of tools/train_demo_model.py with the weights of models/fmnist-cnn/epoch-5.onnx, then for a
few Fashion-MNIST test images writes into tools/golden/:
  saliency.npy     [samples, 10, 28, 28]  d logit[c] / d input, for every class c
  gradcam.npy      [samples, 10, 7, 7]    Grad-CAM at conv3 (after relu3), layer resolution, for every class
  attribution_samples.npy                  the sample indices
    /usr/bin/python3 tools/make_attribution_golden.py
"""
import gzip, os, struct, sys
import numpy as np
import onnx
from onnx import numpy_helper
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from train_demo_model import DemoCnn, read_idx  # noqa: E402

SAMPLES = [0, 417, 5512]


def main():
    model = DemoCnn()
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(os.path.join(ROOT, "models", "fmnist-cnn", "epoch-5.onnx")).graph.initializer}
    model.load_state_dict({k: weights[k] for k in model.state_dict().keys()})
    model.eval()
    x = torch.from_numpy(read_idx(os.path.join(ROOT, "data", "fashion-mnist", "t10k-images-idx3-ubyte.gz"))[SAMPLES].astype(np.float32) / 255).unsqueeze(1)
    saliency = np.zeros((len(SAMPLES), 10, 28, 28), np.float32)
    gradcam = np.zeros((len(SAMPLES), 10, 7, 7), np.float32)
    store = {}
    model.relu3.register_forward_hook(lambda m, i, o: store.__setitem__("a", o))
    for c in range(10):
        xi = x.clone().requires_grad_(True)
        logits = model(xi)
        a = store["a"]
        a.retain_grad()
        logits[:, c].sum().backward()
        saliency[:, c] = xi.grad[:, 0].numpy()
        alpha = a.grad.mean(dim=(2, 3), keepdim=True)
        gradcam[:, c] = torch.relu((alpha * a).sum(1)).detach().numpy()
    np.save(os.path.join(HERE, "golden", "saliency.npy"), saliency)
    np.save(os.path.join(HERE, "golden", "gradcam.npy"), gradcam)
    np.save(os.path.join(HERE, "golden", "attribution_samples.npy"), np.array(SAMPLES, np.int64))
    print("wrote saliency.npy, gradcam.npy for samples", SAMPLES)


if __name__ == "__main__":
    main()
