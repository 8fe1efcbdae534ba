#!/usr/bin/python3
"""Predicted vs measured peak RSS (VmHWM) of `wanwu classify`, one fresh process per configuration.

For each configuration it asks `wanwu plan --format json` for the prediction (nothing is run), then runs
`wanwu classify` on one photo under /usr/bin/time and reads the process's maximum resident set size
(ru_maxrss = VmHWM at exit). Prints a Markdown table and the worst relative error.

    make models && go build -o bin/wanwu ./cmd/wanwu
    /usr/bin/python3 bench/memory/predicted_vs_measured.py [--bin bin/wanwu] [--photo ../shared/images/cat_720p.jpg]

The ResNeSt-101 54k model has no label file in the repository; the script writes a synthetic one
(54,000 names) so that --only can select 1,000 of them.
"""
import argparse, json, os, subprocess, sys, tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default="bin/wanwu")
ap.add_argument("--photo", default="../shared/images/cat_720p.jpg")
ap.add_argument("--models", default="models")
ap.add_argument("--quick", action="store_true", help="skip the ResNeSt-101 54k rows")
args = ap.parse_args()

tmp = tempfile.mkdtemp(prefix="wanwu-mem-")
labels54k = os.path.join(tmp, "labels54k.txt")
with open(labels54k, "w") as f:
    for i in range(54000):
        f.write(f"class{i:05d}\n")
only1000 = os.path.join(tmp, "only1000.txt")
with open(only1000, "w") as f:
    for i in range(0, 54000, 54):
        f.write(f"class{i:05d}\n")

def model(name):
    return os.path.join(args.models, name, "model.onnx")

# (label, model, size, precision, extra classify/plan flags)
configs = []
for m in ["mobilenet_v2", "resnet50"]:
    for size in [224, 160, 128]:
        configs.append((m, size, "fp32", []))
    configs.append((m, 224, "fp32", ["--only", "猫,狗,鹦鹉"]))
# The most threads allowed (4 per CPU): worker stacks are part of the prediction.
maxThreads = str(4 * os.cpu_count())
configs.append(("mobilenet_v2", 224, "fp32", ["--threads", maxThreads]))
configs.append(("resnet50", 224, "int8", ["--threads", maxThreads]))
sub1000 = ["--labels", labels54k, "--only-file", only1000, "--only-mode", "exact"]
configs.append(("resnet50", 128, "int8", []))
configs.append(("mobilenet_v2", 160, "int8", []))
configs.append(("resnet50", 224, "int8", ["--only", "猫,狗,鹦鹉"]))
if not args.quick:
    for size in [224, 128]:
        configs.append(("resnest101_54k", size, "fp32", []))
    configs.append(("resnest101_54k", 224, "fp32", sub1000))
    configs.append(("resnest101_54k", 224, "int8", []))
    configs.append(("resnest101_54k", 224, "int8", sub1000))
    configs.append(("resnest101_54k", 160, "int8", sub1000))
    configs.append(("resnest101_54k", 224, "fp16", []))
# int8/fp16 rows join automatically once `wanwu plan` lists those precisions for a model.
plans = {}
for m in ["mobilenet_v2", "resnet50"]:
    out = subprocess.run([args.bin, "plan", "--model", model(m), "--budget", "1TiB", "--format", "json", "--size", "224"],
                         capture_output=True, text=True, check=True).stdout
    for c in json.loads(out)["candidates"]:
        if c["precision"] != "fp32":
            configs.append((m, 224, c["precision"], []))

rows, worst = [], 0.0
for m, size, prec, extra in configs:
    common = ["--model", model(m), "--size", str(size), "--precision", prec] + extra
    plan = subprocess.run([args.bin, "plan", "--budget", "1TiB", "--format", "json", "--photo", args.photo] + common,
                          capture_output=True, text=True)
    if plan.returncode != 0:
        print(f"plan failed for {m} {size} {prec}: {plan.stderr}", file=sys.stderr)
        continue
    cand = json.loads(plan.stdout)["candidates"][0]
    run = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M", args.bin, "classify", "--budget", "1TiB"] + common + [args.photo],
                         capture_output=True, text=True)
    if run.returncode != 0:
        print(f"classify failed for {m} {size} {prec}: {run.stderr}", file=sys.stderr)
        continue
    kb = int([l for l in run.stderr.splitlines() if l.startswith("MAXRSS")][-1].split()[1])
    measured = kb * 1024
    pred = cand["predicted_peak_bytes"]
    err = (pred - measured) / measured
    worst = max(worst, abs(err))
    subset = "3 queries" if "--only" in extra else ("1000 of 54k" if "--only-file" in extra else "all")
    rows.append(f"| {m} | {prec} | {size} | {cand['threads']} | {cand['labels']} ({subset}) | {pred/2**20:.1f} | {measured/2**20:.1f} | {100*err:+.1f}% |")
    print(rows[-1], file=sys.stderr)

print("| model | precision | size | threads | labels | predicted MiB | measured VmHWM MiB | error |")
print("|---|---|---|---|---|---:|---:|---:|")
print("\n".join(rows))
print(f"\n{len(rows)} configurations, worst |error| {100*worst:.1f}% (photo {os.path.basename(args.photo)}, batch 1)")
