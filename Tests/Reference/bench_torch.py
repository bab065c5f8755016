#!/usr/bin/env python3
"""The same transfer iteration as `lab bench`, in PyTorch on this machine, and the ratio.

    python3 Tests/Reference/bench_torch.py [--sizes 128,256,512] [--lab .build/release/lab] [--presets keras,any-size]

One iteration: VGG19 (the converted Keras weights) forward to block5_conv2, the Keras example's loss
(content at block5_conv2, style at block1..5_conv1, total variation), backward to the image, an SGD
update; the targets computed once beforehand. float32, as many threads as `lab bench` uses (2 here).
With --lab it also runs `lab bench --json` and prints lab time ÷ PyTorch time per size and backend.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import CONVS, STYLE_LAYERS, CONTENT_LAYER, CONTENT_WEIGHT, STYLE_WEIGHT, TV_WEIGHT, WEIGHTS, read_safetensors  # noqa: E402


def forward(x, w, upto=CONTENT_LAYER):
    outs = {}
    for layer in CONVS:
        if isinstance(layer, str):
            x = F.max_pool2d(x, 2, 2)
            outs[layer] = x
        else:
            name = layer[0]
            x = F.relu(F.conv2d(x, w[name + ".weight"], w[name + ".bias"], padding=1))
            outs[name] = x
            if name == upto:
                break
    return outs


def gram(f):
    m = f.reshape(f.shape[1], -1)
    return m @ m.T


def bench(size, w, repeats, threads):
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(42)
    content = torch.rand(1, 3, size, size, generator=g) * 255 - 120
    style = torch.rand(1, 3, size, size, generator=g) * 255 - 120
    with torch.no_grad():
        content_feats = forward(content, w)[CONTENT_LAYER]
        s = forward(style, w)
        grams = {n: gram(s[n]) for n in STYLE_LAYERS}
    x = content.clone()

    def step():
        nonlocal x
        x.requires_grad_(True)
        outs = forward(x, w)
        loss = CONTENT_WEIGHT * ((outs[CONTENT_LAYER] - content_feats) ** 2).sum()
        for n in STYLE_LAYERS:
            loss = loss + STYLE_WEIGHT / 5 * ((gram(outs[n]) - grams[n]) ** 2).sum() / (4.0 * 9 * (size * size) ** 2)
        a = (x[:, :, :-1, :-1] - x[:, :, 1:, :-1]) ** 2
        b = (x[:, :, :-1, :-1] - x[:, :, :-1, 1:]) ** 2
        loss = loss + TV_WEIGHT * ((a + b) ** 1.25).sum()
        (grad,) = torch.autograd.grad(loss, x)
        x = (x - 1e-3 * grad).detach()

    def timed(fn):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return sorted(times)[len(times) // 2]

    step()  # warm-up
    iteration = timed(step)
    with torch.no_grad():
        fwd = timed(lambda: forward(x, w))
    return iteration, fwd


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="128,256,512")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--lab", help="path of the lab binary, to print the ratio")
    p.add_argument("--convs", default="auto", help="lab's convolution algorithms to time, e.g. auto,winograd,direct")
    p.add_argument("--presets", default="keras", help="lab's presets to time, e.g. keras,any-size (PyTorch runs the Keras "
                   "example's loss for both: any-size differs only in constants, the same work)")
    args = p.parse_args()
    w = {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(WEIGHTS).items()}
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"PyTorch {torch.__version__}, {args.threads} threads, float32, median of {args.repeats}")
    torch_times = {}
    for size in sizes:
        it, fwd = bench(size, w, args.repeats, args.threads)
        torch_times[size] = it
        print(f"{size}²  iteration {it:.3f} s  forward {fwd:.3f} s")
    if args.lab:
        print("\nlab ÷ PyTorch (iteration time; below 1 is faster than PyTorch)")
        for preset, conv in [(p, c) for p in args.presets.split(",") for c in args.convs.split(",")]:
            out = subprocess.run([args.lab, "bench", "--json", "--sizes", args.sizes, "--repeats", str(args.repeats),
                                  "--threads", str(args.threads), "--conv", conv, "--preset", preset, "--backends", "simd"],
                                 capture_output=True, text=True, check=True).stdout
            for line in out.splitlines():
                r = json.loads(line)
                print(f"{r['size']}²  {preset:<8} conv {conv:<9} lab {r['iterationSeconds']:.3f} s  "
                      f"PyTorch {torch_times[r['size']]:.3f} s  ratio {r['iterationSeconds'] / torch_times[r['size']]:.2f}  "
                      f"peak {r['peakResidentBytes'] / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
