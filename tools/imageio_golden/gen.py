#!/usr/bin/python3
"""Writes imageio's golden fixtures with Pillow (and torchvision for the full pipeline).

Run from the repository root:  /usr/bin/python3 tools/imageio_golden/gen.py
It (1) writes small synthetic images into imageio/testdata/images, covering the colour types and
EXIF orientations imageio must handle, and (2) records what Pillow makes of them and of a few
shared photos (../shared/images, referenced, never copied) into imageio/testdata/golden:
raw packed RGB (.rgb) or float32 little-endian (.f32) files, described by golden.json.
Deterministic: re-running rewrites identical files (given the same Pillow/libjpeg/libwebp).
"""
import io
import json
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TD = os.path.join(ROOT, "imageio", "testdata")
IMG = os.path.join(TD, "images")
GOLD = os.path.join(TD, "golden")
SHARED = os.environ.get("WANWU_SHARED", os.path.join(ROOT, "..", "shared"))


def synthetic(w, h, seed):
    """A smooth colour field plus sharp edges and noise: exercises chroma upsampling and resampling."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 5.0 + seed)
    g = 128 + 100 * np.cos(y / 7.0)
    b = np.where((x // 8 + y // 8) % 2 == 0, 230.0, 20.0)
    a = np.stack([r, g, b], -1) + rng.normal(0, 12, (h, w, 3))
    return np.clip(a, 0, 255).astype(np.uint8)


def png_chunk(typ, data):
    return struct.pack(">I", len(data)) + typ + data + struct.pack(">I", zlib.crc32(typ + data) & 0xFFFFFFFF)


def write_interlaced_png(path, rgb):
    """Pillow cannot write Adam7 PNGs, so build one by hand (RGB, 8-bit, filter None)."""
    h, w, _ = rgb.shape
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = rgb[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        for row in sub:
            raw += b"\x00" + row.tobytes()
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b""))


def exif_with_orientation(o):
    ex = Image.Exif()
    ex[0x0112] = o
    return ex.tobytes()


def make_images():
    os.makedirs(IMG, exist_ok=True)
    base = synthetic(61, 47, 1)  # odd sizes hit every edge case of 4:2:0 chroma
    im = Image.fromarray(base)
    out = {}

    def save(name, image, **kw):
        p = os.path.join(IMG, name)
        image.save(p, **kw)
        out[name] = p

    save("q444.jpg", im, quality=90, subsampling=0)
    save("q422.jpg", im, quality=90, subsampling=1)
    save("q420.jpg", im, quality=90, subsampling=2)
    save("prog420.jpg", im, quality=85, subsampling=2, progressive=True)
    save("gray.jpg", im.convert("L"), quality=90)
    save("cmyk.jpg", im.convert("CMYK"), quality=95)
    for o in range(2, 9):
        save("exif%d.jpg" % o, Image.fromarray(synthetic(29, 19, o)), quality=92, subsampling=0, exif=exif_with_orientation(o))
    # A malformed EXIF block (IFD offset past the end) must be ignored, not fatal.
    bad = b"Exif\x00\x00II*\x00\xff\xff\x00\x00"
    jp = io.BytesIO()
    Image.fromarray(synthetic(23, 17, 9)).save(jp, "JPEG", quality=92)
    data = jp.getvalue()
    with open(os.path.join(IMG, "badexif.jpg"), "wb") as f:
        f.write(data[:2] + b"\xff\xe1" + struct.pack(">H", len(bad) + 2) + bad + data[2:])
    out["badexif.jpg"] = os.path.join(IMG, "badexif.jpg")

    rgba = np.dstack([base, (np.arange(61 * 47) % 256).reshape(47, 61).astype(np.uint8)])
    save("rgba.png", Image.fromarray(rgba, "RGBA"))
    save("la.png", Image.fromarray(rgba, "RGBA").convert("LA"))
    save("gray.png", im.convert("L"))
    pal = im.quantize(64)
    pal.info["transparency"] = 3
    save("palette.png", pal, transparency=3)
    g16 = (base[..., 0].astype(np.uint16) * 257 + base[..., 1]).astype(np.uint16)
    save("gray16.png", Image.fromarray(g16))
    # 16-bit RGB: Pillow cannot write it from an array, so encode by hand (big-endian samples).
    rgb16 = base.astype(np.uint16) * 257 + np.flip(base, 1)
    raw = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in rgb16)
    with open(os.path.join(IMG, "rgb16.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 61, 47, 16, 2, 0, 0, 0))
                + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b""))
    out["rgb16.png"] = os.path.join(IMG, "rgb16.png")
    write_interlaced_png(os.path.join(IMG, "interlaced.png"), base)
    out["interlaced.png"] = os.path.join(IMG, "interlaced.png")
    save("exif6.png", Image.fromarray(synthetic(29, 19, 6)), exif=exif_with_orientation(6))
    save("pal.gif", im.quantize(32))
    save("rgb.bmp", im)
    save("lossy.webp", im, quality=80)
    save("lossless.webp", im, lossless=True)
    save("alpha.webp", Image.fromarray(rgba, "RGBA"), quality=80)
    save("exif8.webp", Image.fromarray(synthetic(29, 19, 8)), quality=90, exif=exif_with_orientation(8))
    return out


def pil_rgb(path):
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("I;16", "I;16B", "I"):
            # Pillow clips 16-bit grey to 255 in convert("RGB"); imageio keeps the high byte instead
            # (documented deviation), so the reference is the high byte, computed here.
            a = (np.array(im).astype(np.uint32) >> 8).astype(np.uint8)
            return Image.fromarray(a, "L").convert("RGB")
        return im.convert("RGB")


def tv_shorter_crop(img, shorter, cw, ch):
    """torchvision Resize(shorter) + CenterCrop((ch, cw)) on a PIL image."""
    import torchvision.transforms as T
    return T.CenterCrop((ch, cw))(T.Resize(shorter)(img))


def main():
    os.makedirs(GOLD, exist_ok=True)
    for f in os.listdir(GOLD):
        os.remove(os.path.join(GOLD, f))
    synth = make_images()
    cases = []

    def record(name, src, op, arr, ext="rgb", **kw):
        fn = name + "." + ext
        with open(os.path.join(GOLD, fn), "wb") as f:
            f.write(np.ascontiguousarray(arr).tobytes())
        c = dict(name=name, src=src, op=op, file=fn, w=int(arr.shape[1] if ext == "rgb" else arr.shape[-1]),
                 h=int(arr.shape[0] if ext == "rgb" else arr.shape[-2]))
        c.update(kw)
        cases.append(c)

    for name in sorted(synth):
        img = pil_rgb(synth[name])
        stem = name.replace(".", "_")
        record(stem + "_decode", "testdata/images/" + name, "decode", np.array(img))
        record(stem + "_stretch", "testdata/images/" + name, "stretch", np.array(img.resize((37, 29), Image.BILINEAR)))
        if name in ("q420.jpg", "rgb.bmp", "exif6.jpg"):  # upscaling: Pillow's filter support stays 1
            record(stem + "_up", "testdata/images/" + name, "stretch", np.array(img.resize((97, 71), Image.BILINEAR)))

    for name in ["cat.bmp", "parrot.jpg", "grace_hopper.bmp"]:
        p = os.path.join(SHARED, "images", name)
        img = pil_rgb(p)
        stem = name.replace(".", "_")
        src = "shared:images/" + name
        record(stem + "_stretch", src, "stretch", np.array(img.resize((37, 29), Image.BILINEAR)))
        record(stem + "_crop", src, "shorter_crop", np.array(tv_shorter_crop(img, 64, 56, 56)), shorter=64)
        record(stem + "_crop_rect", src, "shorter_crop", np.array(tv_shorter_crop(img, 57, 41, 53)), shorter=57)
    # The standard ImageNet pipeline at full size for one photo, and f32 normalisation via torchvision.
    import torch
    import torchvision.transforms as T
    cat = pil_rgb(os.path.join(SHARED, "images", "cat.bmp"))
    record("cat_bmp_224", "shared:images/cat.bmp", "shorter_crop", np.array(tv_shorter_crop(cat, 256, 224, 224)), shorter=256)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    for name in ["cat.bmp", "parrot.jpg"]:
        img = pil_rgb(os.path.join(SHARED, "images", name))
        t = T.Compose([T.Resize(64), T.CenterCrop(56), T.ToTensor(), T.Normalize(mean, std)])(img)
        assert t.dtype == torch.float32
        record(name.replace(".", "_") + "_f32", "shared:images/" + name, "f32_nchw", t.numpy().astype("<f4"),
               ext="f32", shorter=64, mean=mean, std=std)

    with open(os.path.join(GOLD, "golden.json"), "w") as f:
        json.dump({"generator": "tools/imageio_golden/gen.py", "pillow": Image.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(d, f)) for d in (IMG, GOLD) for f in os.listdir(d))
    print("%d cases, %d bytes of fixtures" % (len(cases), total), file=sys.stderr)


if __name__ == "__main__":
    main()
