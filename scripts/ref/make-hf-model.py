#!/usr/bin/env python3
"""make-hf-model.py: writes tiny random-weight Hugging Face model directories, the same bytes on any machine.

Usage: make-hf-model.py OUTDIR [--variant NAME]... [--shards N] [--list]

Writes OUTDIR/NAME/ for each variant (all of them by default): config.json, model.safetensors (or N shards
model-0000i-of-0000N.safetensors with model.safetensors.index.json), tokenizer.json and tokenizer_config.json,
in the layout transformers and llama.cpp's convert_hf_to_gguf.py read. Python 3 standard library only.

Determinism: every weight comes from integer arithmetic and correctly rounded IEEE operations only (no
libm: log/sin/cos may differ in the last bit between C libraries). Each tensor has its own stream:
splitmix64 seeded with FNV-1a-64(tensor name) XOR the variant's seed. One 64-bit output gives one
weight: its four 16-bit words are summed (an Irwin-Hall approximation of a normal distribution:
mean 2, variance 1/3), centred and scaled to unit variance, then multiplied by the tensor's standard
deviation and rounded to float32 (and to bfloat16, round-to-nearest-even, for BF16 variants).

Scales (why not the usual N(0, 0.02) everywhere): with tiny initialisations attention is uniform and
the output hardly depends on positions, so a wrong RoPE, a wrong Q/K row permutation or a missing bias
would change the logits by less than the 1e-3 the reference test allows. Here Q and K are scaled so that
attention scores have a standard deviation of about 4 (peaked attention), biases are large, norm
weights are 1 + N(0, 0.1) so that mixing them up shows, and every block adds to the residual stream
about as much as the embedding holds.
"""

import argparse
import json
import os
import struct
import sys

MASK64 = (1 << 64) - 1

# name -> hyper-parameters. Keep the golden files (tests/data/ref/) in step: regenerate them with
# scripts/ref/hf-logits.py after any change here (the test checks the sha256 of every file).
VARIANTS = {
    # Llama, grouped-query attention (2 query heads per K/V head), output tied to the embedding.
    "llama-gqa-tied": dict(arch="llama", hidden=64, heads=4, kv_heads=2, ffn=192, layers=2, vocab=320,
                           rope_theta=10000.0, tied=True, rms_eps=1e-5, max_pos=256, seed=1),
    # Llama, 3 query heads per K/V head, separate lm_head, and a head_dim other than hidden / heads
    # (as Mistral Nemo has): Q is 6 x 32 = 192 wide on a 96-wide residual stream.
    "llama-gqa-untied": dict(arch="llama", hidden=96, heads=6, kv_heads=2, head_dim=32, ffn=256, layers=2,
                             vocab=400, rope_theta=10000.0, tied=False, rms_eps=1e-5, max_pos=256, seed=2),
    # Llama 3.1-style RoPE scaling. original_max_position_embeddings is small so that the smoothing
    # band covers some of the 16 frequencies (wavelengths 6.3 .. 1.4e6 for theta 5e5, head_dim 32):
    # one is kept, one is smoothed, the others are divided by 8.
    "llama3-rope": dict(arch="llama", hidden=128, heads=4, kv_heads=1, ffn=320, layers=2, vocab=384,
                        rope_theta=500000.0, tied=True, rms_eps=1e-5, max_pos=1024, seed=3,
                        rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                          high_freq_factor=4.0, original_max_position_embeddings=32)),
    # Qwen2: Q/K/V biases, NeoX-style RoPE, theta 1e6, untied.
    "qwen2-bias": dict(arch="qwen2", hidden=64, heads=4, kv_heads=2, ffn=224, layers=2, vocab=352,
                       rope_theta=1000000.0, tied=False, rms_eps=1e-6, max_pos=512, seed=4),
    # The same shapes stored as BF16 (every tensor, norms and biases included), as most checkpoints are.
    "qwen2-bias-bf16": dict(arch="qwen2", hidden=64, heads=4, kv_heads=2, ffn=224, layers=2, vocab=352,
                            rope_theta=1000000.0, tied=False, rms_eps=1e-6, max_pos=512, seed=5,
                            dtype="BF16"),
}

# Special tokens, appended after the byte-level BPE vocabulary.
SPECIALS = {
    "llama": ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"],
    "qwen2": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
}

# The pre-tokenizer split patterns of Llama 3 and Qwen2 (llama.cpp calls them "llama-bpe" and "qwen2").
PRETOK_REGEX = {
    "llama": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
             r"|\s*[\r\n]+|\s+(?!\S)|\s+",
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
             r"|\s*[\r\n]+|\s+(?!\S)|\s+",
}

N_MERGES = 40

# A fixed text the tiny BPE is trained on (any text would do; this one must never change).
CORPUS = (
    "the quick brown fox jumps over the lazy dog. then the dog sleeps in the sun, and the fox "
    "runs to the river where the water is cold. there is a tree near the river; in the tree there "
    "are three birds that sing in the morning and in the evening. the other animals listen to them "
    "and then they go to their homes to rest until the next morning comes again."
)


def splitmix64(state):
    """Returns (new state, output)."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & MASK64
    return h


def normals(n, seed, std):
    """n float32-rounded values with mean 0 and standard deviation std (see the file comment)."""
    # sum of four (k + 0.5) / 65536 has mean 2 and variance 4 / 12; (sum - 2) * sqrt(3) has variance 1.
    # (w0 + w1 + w2 + w3 + 2 - 131072) / 65536 is exact in a double; one rounding multiplies by scale.
    scale = std * 1.7320508075688772 / 65536.0
    state = seed
    out = [0.0] * n
    for i in range(n):
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z ^= z >> 31
        s = (z & 0xFFFF) + ((z >> 16) & 0xFFFF) + ((z >> 32) & 0xFFFF) + (z >> 48) + 2 - 131072
        out[i] = s * scale
    return out


def f32_bytes(values):
    return struct.pack("<%df" % len(values), *values)


def bf16_bytes(values):
    """Rounds each value (already a float32 when packed) to bfloat16, to nearest even."""
    words = struct.unpack("<%dI" % len(values), f32_bytes(values))
    out = bytearray(2 * len(words))
    for i, w in enumerate(words):
        r = (w + 0x7FFF + ((w >> 16) & 1)) >> 16
        out[2 * i] = r & 0xFF
        out[2 * i + 1] = r >> 8
    return bytes(out)


def tensor_specs(p):
    """(HF name, shape, standard deviation or ('norm',)) for every tensor of variant p, in HF naming."""
    d, hd = p["hidden"], p.get("head_dim", p["hidden"] // p["heads"])
    q, kv, f = p["heads"] * hd, p["kv_heads"] * hd, p["ffn"]
    inv = lambda fan_in, gain: gain / fan_in ** 0.5  # noqa: E731
    # embedding rows of norm about 1, so that tied logits (normed state . embedding row) are O(1) too
    specs = [("model.embed_tokens.weight", [p["vocab"], d], inv(d, 1.0)), ("model.norm.weight", [d], "norm")]
    if not p["tied"]:
        specs.append(("lm_head.weight", [p["vocab"], d], inv(d, 1.0)))
    for i in range(p["layers"]):
        b = "model.layers.%d." % i
        specs += [
            (b + "input_layernorm.weight", [d], "norm"),
            (b + "self_attn.q_proj.weight", [q, d], inv(d, 2.0)),
            (b + "self_attn.k_proj.weight", [kv, d], inv(d, 2.0)),
            (b + "self_attn.v_proj.weight", [kv, d], inv(d, 1.0)),
            (b + "self_attn.o_proj.weight", [d, q], inv(q, 0.5)),
            (b + "post_attention_layernorm.weight", [d], "norm"),
            (b + "mlp.gate_proj.weight", [f, d], inv(d, 1.0)),
            (b + "mlp.up_proj.weight", [f, d], inv(d, 1.0)),
            (b + "mlp.down_proj.weight", [d, f], inv(f, 0.5)),
        ]
        if p["arch"] == "qwen2":
            specs += [
                (b + "self_attn.q_proj.bias", [q], 0.5),
                (b + "self_attn.k_proj.bias", [kv], 0.5),
                (b + "self_attn.v_proj.bias", [kv], 0.1),
            ]
    return specs


def tensor_values(name, shape, std, seed):
    n = 1
    for s in shape:
        n *= s
    s = fnv1a64(name) ^ seed
    if std == "norm":
        return [1.0 + x for x in normals(n, s, 0.1)]
    return normals(n, s, std)


def safetensors_bytes(tensors):
    """tensors: list of (name, dtype, shape, raw bytes). The layout the safetensors library writes:
    8-byte little-endian header size, JSON header (keys sorted, padded with spaces to 8 bytes), data."""
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, dtype, shape, raw in sorted(tensors, key=lambda t: t[0]):
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")
    text += b" " * (-len(text) % 8)
    data = b"".join(raw for _, _, _, raw in sorted(tensors, key=lambda t: t[0]))
    return struct.pack("<Q", len(text)) + text + data


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def train_bpe(n_merges):
    """A deterministic byte-level BPE on CORPUS: the vocabulary (byte order first) and the merges."""
    b2u = bytes_to_unicode()
    vocab = [b2u[b] for b in range(256)]
    words = {}
    for i, w in enumerate(CORPUS.split(" ")):
        # GPT-2 style pieces: a word with its leading space, punctuation apart
        for piece in ([w] if w.isalpha() else [w.rstrip(".,;"), w[len(w.rstrip(".,;")):]]):
            if not piece:
                continue
            text = (" " if i > 0 and piece[0].isalpha() else "") + piece
            key = tuple(b2u[b] for b in text.encode("utf-8"))
            words[key] = words.get(key, 0) + 1
    merges = []
    for _ in range(n_merges):
        pairs = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            break
        best = min(pairs, key=lambda ab: (-pairs[ab], ab))
        merges.append(best)
        vocab.append(best[0] + best[1])
        new_words = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words[tuple(out)] = new_words.get(tuple(out), 0) + c
        words = new_words
    assert len(set(vocab)) == len(vocab), "a merge made a token twice"
    return vocab, merges


def tokenizer_files(p):
    """tokenizer.json and tokenizer_config.json of a variant, as dicts."""
    vocab, merges = train_bpe(N_MERGES)
    specials = SPECIALS[p["arch"]]
    added = []
    for i, s in enumerate(specials):
        added.append({"id": len(vocab) + i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": True})
    assert len(vocab) + len(specials) <= p["vocab"], "tokenizer larger than the embedding"
    if p["arch"] == "llama":
        bos, eos = specials[0], specials[1]
        post = {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {bos: {"id": bos, "ids": [len(vocab)], "tokens": [bos]}}},
        ]}
        config = {"bos_token": bos, "eos_token": eos, "clean_up_tokenization_spaces": True,
                  "model_max_length": p["max_pos"], "tokenizer_class": "PreTrainedTokenizerFast"}
    else:
        post = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
        config = {"bos_token": None, "eos_token": specials[2], "pad_token": specials[0], "add_bos_token": False,
                  "clean_up_tokenization_spaces": False, "model_max_length": p["max_pos"],
                  "tokenizer_class": "PreTrainedTokenizerFast"}
    config["added_tokens_decoder"] = {str(a["id"]): {k: v for k, v in a.items() if k != "id"} for a in added}
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": PRETOK_REGEX[p["arch"]]}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ]},
        "post_processor": post,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": p["arch"] == "llama",
                  "vocab": {t: i for i, t in enumerate(vocab)},
                  "merges": [a + " " + b for a, b in merges]},
    }
    return tok, config


def config_json(p):
    hd = p.get("head_dim", p["hidden"] // p["heads"])
    n_tok = len(train_bpe(N_MERGES)[0])  # the first special token's id
    c = {
        "architectures": ["LlamaForCausalLM" if p["arch"] == "llama" else "Qwen2ForCausalLM"],
        "model_type": p["arch"],
        "hidden_size": p["hidden"],
        "intermediate_size": p["ffn"],
        "num_hidden_layers": p["layers"],
        "num_attention_heads": p["heads"],
        "num_key_value_heads": p["kv_heads"],
        "vocab_size": p["vocab"],
        "max_position_embeddings": p["max_pos"],
        "rms_norm_eps": p["rms_eps"],
        "rope_theta": p["rope_theta"],
        "rope_scaling": p.get("rope_scaling"),
        "tie_word_embeddings": p["tied"],
        "hidden_act": "silu",
        "attention_dropout": 0.0,
        "initializer_range": 0.02,
        "use_cache": True,
        "torch_dtype": "bfloat16" if p.get("dtype") == "BF16" else "float32",
    }
    if p["arch"] == "llama":
        c.update({"head_dim": hd, "attention_bias": False, "mlp_bias": False, "pretraining_tp": 1,
                  "bos_token_id": n_tok, "eos_token_id": n_tok + 1})
    else:
        c.update({"use_sliding_window": False, "sliding_window": None, "max_window_layers": p["layers"],
                  "bos_token_id": n_tok, "eos_token_id": n_tok})
    return c


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def write_variant(outdir, name, shards):
    p = VARIANTS[name]
    dtype = p.get("dtype", "F32")
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    tensors = []
    for tname, shape, std in tensor_specs(p):
        values = tensor_values(tname, shape, std, p["seed"])
        tensors.append((tname, dtype, shape, bf16_bytes(values) if dtype == "BF16" else f32_bytes(values)))
    tensors.sort(key=lambda t: t[0])
    # remove what an earlier run with another --shards left behind
    for f in os.listdir(d):
        if f.startswith("model") and (f.endswith(".safetensors") or f.endswith(".safetensors.index.json")):
            os.unlink(os.path.join(d, f))
    if shards <= 1:
        with open(os.path.join(d, "model.safetensors"), "wb") as f:
            f.write(safetensors_bytes(tensors))
    else:
        weight_map, total = {}, 0
        per = -(-len(tensors) // shards)
        for k in range(shards):
            part = tensors[k * per:(k + 1) * per]
            fname = "model-%05d-of-%05d.safetensors" % (k + 1, shards)
            with open(os.path.join(d, fname), "wb") as f:
                f.write(safetensors_bytes(part))
            for t in part:
                weight_map[t[0]] = fname
                total += len(t[3])
        write_json(os.path.join(d, "model.safetensors.index.json"),
                   {"metadata": {"total_size": total}, "weight_map": weight_map})
    write_json(os.path.join(d, "config.json"), config_json(p))
    tok, tok_config = tokenizer_files(p)
    write_json(os.path.join(d, "tokenizer.json"), tok)
    write_json(os.path.join(d, "tokenizer_config.json"), tok_config)
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir", nargs="?")
    ap.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="only this variant (repeatable)")
    ap.add_argument("--shards", type=int, default=1, help="split the weights into N safetensors files")
    ap.add_argument("--list", action="store_true", help="print the variant names and exit")
    args = ap.parse_args()
    if args.list:
        print("\n".join(VARIANTS))
        return 0
    if not args.outdir:
        ap.error("OUTDIR is required")
    if args.shards < 1 or args.shards > 99:
        ap.error("--shards must be 1..99")
    for name in args.variant or list(VARIANTS):
        print(write_variant(args.outdir, name, args.shards))
    return 0


if __name__ == "__main__":
    sys.exit(main())
