"""Runs real .tflite models with wanwu (`wanwu run`) and with TensorFlow Lite (interp.js beside this
file) on the same input and prints, per output, the largest difference against TFLite's output.

    /usr/bin/python3 compare_models.py WANWU_BINARY MODEL.tflite... [--photo IMAGE]

Inputs are float32 NHWC: uniform in [-1, 1] (seed 0), or with --photo the image resized to the
input size and scaled to [0, 1] (needs PIL). A model using MediaPipe's Convolution2DTransposeBias,
which this TFLite build does not register, is first rewritten by builtin_transpose_conv.py.
"""
import argparse, glob, os, shutil, subprocess, sys, tempfile

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))


def compare(wanwu, model, photo, work):
    d = os.path.join(work, os.path.basename(model))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    r = subprocess.run([wanwu, 'inspect', model], capture_output=True, text=True)
    if r.returncode:
        print(f'{model}: wanwu cannot load it: {r.stderr.strip()}')
        return
    info = r.stdout
    ins = [l.split()[1:3] for l in info.splitlines() if l.startswith('input ')]
    rng = np.random.default_rng(0)
    w_args, t_args = [], []
    for name, typ in ins:
        shape = [int(x) for x in typ[typ.index('[') + 1:-1].split(',')]
        if photo:
            from PIL import Image
            x = np.asarray(Image.open(photo).convert('RGB').resize((shape[2], shape[1])), dtype='f4')[None] / 255
        else:
            x = rng.uniform(-1, 1, size=shape)
        x = x.astype('f4')
        np.save(f'{d}/{name}.npy', x)
        x.tofile(f'{d}/{name}.bin')
        w_args += ['--input', f'{name}={d}/{name}.npy']
        t_args.append(f'{d}/{name}.bin')
    tmodel = os.path.abspath(model)
    with open(tmodel, 'rb') as f:
        if b'Convolution2DTransposeBias' in f.read():
            tmodel = f'{d}/builtin.tflite'
            subprocess.run([sys.executable, os.path.join(here, 'builtin_transpose_conv.py'), model, tmodel], check=True, capture_output=True)
    t = subprocess.run(['node', os.path.join(here, 'interp.js'), tmodel] + t_args, capture_output=True, text=True, cwd=d)
    if t.returncode:
        print(f'{model}: TFLite failed: {t.stderr.strip().splitlines()[-1]}')
        return
    w = subprocess.run([wanwu, 'run', '--model', model, '--output-dir', f'{d}/wanwu'] + w_args, capture_output=True, text=True)
    if w.returncode:
        print(f'{model}: wanwu failed: {w.stderr.strip()}')
        return
    for line in t.stdout.splitlines():
        f = line.split()
        if len(f) != 5 or not f[0].isdigit():
            continue
        i, name, dtype, shape = f[0], f[1], f[2], tuple(int(s) for s in f[3].split(','))
        ref = np.fromfile(f'{d}/out{i}.bin', dtype={'float32': 'f4', 'int32': 'i4'}[dtype]).reshape(shape)
        path = f'{d}/wanwu/{name}.npy'
        if not os.path.exists(path):
            print(f'{model} {name}: wanwu wrote no {name}.npy ({sorted(os.listdir(f"{d}/wanwu"))})')
            continue
        got = np.load(path)
        if got.shape != ref.shape:
            print(f'{model} {name}: shape {got.shape}, TFLite {ref.shape}')
            continue
        err, scale = float(np.abs(got - ref).max()), float(np.abs(ref).max())
        print(f'{os.path.basename(model)} {name} {list(ref.shape)}: max|d| {err:.3g} of max|y| {scale:.3g} (rel {err / max(scale, 1e-30):.2g})')


def main():
    p = argparse.ArgumentParser()
    p.add_argument('wanwu')
    p.add_argument('models', nargs='+')
    p.add_argument('--photo')
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as work:
        for m in a.models:
            compare(a.wanwu, m, a.photo, work)


main()
