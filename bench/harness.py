#!/usr/bin/python3
"""Peer harness: wanwu vs ONNX Runtime (onnxruntime-node, CPU) vs PyTorch on the same machine, in one run.

Every (framework, model, size, batch, threads) configuration runs in a fresh process under
/usr/bin/time -v: peak RSS is its "Maximum resident set size" (loading included), latency the median
of the timed runs after warm-up. The three frameworks run back to back for each configuration, so a
change in machine load hits them alike. Before each process the harness waits (bounded) until the
other processes on the machine are idle, and it records how much CPU they used while it ran
("other CPU", in cores); a contaminated configuration is retried and the cleanest attempt kept.

Usually started by bench/run.sh (which builds bin/wanwu, exports the models and installs
onnxruntime-node first). Directly:

  /usr/bin/python3 bench/harness.py [--quick] [--models a,b] [--sizes 224,160] [--threads 1,2] ...
  /usr/bin/python3 bench/harness.py --report bench/results/latest.json [--markdown]   # re-print a table

Results: bench/results/<UTC time>.json (+ latest.json, latest.md), git-ignored.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = ["mobilenet_v2", "resnet50", "resnest101_54k"]
FRAMEWORKS = ["wanwu", "ort", "torch", "wanwu-int8", "wanwu-int8s"]
FW_NAME = {"wanwu": "wanwu", "ort": "ONNX Runtime", "torch": "PyTorch",
           "wanwu-int8": "wanwu int8 (dynamic activations)", "wanwu-int8s": "wanwu int8 (static, --calibrate)"}
# wanwu's int8 rows, printed as extra columns beside the fp32 table when a run has them.
INT8 = ["wanwu-int8", "wanwu-int8s"]
MiB = 1 << 20


# ---- machine load --------------------------------------------------------------------------------

def cpu_ticks():
    """Machine-wide busy and steal CPU ticks (USER_HZ = 100 per second) from /proc/stat. Steal is time
    the hypervisor gave this VM's vCPUs to someone else: load the guest cannot see as processes."""
    with open("/proc/stat") as f:
        v = [int(t) for t in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = v[:8]
    return user + nice + system + irq + softirq, steal


def busy_ticks():
    return cpu_ticks()[0]


def wait_idle(max_other, max_wait, deadline):
    """Wait until the machine's busy CPU stays below max_other cores for 3 consecutive seconds, at
    most max_wait seconds (and not past the shared deadline). Returns the seconds waited, or -1 if
    the machine never went quiet."""
    t0 = time.time()
    limit = max(0.0, min(max_wait, deadline - t0))
    quiet = 0
    while time.time() - t0 < limit:
        b0 = busy_ticks()
        time.sleep(1.0)
        quiet = quiet + 1 if (busy_ticks() - b0) / 100.0 < max_other else 0
        if quiet >= 3:
            return round(time.time() - t0, 1)
    return -1.0


# ---- one process -----------------------------------------------------------------------------------

def timed_process(cmd, env=None):
    """Runs cmd under /usr/bin/time -v. Returns (stdout, stderr, returncode, peak RSS bytes, other CPU
    cores used on the machine while it ran, wall seconds, cores stolen by the hypervisor)."""
    (b0, s0), w0 = cpu_ticks(), time.time()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    wall = time.time() - w0
    b1, s1 = cpu_ticks()
    busy = (b1 - b0) / 100.0

    def field(name):
        m = re.search(re.escape(name) + r": (\S+)", p.stderr)
        return m.group(1) if m else None
    rss = field("Maximum resident set size (kbytes)")
    own = sum(float(field(k) or 0) for k in ("User time (seconds)", "System time (seconds)"))
    other = max(0.0, busy - own) / wall if wall > 0 else 0.0
    steal = (s1 - s0) / 100.0 / wall if wall > 0 else 0.0
    return p.stdout, p.stderr, p.returncode, int(rss) * 1024 if rss else None, other, wall, steal


def command(fw, cfg, a):
    model = os.path.join(a.models_dir, cfg["model"], "model.onnx")
    common = ["--size", str(cfg["size"]), "--batch", str(cfg["batch"]), "--threads", str(cfg["threads"])]
    if fw.startswith("wanwu"):
        extra = []
        if fw in INT8:
            extra = ["--precision", "int8"]
        if fw == "wanwu-int8s":
            extra += ["--calibrate", a.calibrate]
        return [a.wanwu, "bench", "--model", model, *common, *extra, "--format", "json", "--warmup", str(a.warmup),
                "--iters", str(a.min_runs), "--min-time", f"{a.min_seconds}s", "--max-time", f"{a.max_seconds}s"]
    loop = ["--warmup", str(a.warmup), "--min-runs", str(a.min_runs), "--min-seconds", str(a.min_seconds),
            "--max-seconds", str(a.max_seconds)]
    if fw == "ort":
        return ["node", os.path.join(HERE, "ort_worker.mjs"), "--model", model, *common, *loop]
    return ["/usr/bin/python3", os.path.join(HERE, "torch_worker.py"), "--model", cfg["model"],
            "--models-dir", a.models_dir, "--cache", a.cache, *common, *loop]


def run_config(fw, cfg, a, deadline):
    best = None
    for attempt in range(1, a.attempts + 1):
        waited = wait_idle(a.max_other, a.quiet_wait, deadline)
        cmd = command(fw, cfg, a)
        if a.nice:
            cmd = ["nice", "-n", str(a.nice)] + cmd  # nice execs the command: time -v still sees it
        out, err, rc, rss, other, wall, steal = timed_process(cmd)
        r = dict(cfg, framework=fw, attempt=attempt, idle_wait_s=waited, other_cpu_cores=round(other, 3),
                 steal_cores=round(steal, 3), process_wall_s=round(wall, 2))
        res = None
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("RESULT "):
                line = line[7:]
            if line.startswith("{"):
                try:
                    res = json.loads(line)
                except json.JSONDecodeError:
                    pass
        if rc != 0 or res is None:
            tail = "\n".join((err or out).strip().splitlines()[-4:])
            r["error"] = f"exit {rc}: {tail}"[-600:]
        else:
            res.pop("model", None)
            r.update({k: v for k, v in res.items() if k not in r})
            r["worker_peak_rss_bytes"] = res.get("peak_rss_bytes")
        r["peak_rss_bytes"] = rss  # /usr/bin/time -v for every framework alike
        if best is None or other < best["other_cpu_cores"]:
            best = r
        if "error" in r or other <= a.max_other or time.time() > deadline:
            break
    return best


# ---- correctness of wanwu's output ------------------------------------------------------------

def check_wanwu(model, a):
    """wanwu's logits for the exporter's reference input vs PyTorch's float64 reference output."""
    d = os.path.join(a.models_dir, model, "test_data_set_0")
    if not os.path.exists(os.path.join(d, "output_0.pb")):
        return None
    import numpy as np
    from onnx import TensorProto, numpy_helper

    def read(p):
        t = TensorProto()
        with open(p, "rb") as f:
            t.ParseFromString(f.read())
        return numpy_helper.to_array(t)
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.run([a.wanwu, "run", "--model", os.path.join(a.models_dir, model, "model.onnx"),
                            "--input", os.path.join(d, "input_0.pb"), "--output-dir", tmp],
                           capture_output=True, text=True)
        if p.returncode != 0:
            return {"error": p.stderr.strip()[-300:]}
        y = read(os.path.join(tmp, "logits.pb"))
    ref = read(os.path.join(d, "output_0.pb"))
    return {"rel_err": float(np.abs(y - ref).max() / np.abs(ref).max()), "argmax": bool(y.argmax() == ref.argmax())}


# ---- tables -------------------------------------------------------------------------------------

def ratio(x, y):
    return f"{x / y:.2f}" if x and y else "–"


def ms(r, max_other, stat):
    if r is None:
        return "–"
    if "error" in r:
        return "error"
    flag = "*" if r.get("other_cpu_cores", 0) > max_other else ""
    return f"{r[stat]:.2f}{flag}"


def mib(r):
    return f"{r['peak_rss_bytes'] / MiB:.0f}" if r and r.get("peak_rss_bytes") and "error" not in r else "–"


def combine(rows):
    """One figure per configuration and framework from its rounds (--rounds): the median of the rounds'
    medians (and p90s), the minimum of their minima, the largest peak RSS and load; an error if any round
    failed."""
    if len(rows) == 1:
        return rows[0]
    bad = [r for r in rows if "error" in r]
    if bad:
        return bad[0]
    out = dict(rows[0])
    for k in ("median_ms", "p90_ms"):
        out[k] = statistics.median(r[k] for r in rows)
    out["min_ms"] = min(r["min_ms"] for r in rows)
    for k in ("peak_rss_bytes", "other_cpu_cores"):
        vals = [r[k] for r in rows if r.get(k) is not None]
        out[k] = max(vals) if vals else None
    out["rounds"] = len(rows)
    return out


def paired(runs, a, b, key):
    """a/b of key for one configuration: with rounds, the median over the rounds of the ratio within
    each round (the two processes of a round ran minutes apart at most, under the same load); else the
    plain ratio. None when either side is missing or failed."""
    ra = {r.get("round"): r for r in runs.get(a, []) if "error" not in r and r.get(key)}
    rb = {r.get("round"): r for r in runs.get(b, []) if "error" not in r and r.get(key)}
    both = sorted(set(ra) & set(rb), key=lambda x: x or 0)
    if not both or any("error" in r for r in runs.get(a, []) + runs.get(b, [])):
        return None
    return statistics.median(ra[k][key] / rb[k][key] for k in both)


def fratio(x):
    return f"{x:.2f}" if x else "–"


def table(doc, markdown, stat="median_ms"):
    by = {}
    mo = doc["settings"]["max_other"]
    rounds = {}
    for r in doc["results"]:
        rounds.setdefault((r["model"], r["size"], r["batch"], r["threads"]), {}).setdefault(r["framework"], []).append(r)
    for key, f in rounds.items():
        by[key] = {fw: combine(rows) for fw, rows in f.items()}
    head = ["model", "size", "batch", "threads", "wanwu ms", "ORT ms", "PyTorch ms", "wanwu/ORT", "wanwu/PyTorch",
            "wanwu MiB", "ORT MiB", "PyTorch MiB", "RSS wanwu/ORT", "RSS wanwu/PyTorch"]
    extra = [fw for fw in INT8 if any(r["framework"] == fw for r in doc["results"])]
    for fw in extra:
        head += [fw + " ms", fw + "/ORT", fw + " MiB"]
    rows = []
    for key in sorted(by, key=lambda k: (MODELS.index(k[0]) if k[0] in MODELS else 9, -k[1], k[2], k[3])):
        f = by[key]
        w, o, t = f.get("wanwu"), f.get("ort"), f.get("torch")

        def v(r, k):
            return r.get(k) if r and "error" not in r else None
        rr = rounds[key]
        rows.append([key[0], str(key[1]), str(key[2]), str(key[3]), ms(w, mo, stat), ms(o, mo, stat), ms(t, mo, stat),
                     fratio(paired(rr, "wanwu", "ort", stat)), fratio(paired(rr, "wanwu", "torch", stat)),
                     mib(w), mib(o), mib(t),
                     ratio(v(w, "peak_rss_bytes"), v(o, "peak_rss_bytes")),
                     ratio(v(w, "peak_rss_bytes"), v(t, "peak_rss_bytes"))])
        for fw in extra:
            q = f.get(fw)
            rows[-1] += [ms(q, mo, stat), fratio(paired(rr, fw, "ort", stat)), mib(q)]
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if i < 1 else "---:" for i in range(len(head))) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        widths = [max(len(x) for x in col) for col in zip(head, *rows)]
        out = ["  ".join(c.rjust(wd) if i else c.ljust(wd) for i, (c, wd) in enumerate(zip(r, widths)))
               for r in [head] + rows]
    notes = [f"latency: {stat[:-3]} ms per run of the whole batch; RSS: peak resident set of the process "
             "(/usr/bin/time -v), loading included; ratios < 1 mean wanwu is faster / smaller."]
    n = max((len(rows) for f in rounds.values() for rows in f.values()), default=1)
    if n > 1:
        notes.append(f"{n} rounds, interleaved: every round runs each configuration in every framework, the "
                     "frameworks' order reversed from one round to the next; per configuration and framework the "
                     "table gives the median of the rounds' medians (the minimum of their minima with --stat min) "
                     "and the largest peak RSS, and a latency ratio is the median over the rounds of the ratio "
                     "within each round (the two processes of a round ran under the same load).")
    if any(r.get("other_cpu_cores", 0) > doc["settings"]["max_other"] for r in doc["results"]):
        notes.append(f"* other processes used more than {doc['settings']['max_other']} cores during that run "
                     "(timing contaminated by machine load).")
    checks = doc.get("wanwu_checks") or {}
    for m, c in checks.items():
        if c and "error" in c:
            notes.append(f"wanwu output check {m}: ERROR {c['error']}")
        elif c:
            notes.append(f"wanwu output check {m} (224, vs PyTorch float64 reference): max|diff|/max|ref| = "
                         f"{c['rel_err']:.1e}, argmax {'matches' if c['argmax'] else 'DIFFERS'}")
    tc = [r["check_rel_err"] for r in doc["results"] if r.get("check_rel_err") is not None]
    if tc:
        notes.append(f"PyTorch rebuild vs the exported reference output (224): max|diff|/max|ref| <= {max(tc):.1e}, "
                     f"argmax {'matches' if all(r.get('check_argmax') for r in doc['results'] if 'check_argmax' in r) else 'DIFFERS'}"
                     " (same weights as the ONNX file)")
    pn = peak_note(doc)
    if pn:
        notes.append(pn)
    m = doc.get("machine") or {}
    if m:
        notes.append(f"machine: {m.get('cpus')} CPUs ({m.get('cpu')}); wanwu at {m.get('git_commit')}"
                     f"{' + uncommitted changes' if m.get('git_dirty') else ''}; onnxruntime-node "
                     f"{m.get('onnxruntime_node') or '?'}; PyTorch {m.get('torch')}; run started {doc.get('started')}")
    errs = [r for r in doc["results"] if "error" in r]
    for r in errs:
        notes.append(f"error {r['framework']} {r['model']} {r['size']} b{r['batch']} t{r['threads']}: "
                     + r["error"].replace("\n", " / "))
    sep = "\n\n" if markdown else "\n"
    return "\n".join(out) + "\n" + sep + sep.join(notes) + "\n"


def machine_info(a):
    info = {"platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*: (.*)", f.read())
            info["cpu"] = m.group(1).strip() if m else None
        with open("/proc/meminfo") as f:
            info["mem_total_kb"] = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
    except OSError:
        pass

    def out(cmd, cwd=ROOT):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=cwd).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
    info["wanwu"] = out([a.wanwu, "version"])
    info["git_commit"] = out(["git", "rev-parse", "--short=12", "HEAD"])
    # others' uncommitted work (kernels in progress) is part of what `make build` compiled
    info["git_dirty"] = bool(out(["git", "status", "--porcelain", "--untracked-files=no"]))
    info["node"] = out(["node", "--version"])
    info["onnxruntime_node"] = out(["node", "-e", "console.log(require('onnxruntime-node/package.json').version)"],
                                   cwd=HERE)
    info["torch"] = out(["/usr/bin/python3", "-c", "import torch; print(torch.__version__)"])
    return info


def cpu_peak(a):
    """Compiles and runs ../shared/bench/cpu_peak.c (the FMA-peak yardstick the issues quote) and returns its
    JSON: the clock and the fp32 FMA peak at 1..N threads, or {"error": ...}. Run before and after the
    benchmarks so every figure in the table has the machine's measured peak of the same session beside it."""
    if not a.cpu_peak:
        return None
    binary = os.path.join(a.cache, "cpu_peak")
    try:
        os.makedirs(a.cache, exist_ok=True)
        if not os.path.exists(binary) or os.path.getmtime(binary) < os.path.getmtime(a.cpu_peak):
            subprocess.run(["gcc", "-O2", "-mavx512f", "-fopenmp", a.cpu_peak, "-o", binary], check=True,
                           capture_output=True, text=True)
        out = subprocess.run([binary], check=True, capture_output=True, text=True, timeout=300).stdout
        return json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        return {"error": str(getattr(e, "stderr", "") or e).strip()}


def peak_note(doc):
    runs = [r for r in doc.get("cpu_peak") or [] if r and "error" not in r]
    if not runs:
        errs = [r["error"] for r in doc.get("cpu_peak") or [] if r and "error" in r]
        return f"cpu_peak: ERROR {errs[0]}" if errs else None
    keys = sorted({k for r in runs for k in r if k.startswith("fp32_fma_flops_")},
                  key=lambda k: int(k.rsplit("_", 1)[1].rstrip("thr")))
    parts = [f"{k.rsplit('_', 1)[1].rstrip('thr')} thread(s) "
             + " / ".join(f"{r[k] / 1e9:.0f}" for r in runs if k in r) + " GFLOP/s" for k in keys]
    return ("measured fp32 FMA peak (../shared/bench/cpu_peak.c, gcc -O2 -mavx512f -fopenmp; before / after the "
            "benchmarks): " + ", ".join(parts))


# ---- main ---------------------------------------------------------------------------------------

def configs(a):
    out = []
    for m in a.models:
        for s in a.sizes:
            for b in a.batches:
                if b > 1 and (m != "resnet50" or s != max(a.sizes)):
                    continue  # batch > 1: ResNet-50 at the largest size only (issue 4's matrix)
                for t in a.threads:
                    out.append({"model": m, "size": s, "batch": b, "threads": t})
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    p.add_argument("--quick", action="store_true",
                   help="MobileNetV2 + ResNet-50 at 224, batch 1, threads 1 and 2 (a few minutes)")
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated (default: all three)")
    p.add_argument("--sizes", type=ints, default=[224, 160, 128])
    p.add_argument("--threads", type=ints, default=[1, 2])
    p.add_argument("--batches", type=ints, default=[1, 8], help="batch > 1 runs for resnet50 at the largest size only")
    p.add_argument("--frameworks", default="wanwu,ort,torch",
                   help="comma-separated, of " + ", ".join(FRAMEWORKS) + " (the int8 ones are wanwu at --precision int8)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--min-runs", type=int, default=20)
    p.add_argument("--min-seconds", type=float, default=2.0)
    p.add_argument("--max-seconds", type=float, default=30.0, help="stop timing after this long (>= 1 run)")
    p.add_argument("--max-other", type=float, default=0.25,
                   help="other processes' CPU (cores) above which a run counts as contaminated and is retried")
    p.add_argument("--attempts", type=int, default=2)
    p.add_argument("--rounds", type=int, default=1,
                   help="repeat the whole sweep, frameworks interleaved and their order reversed each round; the "
                        "table combines the rounds (median of medians), so a slow stretch of a shared host weighs "
                        "on every framework alike")
    p.add_argument("--quiet-wait", type=float, default=60, help="max seconds to wait for an idle machine per run")
    p.add_argument("--wait-budget", type=float, default=1200, help="max seconds of idle-waiting in all")
    p.add_argument("--nice", type=int, default=0,
                   help="run every benchmark process at this niceness (e.g. -15, needs root): on a busy shared "
                        "machine the scheduler then gives it the cores ahead of others' jobs")
    p.add_argument("--models-dir", default=os.path.join(ROOT, "models"))
    p.add_argument("--wanwu", default=os.path.join(ROOT, "bin", "wanwu"))
    p.add_argument("--calibrate", metavar="DIR",
                   help="photos for wanwu-int8s (wanwu bench --calibrate DIR), e.g. ../shared/images; its peak RSS "
                        "includes the one-time float calibration run")
    p.add_argument("--cpu-peak", default=os.path.join(ROOT, "..", "shared", "bench", "cpu_peak.c"),
                   help="cpu_peak.c, compiled with gcc and run before and after the benchmarks ('' to skip)")
    p.add_argument("--cache", default=os.path.join(HERE, "results", "cache"))
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument("--report", metavar="JSON", help="print the table of a saved run and exit")
    p.add_argument("--markdown", action="store_true", help="print the table as markdown")
    p.add_argument("--stat", choices=["median", "min", "p90"], default="median",
                   help="latency statistic of the table and its ratios (min is the least load-sensitive)")
    a = p.parse_args()

    if a.report:
        with open(a.report) as f:
            print(table(json.load(f), a.markdown, a.stat + "_ms"), end="")
        return
    if a.quick:
        a.models, a.sizes, a.batches = "mobilenet_v2,resnet50", [224], [1]
    a.models = [m for m in a.models.split(",") if m]
    fws = [f for f in a.frameworks.split(",") if f]
    for m in a.models:
        if m not in MODELS:
            p.error(f"unknown model {m!r}; one of {', '.join(MODELS)}")
    for f in fws:
        if f not in FRAMEWORKS:
            p.error(f"unknown framework {f!r}; one of {', '.join(FRAMEWORKS)}")
    if "wanwu-int8s" in fws and not a.calibrate:
        p.error("wanwu-int8s needs --calibrate DIR (photos)")

    os.makedirs(a.out, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = os.path.join(a.out, stamp + ".json")
    doc = {"started": stamp, "machine": machine_info(a),
           "settings": {k: getattr(a, k) for k in ("warmup", "min_runs", "min_seconds", "max_seconds", "max_other",
                                                   "attempts", "quiet_wait", "wait_budget", "nice", "rounds")},
           "wanwu_checks": {}, "results": []}
    doc["settings"]["frameworks"] = fws

    def save():
        for name in (path, os.path.join(a.out, "latest.json")):
            with open(name, "w") as f:
                json.dump(doc, f, indent=1)
        with open(os.path.join(a.out, "latest.md"), "w") as f:
            f.write(table(doc, True))

    for m in a.models:
        # make.d/models.mk: exports the model when it is missing or older than the exporter, so the ONNX
        # file and the PyTorch worker's rebuild come from the same recipe
        subprocess.run(["make", "--no-print-directory", "-C", ROOT, f"models/{m}/model.onnx"], check=True)
    if "torch" in fws:
        for m in a.models:
            if not os.path.exists(os.path.join(a.cache, f"{m}.bn_state.pt")):
                print(f"preparing PyTorch {m} (BatchNorm calibration as at export, once)...", flush=True)
                subprocess.run(["/usr/bin/python3", os.path.join(HERE, "torch_worker.py"), "--prepare", "--model", m,
                                "--models-dir", a.models_dir, "--cache", a.cache], check=True)
    if "wanwu" in fws:
        for m in a.models:
            doc["wanwu_checks"][m] = check_wanwu(m, a)
            print(f"wanwu output check {m}: {doc['wanwu_checks'][m]}", flush=True)

    doc["cpu_peak"] = [cpu_peak(a)]
    print(f"cpu_peak before: {doc['cpu_peak'][0]}", flush=True)
    deadline = time.time() + a.wait_budget
    cfgs = configs(a)
    for rnd in range(1, max(a.rounds, 1) + 1):
        for i, cfg in enumerate(cfgs, 1):
            for fw in (fws if rnd % 2 else fws[::-1]):
                r = run_config(fw, cfg, a, deadline)
                r["round"] = rnd
                doc["results"].append(r)
                save()
                what = (f"ERROR {r['error']}" if "error" in r else
                        f"median {r['median_ms']:8.2f} ms  p90 {r['p90_ms']:8.2f}  {('n=' + str(r['runs'])) if 'runs' in r else '':5s}  "
                        f"peak {r['peak_rss_bytes'] / MiB:6.0f} MiB")
                print(f"[{i}/{len(cfgs)} r{rnd}] {fw:5s} {cfg['model']:15s} {cfg['size']} b{cfg['batch']} t{cfg['threads']}: "
                      f"{what}  other-cpu {r['other_cpu_cores']:.2f} (attempt {r['attempt']}, waited {r['idle_wait_s']} s)",
                      flush=True)
    doc["cpu_peak"].append(cpu_peak(a))
    print(f"cpu_peak after: {doc['cpu_peak'][1]}", flush=True)
    doc["finished"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    save()
    print()
    print(table(doc, a.markdown, a.stat + "_ms"), end="")
    print(f"\nresults: {path} (markdown table: {os.path.join(a.out, 'latest.md')})")


if __name__ == "__main__":
    main()
