#!/usr/bin/python3
"""Zoo check: export many torchvision classifiers to ONNX and run each through `wanwu run`.

One command (not part of CI; minutes, several hundred MB under --out):
  /usr/bin/python3 tools/zoo_check/zoo.py [--out DIR] [--opsets 11,13,17] [--only NAME,...] [--wanwu BIN]

For every model x opset it writes an ONNX backend-test case directory
  OUT/<model>_op<N>/model.onnx, test_data_set_K/{input_0.pb,output_0.pb}
with seeded random weights (no internet: no pretrained weights), eval mode, BatchNorm statistics
calibrated on noise (tools/export_models/export.py's calibrate_bn) and zero-initialised parameters
(ViT's head, biases) replaced by small random values so nothing is trivially zero. References are
PyTorch's output computed in float64 from the float32 weights. Sets: 0 = batch 1 at the base size,
1 = batch 2 (the dynamic batch axis), 2 = batch 1 at another spatial size (models whose export keeps
H/W dynamic). Each set is run with `wanwu run` and compared: max|y - ref| <= 1e-4 * max|ref| and the
same argmax per batch row. One line per model/opset/set:
  PASS / FAIL <reason> / UNSUPPORTED <reason> (the engine rejects the model, e.g. an op it lacks) /
  SKIP <reason> (torch cannot export the model at that opset).
Exports are cached: a directory whose model.onnx and references exist is reused (--force redoes it).
"""
import argparse
import copy
import os
import shutil
import subprocess
import sys
import time
import traceback
import warnings

import numpy as np
import onnx
import torch
import torchvision.models as tvm
from onnx import numpy_helper
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "export_models"))
from export import calibrate_bn, write_pb  # noqa: E402

warnings.filterwarnings("ignore")


def vgg11_small(classes):
    # VGG-11's layer pattern at 1/4 width with a narrow classifier: the real one is 133 M parameters.
    from torchvision.models.vgg import VGG, make_layers
    cfg = [16, "M", 32, "M", 64, 64, "M", 128, 128, "M", 128, 128, "M"]
    m = VGG(make_layers(cfg), num_classes=classes)
    m.classifier = nn.Sequential(nn.Linear(128 * 7 * 7, 256), nn.ReLU(True), nn.Dropout(),
                                 nn.Linear(256, 256), nn.ReLU(True), nn.Dropout(), nn.Linear(256, classes))
    return m


def alexnet_small(classes):
    m = tvm.alexnet(num_classes=classes)
    m.classifier = nn.Sequential(nn.Dropout(), nn.Linear(256 * 6 * 6, 256), nn.ReLU(True), nn.Dropout(),
                                 nn.Linear(256, 256), nn.ReLU(True), nn.Linear(256, classes))
    return m


def convnext_small(classes):
    from torchvision.models.convnext import ConvNeXt, CNBlockConfig
    cfg = [CNBlockConfig(24, 48, 2), CNBlockConfig(48, 96, 2), CNBlockConfig(96, 192, 2), CNBlockConfig(192, None, 1)]
    return ConvNeXt(cfg, num_classes=classes)


def vit_small(classes):
    from torchvision.models.vision_transformer import VisionTransformer
    return VisionTransformer(image_size=64, patch_size=16, num_layers=2, num_heads=4, hidden_dim=64,
                             mlp_dim=128, num_classes=classes)


def swin_small(classes):
    from torchvision.models.swin_transformer import SwinTransformer
    return SwinTransformer(patch_size=[4, 4], embed_dim=32, depths=[2, 2], num_heads=[2, 4],
                           window_size=[4, 4], stochastic_depth_prob=0.0, num_classes=classes)


def wide_resnet_small(classes):
    # wide_resnet50_2's bottleneck (width_per_group=128) with one block per stage (full: 69 M params).
    from torchvision.models.resnet import Bottleneck, ResNet
    return ResNet(Bottleneck, [1, 1, 1, 1], width_per_group=128, num_classes=classes)


class SamePadConv(nn.Conv2d):
    """TensorFlow 'SAME' padding computed from the input size at run time (timm's Conv2dSame):
    exports as Shape/Gather/arithmetic feeding Pad, which must fold once the input size is known."""

    def forward(self, x):
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        sh, sw = self.stride
        ph = max((ih + sh - 1) // sh * sh - sh + kh - ih, 0)  # timm's get_same_padding
        pw = max((iw + sw - 1) // sw * sw - sw + kw - iw, 0)
        x = nn.functional.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return super().forward(x)


class MixNet(nn.Module):
    """Layers user models have that torchvision's classifiers lack: GroupNorm (exported through
    InstanceNormalization), dynamic SAME padding, PReLU, ELU, Mish, tanh-GELU, Softplus, SELU,
    a mean-over-HW head and a LogSoftmax output."""

    def __init__(self, classes):
        super().__init__()
        self.body = nn.Sequential(
            SamePadConv(3, 16, 3, 2), nn.GroupNorm(4, 16), nn.PReLU(16),
            SamePadConv(16, 32, 5, 2), nn.GroupNorm(8, 32), nn.ELU(),
            nn.Conv2d(32, 32, 3, padding=1, groups=32), nn.BatchNorm2d(32), nn.Mish(),
            nn.Conv2d(32, 48, 1), nn.GELU(approximate="tanh"),
            nn.Conv2d(48, 48, 3, padding=1), nn.Softplus(), nn.Conv2d(48, 64, 1), nn.SELU())
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        # LogSoftmax over the logits times 10: a plain log_softmax of near-uniform random logits is
        # ~-log(1000) everywhere and would hide errors in the tolerance.
        return torch.log_softmax(10 * self.fc(self.body(x).mean((2, 3))), dim=1)


# name -> (constructor(classes), base size, other size or None when the export fixes H/W)
MODELS = {
    "resnet18": (lambda c: tvm.resnet18(num_classes=c), 64, 72),
    "resnet50": (lambda c: tvm.resnet50(num_classes=c), 64, 80),
    "resnext50_32x4d": (lambda c: tvm.resnext50_32x4d(num_classes=c), 64, 72),
    "wide_resnet50_2_d1": (wide_resnet_small, 64, 72),
    "mobilenet_v2": (lambda c: tvm.mobilenet_v2(num_classes=c), 64, 72),
    "mobilenet_v3_small": (lambda c: tvm.mobilenet_v3_small(num_classes=c), 64, 96),
    "mobilenet_v3_large": (lambda c: tvm.mobilenet_v3_large(num_classes=c), 64, 72),
    "efficientnet_b0": (lambda c: tvm.efficientnet_b0(num_classes=c), 64, 72),
    "regnet_y_400mf": (lambda c: tvm.regnet_y_400mf(num_classes=c), 64, 72),
    "squeezenet1_1": (lambda c: tvm.squeezenet1_1(num_classes=c), 64, 72),
    "densenet121": (lambda c: tvm.densenet121(num_classes=c), 64, 72),
    "shufflenet_v2_x1_0": (lambda c: tvm.shufflenet_v2_x1_0(num_classes=c), 64, 96),
    "googlenet": (lambda c: tvm.googlenet(num_classes=c, aux_logits=False, init_weights=True), 64, 72),
    "inception_v3": (lambda c: tvm.inception_v3(num_classes=c, aux_logits=False, init_weights=True), 75, 99),
    "mnasnet0_5": (lambda c: tvm.mnasnet0_5(num_classes=c), 64, 72),
    # AdaptiveAvgPool2d(7)/(6) exports only where the feature map divides evenly, as a fixed AveragePool.
    "alexnet_small": (alexnet_small, 224, None),
    "vgg11_small": (vgg11_small, 224, None),
    "convnext_small": (convnext_small, 64, 96),
    "vit_small": (vit_small, 64, None),
    "swin_small": (swin_small, 64, None),
    "mixnet_custom": (MixNet, 64, 75),
}


@torch.no_grad()
def randomize(model, seed):
    """Make zero or near-constant parameters random so every branch matters."""
    g = torch.Generator().manual_seed(seed + 7)
    for name, p in model.named_parameters():
        if "layer_scale" in name:  # ConvNeXt's 1e-6 layer scale would hide the residual branch
            p.copy_(0.3 + 0.4 * torch.rand(p.shape, generator=g))
        elif p.dim() >= 1 and torch.count_nonzero(p) == 0:  # zero biases, ViT's zero head/class token
            p.copy_(0.05 * torch.randn(p.shape, generator=g))
    for m in model.modules():
        if isinstance(m, nn.LayerNorm) and m.elementwise_affine:
            m.weight.copy_(0.75 + 0.5 * torch.rand(m.weight.shape, generator=g))


def export(name, opset, out, classes, seed, force, fold=True):
    ctor, size, size2 = MODELS[name]
    d = os.path.join(out, f"{name}_op{opset}" + ("" if fold else "_nofold"))
    sets = [(1, size, size), (2, size, size)]
    if size2:
        sets.append((1, size2, size2 - 8 if size2 > 72 else size2))
    done = os.path.join(d, "done")
    if os.path.exists(done) and not force:
        return d, len(sets), open(done).read().strip()
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    torch.manual_seed(seed)
    model = ctor(classes)
    randomize(model, seed)
    calibrate_bn(model, seed, size=size)
    model.eval()
    example = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(seed + 2))
    axes = {0: "batch", 2: "height", 3: "width"} if size2 else {0: "batch"}
    path = os.path.join(d, "model.onnx")
    torch.onnx.export(model, example, path, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": axes, "logits": {0: "batch"}}, opset_version=opset,
                      do_constant_folding=fold)
    m = onnx.load(path)
    ops = sorted({n.op_type for n in m.graph.node})
    ref = copy.deepcopy(model).double()
    notes = []
    for k, (b, h, w) in enumerate(sets):
        x = torch.randn(b, 3, h, w, generator=torch.Generator().manual_seed(seed + 3 + k))
        with torch.no_grad():
            y = ref(x.double()).float()
            y32 = model(x)
        chaos = ((y32 - y).abs().max() / y.abs().max()).item()
        notes.append(f"{chaos:.1e}")
        sd = os.path.join(d, f"test_data_set_{k}")
        os.makedirs(sd)
        write_pb(os.path.join(sd, "input_0.pb"), x.numpy(), "input")
        write_pb(os.path.join(sd, "output_0.pb"), y.numpy(), "logits")
    info = f"ops={','.join(ops)} torch32vs64={'/'.join(notes)}"
    with open(done, "w") as f:
        f.write(info + "\n")
    return d, len(sets), info


def compare(got, want):
    if got.shape != want.shape:
        return f"shape {list(got.shape)} want {list(want.shape)}"
    scale = float(np.abs(want).max())
    err = float(np.abs(got.astype(np.float64) - want).max())
    if not np.isfinite(got).all():
        return "non-finite output"
    flat_g, flat_w = got.reshape(got.shape[0], -1), want.reshape(want.shape[0], -1)
    if (flat_g.argmax(1) != flat_w.argmax(1)).any():
        return f"argmax differs (err {err / scale:.2e} of max|y|)"
    if err > 1e-4 * scale:
        return f"max|err| {err:.3g} = {err / scale:.2e} of max|y| {scale:.3g}"
    return None, err / scale


def torch_errs(info):
    """PyTorch's own float32 error per set, from the export's info line."""
    for f in info.split():
        if f.startswith("torch32vs64="):
            return f.split("=", 1)[1].split("/")
    return []


def run_case(wanwu, d, k, timeout):
    sd = os.path.join(d, f"test_data_set_{k}")
    od = os.path.join(sd, "wanwu")
    shutil.rmtree(od, ignore_errors=True)
    cmd = [wanwu, "run", "--model", os.path.join(d, "model.onnx"), "--input",
           "input=" + os.path.join(sd, "input_0.pb"), "--output-dir", od]
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "FAIL", f"timeout after {timeout}s"
    dt = time.time() - t0
    if p.returncode != 0:
        msg = " ".join((p.stderr or p.stdout).strip().split())[:400]
        kind = "UNSUPPORTED" if "unsupported" in msg.lower() or "not supported" in msg.lower() else "FAIL"
        return kind, msg
    got = numpy_helper.to_array(onnx.load_tensor(os.path.join(od, "logits.pb")))
    want = numpy_helper.to_array(onnx.load_tensor(os.path.join(sd, "output_0.pb")))
    r = compare(got, want)
    if isinstance(r, str):
        return "FAIL", r
    return "PASS", f"err {r[1]:.1e} of max|y|, {dt:.1f}s"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(ROOT, "models", "zoo"), help="export directory (git-ignored)")
    p.add_argument("--opsets", default="11,13,17")
    p.add_argument("--only", help="comma-separated model names (default: all)")
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--wanwu", help="wanwu binary (default: go build -o bin/wanwu ./cmd/wanwu first)")
    p.add_argument("--force", action="store_true", help="re-export even when cached")
    p.add_argument("--timeout", type=int, default=300, help="seconds per wanwu run")
    p.add_argument("--list", action="store_true", help="list model names and exit")
    p.add_argument("--no-fold", action="store_true",
                   help="export with do_constant_folding=False (unfolded shape arithmetic and BatchNorm, "
                        "as some users export)")
    a = p.parse_args()
    if a.list:
        print("\n".join(MODELS))
        return
    torch.set_num_threads(2)
    wanwu = a.wanwu
    if not wanwu:
        wanwu = os.path.join(ROOT, "bin", "wanwu")
        subprocess.run(["go", "build", "-o", wanwu, "./cmd/wanwu"], cwd=ROOT, check=True)
    names = a.only.split(",") if a.only else list(MODELS)
    for n in names:
        if n not in MODELS:
            raise SystemExit(f"unknown model {n!r}; --list shows them")
    counts = {}
    for name in names:
        for opset in [int(o) for o in a.opsets.split(",")]:
            label = f"{name + ('/nofold' if a.no_fold else ''):<25} op{opset:<3}"
            try:
                d, nsets, info = export(name, opset, a.out, a.classes, a.seed, a.force, fold=not a.no_fold)
            except Exception as e:  # torch cannot export this model at this opset
                msg = " ".join(str(e).split())[:300] or traceback.format_exc(limit=1)
                print(f"{label} -     SKIP export failed: {type(e).__name__}: {msg}", flush=True)
                counts["SKIP"] = counts.get("SKIP", 0) + 1
                continue
            for k in range(nsets):
                b, _, h, w = numpy_helper.to_array(onnx.load_tensor(
                    os.path.join(d, f"test_data_set_{k}", "input_0.pb"))).shape
                status, why = run_case(wanwu, d, k, a.timeout)
                counts[status] = counts.get(status, 0) + 1
                te = torch_errs(info)
                if status in ("PASS", "FAIL") and k < len(te):
                    # PyTorch's own float32 run against the same float64 reference: an engine error of
                    # the same size means an ill-conditioned random network, not an engine bug.
                    why += f" (torch f32: {te[k]})"
                print(f"{label} {b}x{h}x{w:<4} {status:<11} {why}", flush=True)
                if status == "UNSUPPORTED":
                    break  # every set fails the same way
    print("zoo: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
