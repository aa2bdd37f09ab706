"""test_convert.py: `sluice model convert`: the GGUF it writes (llama.cpp's names, keys, Q/K row order, tokenizer) and one clear line for every malformed input.

Needs only the sluice binary ($SLUICE_BUILD_DIR/cli/sluice or $SLUICE_BIN); no golden files.
Run: SLUICE_BUILD_DIR=build python3 -m pytest -q tests/ref/test_convert.py
"""

import json
import os
import shutil
import struct
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refutil  # noqa: E402
from refutil import Gguf, convert, convert_ok  # noqa: E402


@pytest.fixture(scope="session")
def pristine(tmp_path_factory):
    return refutil.make_models(str(tmp_path_factory.mktemp("hf")), ["llama-gqa-tied", "qwen2-bias", "llama3-rope"])


@pytest.fixture
def model(tmp_path, pristine):
    """A fresh, writable copy of llama-gqa-tied to break."""
    dst = tmp_path / "llama-gqa-tied"
    shutil.copytree(pristine["llama-gqa-tied"], dst)
    return str(dst)


# ---- what a good conversion writes ----

def test_llama_metadata_and_tensors(tmp_path, pristine):
    g = Gguf(convert_ok(pristine["llama-gqa-tied"], str(tmp_path / "m.gguf"), "--dtype", "q8_0"))
    kv = g.kv
    want = {"general.architecture": "llama", "general.name": "llama-gqa-tied", "general.file_type": 7,
            "llama.vocab_size": 320, "llama.context_length": 256, "llama.embedding_length": 64,
            "llama.feed_forward_length": 192, "llama.block_count": 2, "llama.attention.head_count": 4,
            "llama.attention.head_count_kv": 2, "llama.rope.dimension_count": 16,
            "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "llama-bpe",
            "tokenizer.ggml.bos_token_id": 296, "tokenizer.ggml.eos_token_id": 297,
            "tokenizer.ggml.add_bos_token": True}
    for k, v in want.items():
        assert kv.get(k) == v, k
    assert kv["llama.rope.freq_base"] == 10000.0
    assert abs(kv["llama.attention.layer_norm_rms_epsilon"] - 1e-5) < 1e-12
    toks, types = kv["tokenizer.ggml.tokens"], kv["tokenizer.ggml.token_type"]
    assert len(toks) == len(types) == 320
    assert toks[0] == "\u0100" and toks[32] == "\u0120" and types[0] == 1  # GPT-2's byte characters, normal
    assert toks[296:299] == ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"] and types[296:299] == [3, 3, 3]
    assert toks[299] == "[PAD299]" and types[299] == 5
    assert len(kv["tokenizer.ggml.merges"]) == 40 and kv["tokenizer.ggml.merges"][0] == "\u0120 t"
    # tied: no output.weight; matrices in q8_0, vectors in f32
    assert "output.weight" not in g.tensors
    assert g.tensors["token_embd.weight"] == {"ne": [64, 320], "type": "q8_0", "offset": 0}
    assert g.tensors["blk.1.attn_k.weight"]["ne"] == [64, 32] and g.tensors["blk.1.attn_k.weight"]["type"] == "q8_0"
    assert g.tensors["blk.0.attn_norm.weight"]["type"] == "f32" and g.tensors["output_norm.weight"]["ne"] == [64]
    assert len(g.tensors) == 1 + 2 * 9 + 1


def test_qwen2_metadata_and_biases(tmp_path, pristine):
    g = Gguf(convert_ok(pristine["qwen2-bias"], str(tmp_path / "q.gguf"), "--dtype", "bf16"))
    kv = g.kv
    assert kv["general.architecture"] == "qwen2" and kv["general.file_type"] == 32
    assert kv["qwen2.rope.freq_base"] == 1e6 and kv["tokenizer.ggml.pre"] == "qwen2"
    assert kv["tokenizer.ggml.eos_token_id"] == 298 and kv["tokenizer.ggml.padding_token_id"] == 296
    assert kv["tokenizer.ggml.add_bos_token"] is False
    assert "qwen2.vocab_size" not in kv
    assert g.tensors["blk.0.attn_q.bias"] == {"ne": [64], "type": "f32", "offset": g.tensors["blk.0.attn_q.bias"]["offset"]}
    assert g.tensors["blk.1.attn_v.bias"]["ne"] == [32]
    assert g.tensors["output.weight"]["type"] == "bf16"


def test_llama_q_k_rows_are_permuted_and_qwen2_rows_are_not(tmp_path, pristine):
    """GGUF row h*d + 2i + j of attn_q/attn_k is HF row h*d + j*d/2 + i (llama.cpp's LlamaModel.permute)."""
    src = os.path.join(pristine["llama-gqa-tied"], "model.safetensors")
    g = Gguf(convert_ok(pristine["llama-gqa-tied"], str(tmp_path / "m.gguf"), "--dtype", "f32"))
    for hf, gguf, heads in (("q_proj", "attn_q", 4), ("k_proj", "attn_k", 2), ("v_proj", "attn_v", 0)):
        want = refutil.safetensors_f32(src, "model.layers.1.self_attn.%s.weight" % hf)
        have = g.f32("blk.1.%s.weight" % gguf)
        cols = 64
        rows = len(want) // cols
        for r in range(rows):
            s = r
            if heads:
                d = rows // heads
                h, within = divmod(r, d)
                s = h * d + (within % 2) * (d // 2) + within // 2
            assert have[r * cols:(r + 1) * cols] == want[s * cols:(s + 1) * cols], "%s row %d" % (gguf, r)
    src = os.path.join(pristine["qwen2-bias"], "model.safetensors")
    g = Gguf(convert_ok(pristine["qwen2-bias"], str(tmp_path / "q.gguf"), "--dtype", "f32"))
    assert g.f32("blk.0.attn_q.weight") == refutil.safetensors_f32(src, "model.layers.0.self_attn.q_proj.weight")
    assert g.f32("blk.0.attn_k.bias") == refutil.safetensors_f32(src, "model.layers.0.self_attn.k_proj.bias")


def test_json_summary_and_vocab_from_gguf(tmp_path, pristine):
    first = convert_ok(pristine["llama-gqa-tied"], str(tmp_path / "a.gguf"), "--dtype", "f32")
    p = subprocess.run([refutil.need(refutil.SLUICE, "sluice"), "--json", "model", "convert", pristine["llama-gqa-tied"],
                        "-o", str(tmp_path / "b.gguf"), "--dtype", "f32", "--vocab", first],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"output": str(tmp_path / "b.gguf"), "architecture": "llama", "dtype": "f32",
                                    "tensors": 20, "vocabulary": first}
    a, b = Gguf(first), Gguf(str(tmp_path / "b.gguf"))
    assert {k: v for k, v in a.kv.items() if k.startswith("tokenizer.")} == \
           {k: v for k, v in b.kv.items() if k.startswith("tokenizer.")}


# ---- malformed input: exit status 1, one line naming the problem, no output file ----

def fails(hf_dir, tmp_path, want, *args):
    out = tmp_path / "out.gguf"
    p = convert(hf_dir, str(out), *args)
    assert p.returncode == 1, "expected failure, got %d: %s%s" % (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sluice: model convert: "), "not one clear line: %r" % p.stderr
    assert want in lines[0], "%r does not say %r" % (lines[0], want)
    assert not out.exists()
    return lines[0]


def edit_config(model, **changes):
    path = os.path.join(model, "config.json")
    with open(path, encoding="utf-8") as f:
        c = json.load(f)
    for k, v in changes.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    with open(path, "w", encoding="utf-8") as f:
        json.dump(c, f)


def edit_header(model, old, new):
    """Replaces bytes in the safetensors header, keeping its length."""
    assert len(old) == len(new)
    path = os.path.join(model, "model.safetensors")
    with open(path, "rb") as f:
        data = f.read()
    hlen = struct.unpack_from("<Q", data)[0]
    header = data[8:8 + hlen]
    assert old in header
    with open(path, "wb") as f:
        f.write(data[:8] + header.replace(old, new, 1) + data[8 + hlen:])


@pytest.mark.parametrize("field", ["hidden_size", "num_attention_heads", "vocab_size", "max_position_embeddings"])
def test_missing_config_field(tmp_path, model, field):
    edit_config(model, **{field: None})
    fails(model, tmp_path, 'config.json: missing field "%s"' % field)


def test_config_field_of_wrong_type(tmp_path, model):
    edit_config(model, hidden_size="64")
    fails(model, tmp_path, "config.json: hidden_size: expected integer")


def test_config_field_out_of_range(tmp_path, model):
    edit_config(model, num_hidden_layers=0)
    fails(model, tmp_path, "num_hidden_layers: must be between 1 and 1024")


def test_config_not_json(tmp_path, model):
    with open(os.path.join(model, "config.json"), "w") as f:
        f.write('{"hidden_size": 64,\n "oops"}')
    fails(model, tmp_path, "config.json: line 2, column")


def test_no_config(tmp_path, model):
    os.unlink(os.path.join(model, "config.json"))
    fails(model, tmp_path, "config.json: No such file or directory")


def test_unsupported_architecture(tmp_path, model):
    edit_config(model, architectures=["GPT2LMHeadModel"])
    fails(model, tmp_path, 'architecture "GPT2LMHeadModel" is not supported')


def test_unsupported_rope_scaling(tmp_path, model):
    edit_config(model, rope_scaling={"rope_type": "yarn", "factor": 4.0})
    fails(model, tmp_path, 'rope_scaling.rope_type "yarn" is not supported')


def test_inconsistent_heads(tmp_path, model):
    edit_config(model, num_key_value_heads=3)
    fails(model, tmp_path, "num_attention_heads 4 is not a multiple of num_key_value_heads 3")


def test_unsupported_llama_attention_bias(tmp_path, model):
    edit_config(model, attention_bias=True)
    fails(model, tmp_path, "attention_bias is true")


def test_wrong_shape(tmp_path, model):
    edit_config(model, num_key_value_heads=4)  # K/V would be 64 rows; the file has 32
    fails(model, tmp_path, 'tensor "model.layers.0.self_attn.k_proj.weight" has shape [32, 64], expected [64, 64]')


def test_unexpected_tensor(tmp_path, model):
    edit_config(model, num_hidden_layers=1)
    fails(model, tmp_path, 'unexpected tensor "model.layers.1.')


def test_missing_tensor(tmp_path, model):
    edit_header(model, b'"model.norm.weight"', b'"model.norX.weight"')
    fails(model, tmp_path, 'tensor "model.norm.weight" is missing')


def test_unknown_dtype(tmp_path, model):
    edit_header(model, b'"dtype":"F32"', b'"dtype":"Q32"')
    fails(model, tmp_path, 'unknown dtype "Q32"')


def test_unconvertible_dtype(tmp_path, model):
    edit_header(model, b'"dtype":"F32","shape":[64]', b'"dtype":"I32","shape":[64]')
    fails(model, tmp_path, "has dtype I32; only F32, F16 and BF16 are converted")


def test_truncated_safetensors(tmp_path, model):
    path = os.path.join(model, "model.safetensors")
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[:-100])
    fails(model, tmp_path, "are not a range inside the")
    with open(path, "wb") as f:
        f.write(data[:200])
    fails(model, tmp_path, "runs past the end of the file (200 bytes): truncated?")
    with open(path, "wb") as f:
        f.write(data[:5])
    fails(model, tmp_path, "file of 5 bytes is shorter than its 8-byte header length")


def test_safetensors_header_not_json(tmp_path, model):
    edit_header(model, b'{"__metadata__"', b'["__metadata__"')
    fails(model, tmp_path, "the header does not start with '{'")


def test_no_safetensors(tmp_path, model):
    os.unlink(os.path.join(model, "model.safetensors"))
    fails(model, tmp_path, "no model.safetensors or model.safetensors.index.json")


def test_shard_index_outside_the_directory(tmp_path, model):
    with open(os.path.join(model, "model.safetensors.index.json"), "w") as f:
        json.dump({"weight_map": {"model.norm.weight": "../model.safetensors"}}, f)
    fails(model, tmp_path, "expected the name of a file in the directory")


def test_shard_index_that_disagrees_with_the_shards(tmp_path, model):
    with open(os.path.join(model, "model.safetensors.index.json"), "w") as f:
        json.dump({"weight_map": {"model.norm.weight": "model.safetensors", "model.extra": "model.safetensors"}}, f)
    fails(model, tmp_path, 'tensor "model.extra" is missing (model.safetensors.index.json puts it there)')
    with open(os.path.join(model, "model.safetensors.index.json"), "w") as f:
        json.dump({"weight_map": {"model.norm.weight": "model.safetensors"}}, f)
    fails(model, tmp_path, "is not in model.safetensors.index.json's weight_map")


def test_no_tokenizer(tmp_path, model):
    os.unlink(os.path.join(model, "tokenizer.json"))
    fails(model, tmp_path, "no tokenizer.json; pass --vocab bytes or --vocab FROM.gguf")
    g = Gguf(convert_ok(model, str(tmp_path / "bytes.gguf"), "--vocab", "bytes"))
    # the 259 byte-vocabulary tokens, padded with [PADn] (type unused) to the model's vocab_size,
    # as llama.cpp's converter pads, so that readers agree on the vocabulary size
    toks = g.kv["tokenizer.ggml.tokens"]
    assert g.kv["tokenizer.ggml.model"] == "llama" and len(toks) == g.tensors["token_embd.weight"]["ne"][1]
    assert toks[258] == "<0xFF>" and all(t == "[PAD%d]" % i for i, t in enumerate(toks) if i >= 259)
    assert all(t == 5 for t in g.kv["tokenizer.ggml.token_type"][259:])


def test_tokenizer_id_outside_vocabulary(tmp_path, model):
    path = os.path.join(model, "tokenizer.json")
    with open(path, encoding="utf-8") as f:
        t = json.load(f)
    t["added_tokens"][0]["id"] = 5000
    with open(path, "w", encoding="utf-8") as f:
        json.dump(t, f)
    fails(model, tmp_path, "added_tokens[0].id: id 5000 is outside the model's vocab_size 320")


def test_unsupported_tokenizer_model(tmp_path, model):
    path = os.path.join(model, "tokenizer.json")
    with open(path, encoding="utf-8") as f:
        t = json.load(f)
    t["model"]["type"] = "Unigram"
    with open(path, "w", encoding="utf-8") as f:
        json.dump(t, f)
    fails(model, tmp_path, "only byte-level BPE tokenizers are converted (this one is Unigram)")


def test_bad_vocab_file(tmp_path, model):
    fails(model, tmp_path, "--vocab /nonexistent.gguf:", "--vocab", "/nonexistent.gguf")


@pytest.mark.parametrize("args", [["--dtype", "q4_0"], ["--dtype", "f64"], [], ["--bogus"]])
def test_bad_usage(tmp_path, model, args):
    p = subprocess.run([refutil.need(refutil.SLUICE, "sluice"), "model", "convert", model] +
                       (["-o", str(tmp_path / "x.gguf")] if args else []) + args, capture_output=True, text=True)
    assert p.returncode == 2, p.stderr
    assert not (tmp_path / "x.gguf").exists()


def test_merges_as_pairs(tmp_path, model):
    """transformers >= 4.45 writes merges as pairs; spaces inside them become U+0120, as llama.cpp writes."""
    path = os.path.join(model, "tokenizer.json")
    with open(path, encoding="utf-8") as f:
        t = json.load(f)
    strings = t["model"]["merges"]
    t["model"]["merges"] = [m.split(" ") for m in strings] + [["a b", "c"]]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(t, f)
    merges = Gguf(convert_ok(model, str(tmp_path / "m.gguf"), "--dtype", "f32")).kv["tokenizer.ggml.merges"]
    assert merges == strings + ["a\u0120b c"]
