#!/usr/bin/env python3
"""Writes tests/fixtures/conformance/: reduced-width versions of standard torchvision architectures (random weights,
eval mode), exported to ONNX by PyTorch, with PyTorch autograd's answers for Percept's gradient engine to match:
the logits of two inputs and, for each of three classes, the gradient of that class's logit with respect to the input,
and Grad-CAM at the last convolution (the activation, its gradient per class and the map).

    /usr/bin/python3 tools/make_conformance.py      (Debian: apt-get install python3-torch python3-torchvision python3-onnx)

Widths are cut so that every model is a few hundred kB, but each keeps the operators of its family: the ResNet stem's
overlapping 3x3 stride-2 max pool, DenseNet's concatenations, SqueezeNet's and GoogLeNet's ceil_mode pools,
MobileNet's depthwise convolutions, ReLU6 and hard-swish, ConvNeXt's LayerNorm, GELU and layer scale, ShuffleNet's
computed chunks and channel shuffle, a ViT's class token and self-attention, EfficientNet-B0's MBConv blocks with SiLU
and squeeze-and-excitation, VGG-11-BN's stacks of 3x3 convolutions and 2x2 pools. Batch-norm
statistics are randomised (eval mode), and the script checks that no ReLU input and no max-pool window is within
1e-5 of a kink for the inputs used (float32 round-off between PyTorch and ONNX Runtime is far smaller), so that
autograd's answer is the only right one.
"""
import os
import numpy as np
import torch
import torch.nn as nn
import torchvision.models.resnet as tv_resnet
import torchvision.models.densenet as tv_densenet
import torchvision.models.squeezenet as tv_squeezenet
import importlib
tv_googlenet = importlib.import_module("torchvision.models.googlenet")  # the package also has a function of that name
import torchvision.models.mobilenetv2 as tv_mobilenetv2
import torchvision.models.mobilenetv3 as tv_mobilenetv3
import torchvision.models.convnext as tv_convnext
import torchvision.models.shufflenetv2 as tv_shufflenetv2
import torchvision.models.vision_transformer as tv_vit
import torchvision.models.efficientnet as tv_efficientnet
import torchvision.models.vgg as tv_vgg
import onnx

OUT = os.path.join(os.path.dirname(__file__), '..', 'tests', 'fixtures', 'conformance')
CLASSES = 5


def resnet():
    """ResNet-18's stem (7x7/2 conv, BN, ReLU, 3x3/2 max pool with padding: overlapping windows) and BasicBlocks, narrow."""
    def block(i, o, s):
        down = None if s == 1 and i == o else nn.Sequential(nn.Conv2d(i, o, 1, s, bias=False), nn.BatchNorm2d(o))
        return tv_resnet.BasicBlock(i, o, s, down)
    return nn.Sequential(nn.Conv2d(3, 8, 7, 2, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1),
                         block(8, 8, 1), block(8, 16, 2), block(16, 16, 1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, CLASSES))


def densenet():
    return tv_densenet.DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8, bn_size=2, num_classes=CLASSES)


def squeezenet():
    """SqueezeNet 1.1's layout: ceil_mode 3x3/2 max pools (overlapping, and running past the input) between Fire modules."""
    return nn.Sequential(nn.Conv2d(3, 8, 3, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True),
                         tv_squeezenet.Fire(8, 4, 8, 8), tv_squeezenet.Fire(16, 4, 8, 8), nn.MaxPool2d(3, 2, ceil_mode=True),
                         tv_squeezenet.Fire(16, 4, 8, 8), nn.Dropout(0.5), nn.Conv2d(16, CLASSES, 1), nn.ReLU(inplace=True),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())


def googlenet():
    """GoogLeNet's stem and Inception modules (their 3x3/1 ceil_mode pool branch), narrow."""
    return nn.Sequential(tv_googlenet.BasicConv2d(3, 8, kernel_size=7, stride=2, padding=3), nn.MaxPool2d(3, 2, ceil_mode=True),
                         tv_googlenet.Inception(8, 4, 4, 8, 2, 4, 4), nn.MaxPool2d(3, 2, ceil_mode=True),
                         tv_googlenet.Inception(20, 8, 4, 8, 2, 4, 4),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, CLASSES))


def mobilenet_v2():
    return nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6(inplace=True),
                         tv_mobilenetv2.InvertedResidual(8, 8, 1, 2), tv_mobilenetv2.InvertedResidual(8, 16, 2, 4),
                         tv_mobilenetv2.InvertedResidual(16, 16, 1, 4),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, CLASSES))


def mobilenet_v3():
    """MobileNet-v3's hard-swish stem and inverted residuals with squeeze-and-excitation (hard-sigmoid gates)."""
    cfg = tv_mobilenetv3.InvertedResidualConfig
    blocks = [cfg(8, 3, 16, 8, True, 'RE', 2, 1, 1.0), cfg(8, 3, 24, 16, False, 'HS', 2, 1, 1.0), cfg(16, 5, 32, 16, True, 'HS', 1, 1, 1.0)]
    layers = [nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.Hardswish()]
    layers += [tv_mobilenetv3.InvertedResidual(c, nn.BatchNorm2d) for c in blocks]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 24), nn.Hardswish(), nn.Linear(24, CLASSES))


def convnext():
    """ConvNeXt's patchify stem, LayerNorm2d, CNBlocks (depthwise 7x7, LayerNorm, GELU, layer scale), narrow."""
    norm = lambda c: tv_convnext.LayerNorm2d(c, eps=1e-6)
    return nn.Sequential(nn.Conv2d(3, 8, 4, 4), norm(8), tv_convnext.CNBlock(8, 0.5, 0.0), tv_convnext.CNBlock(8, 0.5, 0.0),
                         norm(8), nn.Conv2d(8, 16, 2, 2), tv_convnext.CNBlock(16, 0.5, 0.0),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(16), nn.Linear(16, CLASSES))


def shufflenet_v2():
    """ShuffleNet-v2's units: a chunk into two halves (a Slice whose bounds are computed from the shape) and a channel shuffle."""
    return nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1),
                         tv_shufflenetv2.InvertedResidual(8, 16, 2), tv_shufflenetv2.InvertedResidual(16, 16, 1),
                         nn.Conv2d(16, 24, 1, bias=False), nn.BatchNorm2d(24), nn.ReLU(inplace=True),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, CLASSES))


def vit():
    """A ViT: patch embedding, the class token (a Gather), self-attention (q, k and v sliced at computed bounds), LayerNorm, GELU."""
    return tv_vit.VisionTransformer(image_size=32, patch_size=8, num_layers=1, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=CLASSES)


def efficientnet_b0():
    """EfficientNet-B0's layout: SiLU stem, MBConv blocks (depthwise convolutions, squeeze-and-excitation with SiLU and a
    sigmoid gate, residuals), a 1x1 head convolution, narrow."""
    cfg = tv_efficientnet.MBConvConfig
    blocks = [cfg(1, 3, 1, 8, 8, 1), cfg(4, 3, 2, 8, 16, 1), cfg(4, 5, 1, 16, 16, 1)]
    layers = [nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.SiLU()]
    layers += [tv_efficientnet.MBConv(c, 0.0, nn.BatchNorm2d) for c in blocks]
    layers += [nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32), nn.SiLU()]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(32, CLASSES))


def vgg():
    """VGG-11-BN's layout: 3x3 convolutions with batch norm and ReLU, 2x2 max pools, a two-layer classifier, narrow."""
    features = tv_vgg.make_layers([8, 'M', 16, 'M', 16, 16, 'M'], batch_norm=True)
    return nn.Sequential(features, nn.Flatten(), nn.Linear(16 * 4 * 4, 32), nn.ReLU(inplace=True), nn.Dropout(0.5), nn.Linear(32, CLASSES))


MODELS = [('resnet', resnet, [13]), ('densenet', densenet, [13]), ('squeezenet', squeezenet, [13]), ('googlenet', googlenet, [13]),
          ('mobilenet_v2', mobilenet_v2, [13]), ('mobilenet_v3', mobilenet_v3, [13]), ('convnext', convnext, [13, 17]),
          ('shufflenet_v2', shufflenet_v2, [13]), ('vit', vit, [13, 17]), ('efficientnet_b0', efficientnet_b0, [13]), ('vgg', vgg, [13])]


def randomise_batch_norm(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def kink_margin(model, x):
    """The smallest distance of any ReLU/ReLU6 input from its kinks, and of any max-pool window's two largest values."""
    margins = []
    def relu_hook(module, inputs, output):
        v = inputs[0].detach()
        d = v.abs()
        if isinstance(module, nn.ReLU6):
            d = torch.minimum(d, (v - 6).abs())
        margins.append(d.min().item())
    def pool_hook(module, inputs, output):
        v = inputs[0].detach()
        k, s, p = module.kernel_size, module.stride, module.padding
        patches = nn.functional.pad(v, (p, p, p, p), value=-1e9).unfold(2, k, s).unfold(3, k, s).flatten(-2)
        top = patches.topk(2, dim=-1).values
        # A window of zeros (after a ReLU) ties, but the ReLU passes no gradient there: only windows with a positive maximum count.
        gaps = (top[..., 0] - top[..., 1])[top[..., 0] > 0]
        if gaps.numel():
            margins.append(gaps.min().item())
    hooks = [m.register_forward_hook(relu_hook) for m in model.modules() if isinstance(m, (nn.ReLU, nn.ReLU6))]
    hooks += [m.register_forward_hook(pool_hook) for m in model.modules() if isinstance(m, nn.MaxPool2d) and not m.ceil_mode]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return min(margins) if margins else float('inf')


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, make, opsets in MODELS:
        # The first seed whose inputs keep every activation 1e-5 away from a kink.
        for attempt in range(20):
            torch.manual_seed(7 + attempt)
            gen = torch.Generator().manual_seed(11 + attempt)
            model = make()
            randomise_batch_norm(model, gen)
            model.eval()
            for mod in model.modules():
                if isinstance(mod, (nn.ReLU, nn.ReLU6)):
                    mod.inplace = False
            x = torch.randn(2, 3, 32, 32, generator=gen)
            margin = kink_margin(model, x)
            if margin > 1e-5:
                break
        assert margin > 1e-5, f'{name}: no seed keeps the activations away from kinks'
        # The last convolution's output as ONNX will hold it: where the export folds a following batch norm into the
        # convolution, that is the batch norm's output.
        # Each output is kept as it was and a copy flows on, so that in-place operations after it (ReLU(inplace=True),
        # out += identity) change the copy, not the value saved; the gradient with respect to either is the same.
        order = []
        def conv_hook(module, inputs, output):
            copy = output.clone()
            order.append((module, inputs[0], output, copy))
            return copy
        hooks = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
        xr = x.clone().requires_grad_(True)
        logits = model(xr)
        for h in hooks:
            h.remove()
        last = max(i for i, (m, _, _, _) in enumerate(order) if isinstance(m, nn.Conv2d))
        activation = order[last][2]
        if last + 1 < len(order) and isinstance(order[last + 1][0], nn.BatchNorm2d) and order[last + 1][1] is order[last][3]:
            activation = order[last + 1][2]
        grads, cam_grads = [], []
        for c in range(3):
            g, a = torch.autograd.grad(logits[:, c].sum(), [xr, activation], retain_graph=True)
            grads.append(g.detach().numpy())
            cam_grads.append(a.detach().numpy())
        np.save(os.path.join(OUT, f'{name}-inputs.npy'), x.numpy().astype(np.float32))
        np.save(os.path.join(OUT, f'{name}-logits.npy'), logits.detach().numpy().astype(np.float32))
        # [classes, samples, 3, 32, 32]: ∂logit_c / ∂input for each sample.
        np.save(os.path.join(OUT, f'{name}-saliency.npy'), np.stack(grads).astype(np.float32))
        # Grad-CAM at the last convolution: its value [samples, C, h, w], its gradient per class [classes, samples, C, h, w]
        # and the map ReLU(sum_c mean(dA_c) A_c) [classes, samples, h, w].
        a = activation.detach().numpy().astype(np.float32)
        da = np.stack(cam_grads).astype(np.float32)
        cam = np.maximum(0, (da.mean(axis=(3, 4), keepdims=True) * a[None]).sum(axis=2))
        np.save(os.path.join(OUT, f'{name}-cam-activation.npy'), a)
        np.save(os.path.join(OUT, f'{name}-cam-gradient.npy'), da)
        np.save(os.path.join(OUT, f'{name}-gradcam.npy'), cam.astype(np.float32))
        for opset in opsets:
            path = os.path.join(OUT, f'{name}-opset{opset}.onnx')
            torch.onnx.export(model, x, path, opset_version=opset, input_names=['input'], output_names=['logits'],
                              dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
            # The last Conv node must be the tensor whose value and gradient were saved: its shape is checked here, its values by the tests.
            g = onnx.shape_inference.infer_shapes(onnx.load(path)).graph
            conv = [n for n in g.node if n.op_type == 'Conv'][-1]
            consumers = [n.op_type for n in g.node if conv.output[0] in n.input]
            assert 'BatchNormalization' not in consumers, f'{name}: the export kept a batch norm after the last convolution'
            print(f'{name} opset {opset}: {os.path.getsize(path):,} bytes, kink margin {margin:.2e}, Grad-CAM at {conv.name} {list(a.shape)}')


if __name__ == '__main__':
    main()
