#!/usr/bin/env python3
"""hf-logits.py: golden logits from transformers for the tiny models make-hf-model.py writes.

Usage: python3 scripts/ref/hf-logits.py OUTDIR [--models DIR] [--variant NAME]...

Runs where torch and transformers are installed (the GPU machines have them; the computation runs on
the CPU, in float32, so that no TF32 or kernel choice changes the numbers). Unless --models names a
directory that make-hf-model.py already filled, it runs make-hf-model.py itself into a temporary
directory. For each variant it loads the model with AutoModelForCausalLM (float32, eager attention),
checks that every weight transformers holds equals the one in the safetensors file (so that nothing
was silently re-initialised), feeds a fixed list of token ids and writes OUTDIR/<variant>.json:

  variant, versions (python, torch, transformers), files (sha256 of every file of the model directory,
  which the test compares with what it regenerates), tokens, logits (one row of vocab_size values per
  position, 7 significant digits), argmax per position, inv_freq (transformers' RoPE frequencies) and
  tokenize (ids transformers' tokenizer gives a few strings, for the tokenizer tests), and quantised:
  the logits again after every weight matrix was rounded the way `sluice model convert --dtype D` stores
  it (D = bf16, q8_0; norms and biases stay f32; f16 is left out to keep the files small, the test
  checks it against the float32 logits), so that sluice's quantised models can be checked
  tightly against what their stored weights compute, not only loosely against the float32 logits.

tests/ref/test_hf_reference.py compares sluice's logits for the converted models with these.
"""

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
N_POSITIONS = 16
TOKENIZE_TEXTS = ["the quick brown fox", "Hello, world! 123 4567", "  two  spaces\nand a newline"]


def token_ids(vocab_size):
    """16 ids below vocab_size, spread over the vocabulary, with two repeats (the same token at two
    positions differs only by its position, which makes the check sensitive to RoPE)."""
    ids = [(7 + 13 * i + 61 * i * i) % vocab_size for i in range(N_POSITIONS)]
    ids[9] = ids[2]
    ids[14] = ids[5]
    return ids


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def round7(x):
    return float("%.7g" % x)


def round6(x):
    return float("%.6g" % x)


QUANTISED = ("bf16", "q8_0")


def simulate(w, dtype, torch):
    """A weight matrix (rows, cols) as the converter stores it in dtype, widened back to float32.
    q8_0 as engine/quant.c quantises it: blocks of 32 along a row, d = max|x| / 127 (stored as f16),
    q = round-half-even(x * (1 / d)); rows that are not a multiple of 32 fall back to f16, as in the
    converter. The Q/K row permutation of llama models does not matter: it moves whole rows."""
    if dtype == "f16":
        return w.half().float()
    if dtype == "bf16":
        return w.bfloat16().float()
    rows, cols = w.shape
    if cols % 32:
        return w.half().float()
    b = w.reshape(rows, cols // 32, 32)
    d = b.abs().amax(dim=-1, keepdim=True) / 127.0
    inv = torch.where(d != 0, 1.0 / d, torch.zeros_like(d))
    q = torch.round(b * inv)
    return (d.half().float() * q).reshape(rows, cols)


def load_model(path, torch, transformers):
    kwargs = dict(attn_implementation="eager")
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, **kwargs)
    except TypeError:  # transformers < 4.56 spells it torch_dtype
        model = transformers.AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32, **kwargs)
    model = model.to("cpu").float()
    model.eval()
    return model


def check_weights(model, path, config, torch):
    """Every tensor of the safetensors files must be in the model, bit for bit (after widening to f32)."""
    from safetensors.torch import load_file

    files = sorted(f for f in os.listdir(path) if f.endswith(".safetensors"))
    state = model.state_dict()
    seen = set()
    for f in files:
        for name, t in load_file(os.path.join(path, f)).items():
            if name not in state:
                raise SystemExit("%s: tensor %s is not in the transformers model" % (path, name))
            if not torch.equal(state[name].float().cpu(), t.float()):
                raise SystemExit("%s: tensor %s differs from the file" % (path, name))
            seen.add(name)
    if config.get("tie_word_embeddings"):
        if not torch.equal(model.get_output_embeddings().weight, model.get_input_embeddings().weight):
            raise SystemExit("%s: tied model, but lm_head differs from the embedding" % path)
        seen.add("lm_head.weight")
    missing = sorted(n for n in state if n not in seen and not n.endswith("rotary_emb.inv_freq"))
    if missing:
        raise SystemExit("%s: weights not taken from the file: %s" % (path, ", ".join(missing)))


def inv_freq_of(model):
    for name, buf in model.named_buffers():
        if name.endswith("rotary_emb.inv_freq"):
            return [float(x) for x in buf.float().cpu()]
    return None


def tokenize(path):
    try:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
        return [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in TOKENIZE_TEXTS]
    except Exception as e:  # the logits matter more than this extra
        return {"error": "%s: %s" % (type(e).__name__, e)}


def run_variant(name, path, torch, transformers):
    with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    model = load_model(path, torch, transformers)
    check_weights(model, path, config, torch)
    ids = token_ids(config["vocab_size"])
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids], dtype=torch.long)).logits[0].float().cpu()
    if tuple(logits.shape) != (N_POSITIONS, config["vocab_size"]):
        raise SystemExit("%s: logits have shape %s" % (name, tuple(logits.shape)))
    quantised = {}
    for dtype in QUANTISED:
        qmodel = load_model(path, torch, transformers)
        with torch.no_grad():
            for _, p in qmodel.named_parameters():  # tied weights come once, as in the converter
                if p.dim() == 2:
                    p.copy_(simulate(p.detach().float(), dtype, torch))
            q = qmodel(input_ids=torch.tensor([ids], dtype=torch.long)).logits[0].float().cpu()
        quantised[dtype] = {"argmax": [int(i) for i in q.argmax(dim=-1)],
                            "logits": [[round6(float(x)) for x in row] for row in q]}
    rope = getattr(model.config, "rope_parameters", None) or getattr(model.config, "rope_scaling", None)
    return {
        "variant": name,
        "generator": "scripts/ref/make-hf-model.py",
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__},
        "files": {f: sha256(os.path.join(path, f)) for f in sorted(os.listdir(path))},
        "config_rope": json.loads(json.dumps(rope, default=str)) if rope is not None else None,
        "tokens": ids,
        "vocab_size": config["vocab_size"],
        "argmax": [int(i) for i in logits.argmax(dim=-1)],
        "inv_freq": inv_freq_of(model),
        "tokenize": tokenize(path),
        "logits": [[round7(float(x)) for x in row] for row in logits],
        "quantised": quantised,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--models", help="directory make-hf-model.py wrote (default: make them now)")
    ap.add_argument("--variant", action="append", help="only this variant (repeatable)")
    args = ap.parse_args()

    import torch
    import transformers

    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(args.outdir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        models = args.models
        if not models:
            models = tmp
            cmd = [sys.executable, os.path.join(HERE, "make-hf-model.py"), models]
            for v in args.variant or []:
                cmd += ["--variant", v]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        names = args.variant or sorted(d for d in os.listdir(models) if os.path.isfile(os.path.join(models, d, "config.json")))
        if not names:
            raise SystemExit("no model directories in %s" % models)
        for name in names:
            out = run_variant(name, os.path.join(models, name), torch, transformers)
            dest = os.path.join(args.outdir, name + ".json")
            with open(dest, "w", encoding="utf-8") as f:
                json.dump(out, f, separators=(",", ":"))
                f.write("\n")
            scale = max(abs(x) for row in out["logits"] for x in row)
            errs = ", ".join("%s %.3g" % (d, max(abs(a - b) for ra, rb in zip(out["logits"], q["logits"])
                                                 for a, b in zip(ra, rb)) / scale)
                             for d, q in out["quantised"].items())
            print("%s: %d positions, argmax %s; max|diff|/max|logit| of stored weight types: %s "
                  "(torch %s, transformers %s)" % (dest, len(out["logits"]), out["argmax"], errs, torch.__version__,
                                                   transformers.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
