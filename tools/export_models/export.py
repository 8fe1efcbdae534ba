#!/usr/bin/python3
"""Export seeded random-weight ImageNet-style CNNs to ONNX with PyTorch reference outputs.

Every model is written as an ONNX backend-test case directory:
  DIR/model.onnx                      opset 13; input "input" float32 [batch,3,H,W] (batch/H/W dynamic),
                                      output "logits" float32 [batch,classes] (batch dynamic)
  DIR/test_data_set_K/input_0.pb      seeded N(0,1) input (onnx TensorProto)
  DIR/test_data_set_K/output_0.pb     PyTorch's logits for it, computed in float64 from the float32
                                      weights and rounded to float32, so the reference carries no
                                      float32 accumulation error of its own

Weights: torchvision's (or ResNeSt's kaiming) seeded init; BatchNorm gamma/beta are drawn at random
so a folded or unfolded BN is a real scale-and-shift, then BN running statistics are calibrated on
seeded noise (a random network with default statistics blows up or collapses). BNs that only see
pooled 1x1 vectors (ResNeSt split attention) keep identity statistics: noise-calibrated ones have a
tiny variance and make the network chaotic (a 1e-6 input change moved logits by ~700 in the benchmark).

Usage (always /usr/bin/python3, Debian's torch):
  export.py --out DIR [options] {mobilenet_v2,resnet50,resnest101}
  export.py --fixtures testdata/models      regenerate every committed fixture (PRESETS below)
  export.py --preset NAME --out DIR         one preset
See README.md next to this file.
"""
import argparse
import copy
import glob
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
import torch
import torchvision
from onnx import numpy_helper
from torch import nn
from torchvision.models.resnet import Bottleneck, ResNet

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from resnest import resnest  # noqa: E402
import forms  # noqa: E402

# torch warns about constant folding with TrainingMode.PRESERVE; our modules are in eval mode, so
# folding only touches constants (BatchNormalization nodes stay, which --keep-bn checks).
warnings.filterwarnings("ignore", message="It is recommended that constant folding be turned off")

ARCHS = ("mobilenet_v2", "resnet50", "resnest101", "decoder", "tiny_cnn", "crnn")

# Full-depth stage layouts; --depth replaces them for reduced fixtures.
FULL_DEPTH = {
    # (expansion t, channels c, repeats n, stride s) rows of MobileNetV2's Table 2; --depth gives the n's
    "mobilenet_v2": [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
                     [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]],
    "resnet50": [3, 4, 6, 3],
    "resnest101": [3, 4, 23, 3],
}

# Committed fixtures (testdata/models/<name>): reduced width and depth, < 5 MB all together.
# sets: (batch, height, width) per test_data_set_K. Set 1 uses batch 2 and a non-square size that is
# not a multiple of 32, so ceil-mode pooling, odd padding and H/W mix-ups show up.
PRESETS = {
    "mobilenet_v2_tiny": dict(arch="mobilenet_v2", width_mult=0.25, depth=[1, 2, 2, 2, 1, 2, 1],
                              classes=10, sets=[(1, 64, 64), (2, 72, 56)], keep_bn=False),
    "resnet50_tiny": dict(arch="resnet50", width_mult=0.125, depth=[1, 2, 1, 1],
                          classes=10, sets=[(1, 64, 64), (2, 72, 56)], keep_bn=True),
    "resnest_tiny": dict(arch="resnest101", width_mult=0.125, depth=[1, 2, 1, 1],
                         classes=10, sets=[(1, 64, 64), (2, 72, 56)], keep_bn=False),
    "resnest_tiny_bn": dict(arch="resnest101", width_mult=0.125, depth=[1, 1, 1, 1],
                            classes=10, sets=[(1, 64, 64), (2, 72, 56)], keep_bn=True),
    # Other forms of a model (forms.py): float16 weights and activations; ONNX Runtime's dynamic
    # int8 quantization. And a segmentation-style decoder (ConvTranspose, PixelShuffle).
    "mobilenet_v2_tiny_fp16": dict(arch="mobilenet_v2", width_mult=0.25, depth=[1, 2, 2, 2, 1, 2, 1],
                                   classes=10, sets=[(1, 64, 64), (2, 72, 56)], form="float16"),
    "tiny_cnn_dynamic_int8": dict(arch="tiny_cnn", classes=10, sets=[(1, 48, 48), (2, 40, 56)], form="dynamic_int8"),
    "decoder_tiny": dict(arch="decoder", classes=3, sets=[(1, 32, 32), (2, 24, 40)]),
    # A CRNN-style text recogniser: convs, the height averaged away, a bidirectional LSTM and a
    # bidirectional GRU over the width, per-column logits [batch, width/4, classes].
    "crnn_tiny": dict(arch="crnn", classes=5, sets=[(1, 16, 48), (2, 12, 40)]),
}


class CRNN(nn.Module):
    """Convolutions down by 4, the mean over the height, then a bidirectional LSTM and a
    bidirectional GRU (torch.onnx writes GRU with linear_before_reset=1) over the columns."""

    def __init__(self, classes):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 12, 3, 2, 1), nn.ReLU())
        self.lstm = nn.LSTM(12, 8, bidirectional=True)
        self.gru = nn.GRU(16, 6, bidirectional=True)
        self.fc = nn.Linear(12, classes)

    def forward(self, x):
        seq = self.features(x).mean(dim=2).permute(2, 0, 1)  # [width, batch, channels]
        y, _ = self.lstm(seq)
        y, _ = self.gru(y)
        return self.fc(y).permute(1, 0, 2)


class Decoder(nn.Module):
    """A segmentation-style encoder-decoder: strided convs down, transposed convs up (stride 2 with
    padding, grouped with output_padding, dilated), then a sub-pixel PixelShuffle to twice the size."""

    def __init__(self, classes):
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU())
        self.up = nn.Sequential(
            nn.ConvTranspose2d(16, 12, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(12, 8, 3, stride=2, padding=1, output_padding=1, groups=4), nn.ReLU(),
            nn.ConvTranspose2d(8, 8, 3, stride=1, padding=2, dilation=2, bias=False), nn.ReLU())
        self.head = nn.Sequential(nn.Conv2d(8, classes * 4, 1), nn.PixelShuffle(2))

    def forward(self, x):
        return self.head(self.up(self.down(x)))


class TinyCNN(nn.Module):
    """Plain conv layers without BatchNorm (so the module's weights are the file's), for the dynamic
    quantization form: conv, depthwise conv, pointwise conv, pooled linear head."""

    def __init__(self, classes):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 1, 1, groups=8), nn.ReLU6(),
            nn.Conv2d(8, 16, 1), nn.ReLU(), nn.Conv2d(16, 24, 3, 2, 0, bias=False), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(24, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


class ScaledResNet(ResNet):
    """torchvision's ResNet with every stage width scaled (torchvision fixes 64/128/256/512)."""

    def __init__(self, layers, num_classes, base):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = base, 1, 1, 64
        self.conv1 = nn.Conv2d(3, base, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(Bottleneck, base, layers[0])
        self.layer2 = self._make_layer(Bottleneck, base * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(Bottleneck, base * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(Bottleneck, base * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(base * 8 * Bottleneck.expansion, num_classes)
        for m in self.modules():  # torchvision's init
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def build(arch, width_mult, depth, classes, seed):
    torch.manual_seed(seed)
    full = depth is None and width_mult == 1.0
    if arch == "mobilenet_v2":
        setting = copy.deepcopy(FULL_DEPTH[arch])
        if depth is not None:
            if len(depth) != len(setting):
                raise SystemExit(f"--depth for mobilenet_v2 needs {len(setting)} repeat counts")
            for row, n in zip(setting, depth):
                row[2] = n
        return torchvision.models.mobilenet_v2(weights=None, num_classes=classes, width_mult=width_mult,
                                               inverted_residual_setting=setting)
    if arch == "decoder":
        return Decoder(classes)
    if arch == "tiny_cnn":
        return TinyCNN(classes)
    if arch == "crnn":
        return CRNN(classes)
    layers = depth or FULL_DEPTH[arch]
    if len(layers) != 4:
        raise SystemExit(f"--depth for {arch} needs 4 stage depths")
    base = max(8, int(round(64 * width_mult)))
    if arch == "resnet50":
        if full:
            return torchvision.models.resnet50(weights=None, num_classes=classes)
        return ScaledResNet(layers, classes, base)
    if arch == "resnest101":
        return resnest(layers, classes, base)
    raise SystemExit(f"unknown architecture {arch!r}; one of {', '.join(ARCHS)}")


@torch.no_grad()
def calibrate_bn(model, seed, size, batches=2, batch=8):
    """Random affine BN parameters, then running statistics from seeded noise batches."""
    g = torch.Generator().manual_seed(seed + 1)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in bns:
        m.weight.copy_(0.75 + 0.5 * torch.rand(m.weight.shape, generator=g))
        m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    model.train()
    for _ in range(batches):
        model(torch.randn(batch, 3, size, size, generator=g))
    model.eval()
    for m in bns:
        if getattr(m, "pooled_only", False):
            m.reset_running_stats()  # identity statistics (mean 0, var 1)


def write_pb(path, array, name):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(array, name).SerializeToString())


def export(out, arch, width_mult=1.0, depth=None, classes=1000, sets=((1, 224, 224),), keep_bn=False, seed=0,
           form=None):
    torch.set_num_threads(1)  # reproducible reductions, bit-identical fixtures
    model = build(arch, width_mult, depth, classes, seed)
    calibrate_bn(model, seed, size=min(max(sets[0][1], sets[0][2]), 224))
    if form == "float16":
        forms.fuse_bn(model)  # the conv weights the file holds, so the reference rounds those
    os.makedirs(out, exist_ok=True)
    for stale in glob.glob(os.path.join(out, "test_data_set_*")):
        shutil.rmtree(stale)  # a rerun with fewer sets must not leave old references behind
    path = os.path.join(out, "model.onnx")
    example = torch.randn(1, 3, sets[0][1], sets[0][2], generator=torch.Generator().manual_seed(seed + 2))
    # In EVAL mode torch.onnx folds BatchNorm into the preceding Conv (its eval peephole pass);
    # PRESERVE with the module in eval mode skips that pass and keeps inference-mode
    # BatchNormalization nodes, so the engine's own Conv+BN fusion is exercised.
    mode = torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL
    torch.onnx.export(
        model, example, path, input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"}},
        opset_version=13, do_constant_folding=True, training=mode)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    if form == "float16":
        m = forms.to_float16(m)
    elif form == "dynamic_int8":
        m = forms.to_dynamic_int8(m)
    elif form is not None:
        raise SystemExit(f"unknown form {form!r}")
    if form is not None:
        onnx.save(m, path)
    ops = sorted({n.op_type for n in m.graph.node})
    n_bn = sum(n.op_type == "BatchNormalization" for n in m.graph.node)
    if keep_bn and n_bn == 0:
        raise SystemExit(f"{out}: --keep-bn export has no BatchNormalization node")
    ref = copy.deepcopy(model).double()
    if form == "float16":
        ref = forms.round_params_to_float16(ref)
    elif form == "dynamic_int8":
        ref = forms.dynamic_int8_reference(copy.deepcopy(model))
    params = sum(p.numel() for p in model.parameters())
    print(f"{out}: {arch} {params / 1e6:.3f} M params, {os.path.getsize(path) / 2**20:.2f} MiB, "
          f"{len(m.graph.node)} nodes, {n_bn} BatchNormalization; ops {' '.join(ops)}", flush=True)
    for k, (b, h, w) in enumerate(sets):
        x = torch.randn(b, 3, h, w, generator=torch.Generator().manual_seed(seed + 3 + k))
        if form == "float16":
            x = x.half().float()  # what a float16 input holds
        with torch.no_grad():
            y32 = model(x)
            y = ref(x).float() if form == "dynamic_int8" else ref(x.double()).float()
        if not torch.isfinite(y).all():
            raise SystemExit(f"{out}: non-finite output")
        err = ((y32 - y).abs().max() / y.abs().max()).item()
        # float32 rounding is a tiny perturbation: a well-conditioned network stays within ~1e-5 of
        # the float64 result. Far more means the random network is chaotic (see calibrate_bn), and
        # no engine could be held to a 1e-4 tolerance against it. Other forms are other models: the
        # figure printed is then how far the form moves the float32 model's outputs.
        if err > 1e-4 and form is None:
            raise SystemExit(f"{out}: float32 vs float64 PyTorch differ by {err:.2e} of max|y|: chaotic network")
        d = os.path.join(out, f"test_data_set_{k}")
        os.makedirs(d, exist_ok=True)
        io = np.float16 if form == "float16" else np.float32  # a float16 model's interface is float16
        write_pb(os.path.join(d, "input_0.pb"), x.numpy().astype(io), "input")
        write_pb(os.path.join(d, "output_0.pb"), y.numpy().astype(io), "logits")
        what = f"float32 model vs {form}" if form else "torch float32 vs float64"
        print(f"  test_data_set_{k}: input [{b},3,{h},{w}] -> logits {list(y.shape)}, max|y| "
              f"{y.abs().max().item():.4g}, std {y.std().item():.4g}; {what}: "
              f"max|diff|/max|y| = {err:.2e}", flush=True)


def parse_sets(batch, size, extra):
    def hw(s):
        parts = [int(p) for p in s.lower().split("x")]
        return (parts[0], parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    sets = [(batch, *hw(size))]
    for e in extra:
        b, rest = e.split(":", 1) if ":" in e else ("1", e)
        sets.append((int(b), *hw(rest)))
    return sets


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("arch", nargs="?", choices=ARCHS)
    p.add_argument("--out", help="output directory (model.onnx + test_data_set_*)")
    p.add_argument("--width-mult", type=float, default=1.0, help="channel width multiplier (default 1)")
    p.add_argument("--depth", help="comma-separated blocks per stage (4 for ResNets, 7 repeat counts for "
                                   "MobileNetV2); default: the full network")
    p.add_argument("--classes", type=int, default=1000, help="classifier outputs (default 1000)")
    p.add_argument("--size", default="224", help="input H or HxW of test_data_set_0 (default 224)")
    p.add_argument("--batch", type=int, default=1, help="batch of test_data_set_0 (default 1)")
    p.add_argument("--extra-set", action="append", default=[], metavar="[B:]H[xW]",
                   help="another test_data_set with this batch and size (repeatable)")
    p.add_argument("--keep-bn", action="store_true", help="keep BatchNormalization nodes (no folding)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--preset", choices=sorted(PRESETS), help="a committed fixture's recipe")
    p.add_argument("--fixtures", metavar="DIR", help="write every preset to DIR/<name>")
    a = p.parse_args()
    if a.fixtures:
        for name, kw in PRESETS.items():
            export(os.path.join(a.fixtures, name), seed=a.seed, **kw)
        return
    if not a.out:
        p.error("--out is required")
    if a.preset:
        export(a.out, seed=a.seed, **PRESETS[a.preset])
        return
    if not a.arch:
        p.error("an architecture is required")
    depth = [int(d) for d in a.depth.split(",")] if a.depth else None
    export(a.out, a.arch, a.width_mult, depth, a.classes, parse_sets(a.batch, a.size, a.extra_set),
           a.keep_bn, a.seed)


if __name__ == "__main__":
    main()
