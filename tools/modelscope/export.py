#!/usr/bin/python3
"""Export ModelScope's 万物识别-中文-通用领域 (damo/cv_resnest101_general_recognition: ResNeSt-101,
54,092 Chinese classes) from its PyTorch checkpoint to ONNX for wanwu, with its Chinese labels.

  export.py --model-dir DIR --out OUT [--size 224] [--labels-in sidecar|metadata|both]

DIR is the downloaded ModelScope model folder: pytorch_model.pt (the state dict, possibly wrapped in
{"state_dict": ...} or {"model": ...}, keys possibly prefixed "module."/"model.") and meta_info.txt (one
class per line, tab-separated, the Chinese label in column 1, as wanwu's label loader reads it). OUT gets

  model.onnx   input "input" [N,3,H,W] (batch and size dynamic), output "logits" [N,classes], opset 13
  model.json   the sidecar wanwu reads beside model.onnx: "preprocess" (Resize(256)/CenterCrop(224),
               ImageNet mean/std, as ModelScope's pipeline) and "labels" (the Chinese labels)
  test_data_set_0/{input_0,output_0}.pb   a seeded input and PyTorch's logits for it, to check a runtime

With --labels-in metadata the labels go into the ONNX file's metadata_props ("labels", one per line)
instead of (or, with both, as well as) the sidecar.

The checkpoint is loaded into tools/export_models/resnest.py (the ResNeSt-101 layout: deep stem, radix 2,
avd, avg_down) by position: the state dict's tensors, in order, must have exactly the shapes of the
module's, so key names need not match (ModelScope's follow zhanghang1989/ResNeSt); a count or shape that
differs stops the export naming the first mismatch. --random-checkpoint writes a stand-in DIR with random
weights (of a reduced width/depth if asked) and renamed keys, which is how the tests exercise this path
without the real weights (docs/modelscope.md).
"""
import argparse
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "export_models"))
from resnest import resnest  # noqa: E402

FULL_DEPTH = (3, 4, 23, 3)
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def read_labels(path):
    """Column 1 of each tab-separated line (column 0 when a line has no tab), as wanwu reads meta_info.txt."""
    labels = []
    with open(path, encoding="utf-8-sig") as f:
        for n, line in enumerate(f.read().rstrip("\n").split("\n"), 1):
            fields = line.rstrip("\r").split("\t")
            label = (fields[1] if len(fields) > 1 else fields[0]).strip()
            if not label:
                raise SystemExit(f"{path}: line {n}: empty label")
            labels.append(label)
    return labels


def load_state(path):
    state = torch.load(path, map_location="cpu")
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise SystemExit(f"{path}: not a state dict (a {type(state).__name__})")
    return [(k, v) for k, v in state.items() if torch.is_tensor(v) and not k.endswith("num_batches_tracked")]


def load_by_position(model, tensors, path):
    """Copy tensors into model's state dict in order, checking count and every shape."""
    target = [(k, v) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]
    if len(tensors) != len(target):
        raise SystemExit(f"{path}: {len(tensors)} tensors, the ResNeSt-101 layout has {len(target)} "
                         f"(depth {model.depths}, {model.fc.out_features} classes)")
    new = model.state_dict()
    for (src, s), (dst, d) in zip(tensors, target):
        if tuple(s.shape) != tuple(d.shape):
            raise SystemExit(f"{path}: {src} has shape {tuple(s.shape)}, but {dst} at that position "
                             f"needs {tuple(d.shape)}")
        new[dst] = s.to(d.dtype)
    model.load_state_dict(new)


def build(classes, width, depth):
    model = resnest(depth, classes, width)
    model.depths = depth
    return model


def random_checkpoint(out, classes, width, depth, seed):
    """A stand-in ModelScope folder: random weights, keys renamed as a foreign checkpoint's would be."""
    torch.manual_seed(seed)
    model = build(classes, width, depth)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(0.75 + 0.5 * torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
    os.makedirs(out, exist_ok=True)
    kept = [v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]
    state = {f"module.p{i}": v for i, v in enumerate(kept)}
    torch.save({"state_dict": state}, os.path.join(out, "pytorch_model.pt"))
    with open(os.path.join(out, "meta_info.txt"), "w", encoding="utf-8") as f:
        for i in range(classes):
            f.write(f"{i}\t类别{i}号\n")
    print(f"{out}: random checkpoint, {classes} classes, width {width}, depth {list(depth)}")


def export(model_dir, out, size, labels_in, width, depth, seed):
    labels = read_labels(os.path.join(model_dir, "meta_info.txt"))
    model = build(len(labels), width, depth)
    ckpt = os.path.join(model_dir, "pytorch_model.pt")
    load_by_position(model, load_state(ckpt), ckpt)
    model.eval()
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "model.onnx")
    example = torch.zeros(1, 3, size, size)
    torch.onnx.export(model, example, path, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"}},
                      opset_version=13, do_constant_folding=True)
    m = onnx.load(path)
    if labels_in in ("metadata", "both"):
        onnx.helper.set_model_props(m, {"labels": "\n".join(labels)})
        onnx.save(m, path)
    onnx.checker.check_model(path)
    sidecar = {"preprocess": {"resize": "shorter_crop", "resize_shorter": size * 256 // 224,
                              "width": size, "height": size, "mean": IMAGENET_MEAN, "std": IMAGENET_STD}}
    if labels_in in ("sidecar", "both"):
        sidecar["labels"] = labels
    import json
    with open(os.path.join(out, "model.json"), "w", encoding="utf-8") as f:
        json.dump(sidecar, f, ensure_ascii=False, indent=1)
    ref = os.path.join(out, "test_data_set_0")
    os.makedirs(ref, exist_ok=True)
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(seed + 2))
    with torch.no_grad():
        y = model(x)
    for name, t in (("input_0.pb", x), ("output_0.pb", y)):
        with open(os.path.join(ref, name), "wb") as f:
            f.write(numpy_helper.from_array(t.numpy().astype(np.float32)).SerializeToString())
    print(f"{out}: {len(labels)} classes, {os.path.getsize(path) / 2**20:.1f} MiB, labels in {labels_in}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", required=True, help="ModelScope folder: pytorch_model.pt and meta_info.txt")
    ap.add_argument("--out", help="output folder (model.onnx, model.json, test_data_set_0)")
    ap.add_argument("--size", type=int, default=224, help="crop size the sidecar and the reference use")
    ap.add_argument("--labels-in", choices=("sidecar", "metadata", "both"), default="sidecar")
    ap.add_argument("--width", type=int, default=64, help="base width (64: ResNeSt-101; less only for tests)")
    ap.add_argument("--depth", type=int, nargs=4, default=FULL_DEPTH, help="stage depths (3 4 23 3: ResNeSt-101)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--random-checkpoint", type=int, metavar="CLASSES",
                    help="write a random stand-in checkpoint with this many classes into --model-dir, then stop")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.random_checkpoint:
        random_checkpoint(a.model_dir, a.random_checkpoint, a.width, tuple(a.depth), a.seed)
        return
    if not a.out:
        ap.error("--out is required")
    export(a.model_dir, a.out, a.size, a.labels_in, a.width, tuple(a.depth), a.seed)


if __name__ == "__main__":
    main()
