/* modelgen.h: deterministic random-weight models in GGUF, for tests, demos and benchmarks. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "gguf-write.h"
#include "gguf.h"
#include "model.h"

typedef struct ModelGenParams {
        ModelArch arch;
        uint32_t dim, n_layers, n_heads, n_kv_heads, hidden_dim;
        uint32_t vocab_size;  /* embedding rows; 0: the tokenizer's size */
        uint32_t n_ctx;       /* context length written to the file */
        float rope_theta;
        bool tied;            /* output projection shares the token embedding */
        GgufTensorType dtype; /* f32, f16, bf16, q8_0, q4_k or q6_k for the matrices (norms stay f32) */
        uint64_t seed;
        const char *vocab_from; /* GGUF file whose tokenizer.* metadata is copied, or NULL: a byte vocab */
        const char *name;       /* general.name */
} ModelGenParams;

/* Named shapes: "tiny" (a few MB), "llama-100m", "llama-3.2-1b", "llama-3-8b", "qwen2-tiny".
 * Fills *p (dtype, seed and vocab are left as they were). -ENOENT for another name. */
int modelgen_preset(const char *name, ModelGenParams *p);
/* Lists the preset names, NULL-terminated. */
const char *const *modelgen_preset_names(void);

/* Vocabulary metadata for a GGUF being written, the per-token arrays padded to n entries with
 * "[PADn]" tokens of type unused (as llama.cpp's converter does) so that every reader agrees on
 * the vocabulary size. The byte vocabulary is <unk>, <s>, </s> and the 256 <0xXX> byte tokens
 * (SentencePiece-style); n below 259 means 259. Copying takes every tokenizer.* key of src and
 * rejects an n below src's token count (-EINVAL, message in err); *ret_n is the count written. */
int modelgen_write_byte_vocab(GgufWriter *w, uint32_t n);
int modelgen_copy_vocab(GgufWriter *w, const Gguf *src, uint32_t n, uint32_t *ret_n, char *err, size_t errsz);

/* Writes a model with weights drawn from N(0, 0.02) (norms 1, biases N(0, 0.02)) by a generator
 * seeded with p->seed, so the same parameters give the same file. progress, when not NULL, is
 * called after each tensor with (done, total). Rejects inconsistent shapes (-EINVAL, message in
 * err). */
int modelgen_write(const ModelGenParams *p, const char *path, void (*progress)(uint64_t done, uint64_t total),
                   char *err, size_t errsz);
