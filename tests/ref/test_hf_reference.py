"""test_hf_reference.py: sluice's logits for tiny Hugging Face models converted by `sluice model convert` against transformers' (tests/data/ref/).

The models are regenerated here by scripts/ref/make-hf-model.py (the same bytes on any machine: each
golden file records the sha256 of every file it was computed from). The golden logits come from
scripts/ref/hf-logits.py, run where torch and transformers exist. Binaries: $SLUICE_BUILD_DIR/cli/sluice
and $SLUICE_BUILD_DIR/tests/tools/logits-dump (or $SLUICE_BIN / $SLUICE_LOGITS_DUMP).

Run: SLUICE_BUILD_DIR=build python3 -m pytest -q tests/ref/
"""

import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refutil  # noqa: E402
from refutil import VARIANTS, argmax, convert_ok, logits, rel_diff  # noqa: E402

# float32 weights: the bound. Measured: 1.4e-6 .. 2.6e-6 (sluice's f32 CPU code vs torch's).
F32_TOL = 1e-3

# Weights stored in a smaller type, against transformers' float32 logits (max|diff| / max|logit|).
# What the storage alone costs was measured by running transformers on weights rounded exactly as the
# converter stores them (hf-logits.py's "quantised" tables; sluice agrees with those to 3e-6):
#   f16  0.0015 .. 0.0037   bf16  0.015 .. 0.025   q8_0  0.036 .. 0.103
# bf16 keeps 8 significant bits (relative error <= 2^-9 per weight); q8_0 rounds each weight to 1/127 of
# its block's largest, about 6x more error per weight for these weights, which are bounded at about
# 3.5 sigma. These tiny models are built to be sensitive (attention scores of standard deviation 4, so
# that a RoPE or permutation error shows), which amplifies weight errors far more than trained models
# do. The bounds are about 2.5x the largest measurement: loose enough for another libm or summation
# order, tight enough that a wrong block layout or scale (errors of order 1) fails.
STORED_BOUND = {"f16": 1e-2, "bf16": 6e-2, "q8_0": 0.25}

# Against transformers run on the very weights the file stores, only arithmetic differs: as for f32.
SIMULATED_TOL = 1e-3


def golden(variant):
    path = os.path.join(refutil.REF_DIR, variant + ".json")
    if not os.path.exists(path):
        pytest.fail("golden file %s is missing: %s" % (os.path.relpath(path, refutil.ROOT), refutil.REGENERATE),
                    pytrace=False)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    """The Hugging Face directories of every variant, regenerated."""
    return refutil.make_models(str(tmp_path_factory.mktemp("hf")))


@pytest.fixture(scope="session")
def gguf_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("gguf")


def converted(models, gguf_dir, variant, dtype, *extra):
    out = os.path.join(str(gguf_dir), "%s-%s%s.gguf" % (variant, dtype, "".join(extra).replace("-", "")))
    if not os.path.exists(out):
        convert_ok(models[variant], out, "--dtype", dtype, *extra)
    return out


def check_argmax(ref_rows, got_rows, tol):
    """Argmax agrees at every position where the reference's best two differ by more than the tolerance
    allows (within it, either answer is right)."""
    scale = max(abs(x) for row in ref_rows for x in row)
    for pos, (ref, got) in enumerate(zip(ref_rows, got_rows)):
        a, b = argmax(ref), argmax(got)
        if a != b:
            assert ref[a] - ref[b] <= 2 * tol * scale, (
                "position %d: argmax %d, transformers says %d (logits %g vs %g)" % (pos, b, a, ref[b], ref[a]))


@pytest.mark.parametrize("variant", VARIANTS)
def test_generator_reproduces_golden_inputs(models, variant):
    g = golden(variant)
    files = sorted(os.listdir(models[variant]))
    assert files == sorted(g["files"]), "make-hf-model.py writes other files than the golden was made from"
    for name, want in g["files"].items():
        assert refutil.sha256(os.path.join(models[variant], name)) == want, (
            "%s/%s differs from the one the golden logits were computed from: make-hf-model.py changed "
            "(or is not deterministic here); %s" % (variant, name, refutil.REGENERATE))


@pytest.mark.parametrize("variant", VARIANTS)
def test_f32_logits_match_transformers(models, gguf_dir, variant):
    g = golden(variant)
    got = logits(converted(models, gguf_dir, variant, "f32"), g["tokens"], len(g["tokens"]))
    err = rel_diff(g["logits"], got)
    assert err <= F32_TOL, "%s f32: max|diff|/max|logit| = %.3g > %g" % (variant, err, F32_TOL)
    assert [argmax(r) for r in got] == g["argmax"], "%s f32: argmax per position differs" % variant


@pytest.mark.parametrize("dtype", ["f16", "bf16", "q8_0"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_stored_types_match_transformers(models, gguf_dir, variant, dtype):
    g = golden(variant)
    got = logits(converted(models, gguf_dir, variant, dtype), g["tokens"], len(g["tokens"]))
    err = rel_diff(g["logits"], got)
    assert err <= STORED_BOUND[dtype], "%s %s vs float32: %.3g > %g" % (variant, dtype, err, STORED_BOUND[dtype])
    sim = g.get("quantised", {}).get(dtype)
    if sim:
        err = rel_diff(sim["logits"], got)
        assert err <= SIMULATED_TOL, (
            "%s %s vs transformers on the same stored weights: %.3g > %g" % (variant, dtype, err, SIMULATED_TOL))
        check_argmax(sim["logits"], got, SIMULATED_TOL)


def test_bf16_checkpoint_converts_exactly(models, gguf_dir):
    """A BF16 checkpoint stored as bf16 loses nothing: the float32 bound holds."""
    g = golden("qwen2-bias-bf16")
    got = logits(converted(models, gguf_dir, "qwen2-bias-bf16", "bf16"), g["tokens"], len(g["tokens"]))
    assert rel_diff(g["logits"], got) <= F32_TOL
    assert [argmax(r) for r in got] == g["argmax"]


def test_sharded_checkpoint_converts_to_the_same_file(tmp_path, models, gguf_dir):
    shards = refutil.make_models(str(tmp_path / "sharded"), ["llama-gqa-untied"], shards=3)["llama-gqa-untied"]
    assert os.path.exists(os.path.join(shards, "model.safetensors.index.json"))
    out = convert_ok(shards, str(tmp_path / "sharded.gguf"), "--dtype", "f32")
    with open(out, "rb") as a, open(converted(models, gguf_dir, "llama-gqa-untied", "f32"), "rb") as b:
        assert a.read() == b.read(), "three shards and one file give different GGUF files"


def test_byte_vocabulary_changes_no_logit(models, gguf_dir):
    g = golden("llama-gqa-tied")
    got = logits(converted(models, gguf_dir, "llama-gqa-tied", "f32", "--vocab", "bytes"), g["tokens"],
                 len(g["tokens"]))
    assert rel_diff(g["logits"], got) <= F32_TOL


def test_llama3_rope_freqs_match_transformers(models, gguf_dir):
    """rope_freqs.weight divides the default frequencies into exactly transformers' llama3 ones."""
    g = golden("llama3-rope")
    gg = refutil.Gguf(converted(models, gguf_dir, "llama3-rope", "f32"))
    theta, dim = gg.kv["llama.rope.freq_base"], gg.kv["llama.rope.dimension_count"]
    divisors = gg.f32("rope_freqs.weight")
    assert len(divisors) == dim // 2 == len(g["inv_freq"])
    assert 1.0 in divisors and 8.0 in divisors and any(1 < d < 8 for d in divisors), "all three branches"
    for i, (d, want) in enumerate(zip(divisors, g["inv_freq"])):
        have = 1.0 / theta ** (2 * i / dim) / d
        assert abs(have - want) <= 1e-6 * want, "frequency %d: %g, transformers %g" % (i, have, want)
    assert "rope_freqs.weight" not in refutil.Gguf(converted(models, gguf_dir, "llama-gqa-tied", "f32")).tensors


@pytest.mark.parametrize("variant", ["llama-gqa-tied", "qwen2-bias"])
def test_tokenizer_matches_transformers(models, gguf_dir, variant):
    """The converted tokenizer splits text as transformers' tokenizer did (ids without BOS)."""
    g = golden(variant)
    assert isinstance(g["tokenize"], list), "the golden file has no tokenizations: %s" % g["tokenize"]
    model = converted(models, gguf_dir, variant, "f32")
    for case in g["tokenize"]:
        p = subprocess.run([refutil.need(refutil.SLUICE, "sluice"), "tokenize", "-m", model, "--text", case["text"],
                            "--no-bos", "--json"], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout) == case["ids"], "%r" % case["text"]
