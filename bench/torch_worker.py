#!/usr/bin/python3
"""PyTorch worker for the peer harness (harness.py): times ONE configuration in this process and prints
one line `RESULT {json}`. harness.py runs it in a fresh process under /usr/bin/time -v.

PyTorch cannot load ONNX, so the worker rebuilds the exported network from its recipe: the same
architecture code and seed as tools/export_models/export.py (torchvision's MobileNetV2/ResNet-50,
export.py's ResNeSt-101) gives the same initial weights, and the BatchNorm state that export.py
calibrated on noise is loaded from a cache that `--prepare` writes once (calibrating runs the network
in training mode at batch 8, which must not count in the benchmark's peak RSS). At 224x224 batch 1
the worker checks its logits against the exported reference output (test_data_set_0/output_0.pb),
so the weights are shown to be the ones in the ONNX file.

  /usr/bin/python3 bench/torch_worker.py --prepare --model resnet50 --models-dir models --cache DIR
  /usr/bin/python3 bench/torch_worker.py --model resnet50 --models-dir models --cache DIR \
      --size 224 --batch 1 --threads 2 [--warmup 5 --min-runs 20 --min-seconds 2 --max-seconds 30]

Always Debian's /usr/bin/python3 (python3-torch 1.13, as installed: its BLAS is whatever
libblas.so.3 points to; see docs/performance.md).
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools", "export_models"))

# model name in models/ -> (export.py architecture, classes), as make.d/models.mk exports them
RECIPES = {
    "mobilenet_v2": ("mobilenet_v2", 1000),
    "resnet50": ("resnet50", 1000),
    "resnest101_54k": ("resnest101", 54000),
}
SEED = 0  # export.py's default


def proc_status():
    d = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                d[k] = int(v.split()[0]) * 1024
    return d


def bn_cache(a):
    return os.path.join(a.cache, f"{a.model}.bn_state.pt")


def build(a):
    import export  # tools/export_models/export.py
    arch, classes = RECIPES[a.model]
    return export, export.build(arch, 1.0, None, classes, SEED)


def prepare(a):
    """Calibrate BatchNorm exactly as export.py does (one thread, same seeds) and cache its state."""
    import torch
    from torch import nn
    torch.set_num_threads(1)
    export, model = build(a)
    export.calibrate_bn(model, SEED, size=224)
    bn = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.BatchNorm2d):
            for k, v in m.state_dict().items():
                bn[f"{name}.{k}"] = v.clone()
    os.makedirs(a.cache, exist_ok=True)
    tmp = bn_cache(a) + ".tmp"
    torch.save(bn, tmp)
    os.replace(tmp, bn_cache(a))
    print(f"{a.model}: cached {len(bn)} BatchNorm tensors in {bn_cache(a)}", flush=True)


def worker(a):
    import numpy as np
    import torch
    from torch import nn
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    t0 = time.perf_counter()
    _, model = build(a)
    bn = torch.load(bn_cache(a))
    want = {f"{name}.{k}" for name, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)
            for k in m.state_dict()}
    if set(bn) != want:
        raise SystemExit(f"BatchNorm cache {bn_cache(a)} does not fit {a.model}: rerun --prepare")
    model.load_state_dict(bn, strict=False)
    del bn
    model.eval()
    load_ms = (time.perf_counter() - t0) * 1e3
    after_load = proc_status()
    res = {"framework": "pytorch", "version": torch.__version__, "size": a.size, "batch": a.batch,
           "threads": a.threads, "precision": "fp32", "load_ms": load_ms,
           "rss_after_load_bytes": after_load["VmRSS"]}
    ref_dir = os.path.join(a.models_dir, a.model, "test_data_set_0")
    with torch.inference_mode():
        if a.size == 224 and a.batch == 1 and os.path.exists(os.path.join(ref_dir, "output_0.pb")):
            from onnx import TensorProto, numpy_helper

            def read(p):
                t = TensorProto()
                with open(p, "rb") as f:
                    t.ParseFromString(f.read())
                return numpy_helper.to_array(t)
            x_ref, y_ref = read(os.path.join(ref_dir, "input_0.pb")), read(os.path.join(ref_dir, "output_0.pb"))
            if tuple(x_ref.shape) == (1, 3, 224, 224):
                y = model(torch.from_numpy(x_ref.copy())).numpy()
                res["check_rel_err"] = float(np.abs(y - y_ref).max() / np.abs(y_ref).max())
                res["check_argmax"] = bool(y.argmax() == y_ref.argmax())
        x = torch.randn(a.batch, 3, a.size, a.size, generator=torch.Generator().manual_seed(12345))
        for _ in range(a.warmup):
            model(x)
        times = []
        start = time.perf_counter()
        while True:
            t = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t) * 1e3)
            elapsed = time.perf_counter() - start
            if len(times) >= a.min_runs and elapsed >= a.min_seconds:
                break
            if elapsed >= a.max_seconds:
                break
    s = sorted(times)
    n = len(s)
    med = statistics.median(s)
    res.update({"min_ms": s[0], "median_ms": med, "p90_ms": s[-(-9 * n // 10) - 1], "max_ms": s[-1],
                "images_per_s": a.batch * 1000 / med, "runs": n, "peak_rss_bytes": proc_status()["VmHWM"]})
    print("RESULT " + json.dumps(res), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, choices=sorted(RECIPES))
    p.add_argument("--models-dir", required=True, help="the exported models (make models): DIR/<model>/")
    p.add_argument("--cache", required=True, help="where --prepare keeps the calibrated BatchNorm state")
    p.add_argument("--prepare", action="store_true", help="calibrate and cache BatchNorm state, then exit")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--min-runs", type=int, default=20)
    p.add_argument("--min-seconds", type=float, default=2.0)
    p.add_argument("--max-seconds", type=float, default=30.0)
    a = p.parse_args()
    if a.prepare:
        prepare(a)
    else:
        worker(a)


if __name__ == "__main__":
    main()
