"""refutil.py: what the tests in tests/ref/ share: paths of the binaries, the model generator, a small GGUF reader."""

import hashlib
import json
import os
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REF_DIR = os.path.join(ROOT, "tests", "data", "ref")
MAKE_MODEL = os.path.join(ROOT, "scripts", "ref", "make-hf-model.py")
BUILD_DIR = os.environ.get("SLUICE_BUILD_DIR", os.path.join(ROOT, "build"))
SLUICE = os.environ.get("SLUICE_BIN", os.path.join(BUILD_DIR, "cli", "sluice"))
LOGITS_DUMP = os.environ.get("SLUICE_LOGITS_DUMP", os.path.join(BUILD_DIR, "tests", "tools", "logits-dump"))

VARIANTS = ["llama-gqa-tied", "llama-gqa-untied", "llama3-rope", "qwen2-bias", "qwen2-bias-bf16"]

REGENERATE = ("on a machine with torch and transformers (a GPU machine has them) run "
              "`python3 scripts/ref/hf-logits.py tests/data/ref` from the source root and commit tests/data/ref/*.json")


def need(path, what):
    """Fails (never skips) when a binary the tests run is missing."""
    if not os.access(path, os.X_OK):
        import pytest
        pytest.fail("%s not found at %s: build first (meson compile -C build), or point SLUICE_BUILD_DIR at the "
                    "build directory" % (what, path), pytrace=False)
    return path


def make_models(outdir, variants=None, shards=1):
    """Writes the Hugging Face directories of the variants into outdir; returns {variant: path}."""
    cmd = [sys.executable, MAKE_MODEL, outdir, "--shards", str(shards)]
    for v in variants or VARIANTS:
        cmd += ["--variant", v]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return {v: os.path.join(outdir, v) for v in variants or VARIANTS}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def convert(hf_dir, out, *args):
    """Runs `sluice model convert`; returns the CompletedProcess (text)."""
    return subprocess.run([need(SLUICE, "sluice"), "model", "convert", hf_dir, "-o", out] + list(args),
                          capture_output=True, text=True, timeout=120)


def convert_ok(hf_dir, out, *args):
    p = convert(hf_dir, out, *args)
    assert p.returncode == 0, "sluice model convert %s failed: %s" % (hf_dir, p.stderr.strip())
    return out


def logits(model, tokens, n_positions):
    """sluice's logits for tokens (list of ints): n_positions rows."""
    p = subprocess.run([need(LOGITS_DUMP, "logits-dump"), model, ",".join(map(str, tokens)), str(n_positions)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, "logits-dump %s failed: %s" % (model, p.stderr.strip())
    return json.loads(p.stdout)["logits"]


def rel_diff(ref, got):
    """max |got - ref| / max |ref| over all positions and vocabulary entries."""
    assert len(ref) == len(got) and all(len(a) == len(b) for a, b in zip(ref, got)), "shapes differ"
    scale = max(abs(x) for row in ref for x in row)
    return max(abs(a - b) for ra, rb in zip(ref, got) for a, b in zip(ra, rb)) / scale


def argmax(row):
    return max(range(len(row)), key=row.__getitem__)


# ---- a small GGUF reader (metadata, tensor infos, tensor bytes) ----

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
GGML_TYPES = {0: "f32", 1: "f16", 8: "q8_0", 30: "bf16"}


class Gguf:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        self.pos = 4
        magic, version = self.data[:4], self._read("<I")
        assert magic == b"GGUF" and version in (2, 3), "%s is not a GGUF v2/v3 file" % path
        n_tensors, n_kv = self._read("<Q"), self._read("<Q")
        self.kv = {}
        for _ in range(n_kv):
            key = self._str()
            self.kv[key] = self._value(self._read("<I"))
        self.tensors = {}
        for _ in range(n_tensors):
            name = self._str()
            dims = [self._read("<Q") for _ in range(self._read("<I"))]
            self.tensors[name] = {"ne": dims, "type": GGML_TYPES.get(self._read("<I"), "?"), "offset": self._read("<Q")}
        align = self.kv.get("general.alignment", 32)
        self.data_start = (self.pos + align - 1) // align * align

    def _read(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return v

    def _str(self):
        n = self._read("<Q")
        s = self.data[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def _value(self, t):
        if t == 8:
            return self._str()
        if t == 9:
            et, n = self._read("<I"), self._read("<Q")
            return [self._value(et) for _ in range(n)]
        return self._read(_SCALARS[t])

    def f32(self, name):
        """The values of an f32 tensor, flat."""
        t = self.tensors[name]
        assert t["type"] == "f32", "%s is %s" % (name, t["type"])
        n = 1
        for d in t["ne"]:
            n *= d
        start = self.data_start + t["offset"]
        return list(struct.unpack_from("<%df" % n, self.data, start))


def safetensors_f32(path, name):
    """The values of an F32 tensor of a .safetensors file, flat (stdlib only)."""
    with open(path, "rb") as f:
        data = f.read()
    hlen = struct.unpack_from("<Q", data, 0)[0]
    header = json.loads(data[8:8 + hlen])
    begin, end = header[name]["data_offsets"]
    assert header[name]["dtype"] == "F32"
    return list(struct.unpack_from("<%df" % ((end - begin) // 4), data, 8 + hlen + begin))
