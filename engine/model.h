/* model.h: a llama-family model read from GGUF: its Config and its Weights (views into the mmap). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "gguf.h"
#include "macro.h"

typedef enum ModelArch {
        MODEL_ARCH_LLAMA, /* Llama 2/3, Mistral, TinyLlama: rope on adjacent pairs (GGUF's Q/K row order) */
        MODEL_ARCH_QWEN2, /* Qwen2: QKV bias, rope on halves (NeoX order) */
} ModelArch;

typedef struct Config {
        ModelArch arch;
        uint32_t dim;        /* embedding length */
        uint32_t hidden_dim; /* feed-forward length */
        uint32_t n_layers;
        uint32_t n_heads;
        uint32_t n_kv_heads; /* n_heads / n_kv_heads query heads share one K/V head (GQA) */
        uint32_t head_dim;
        uint32_t vocab_size;
        uint32_t n_ctx_train; /* context length the model was trained for */
        float norm_eps;
        float rope_theta;
        bool rope_neox;       /* rotate (i, i + head_dim/2) instead of (2i, 2i+1) */
        bool tied_output;     /* output projection is the token embedding */
        bool qkv_bias;
        char name[128];       /* general.name, or "" */
} Config;

/* A weight matrix (or vector when rows == 1): rows of cols weights of one type, row-major. */
typedef struct Tensor {
        const void *data;
        GgufTensorType type;
        uint32_t rows, cols;
        size_t row_bytes;
} Tensor;

typedef struct LayerWeights {
        Tensor attn_norm;             /* (dim) f32 */
        Tensor wq, wk, wv;            /* (n_heads*head_dim, dim), (n_kv_heads*head_dim, dim) x2 */
        Tensor bq, bk, bv;            /* qwen2 only: f32 biases of the above; data NULL otherwise */
        Tensor wo;                    /* (dim, n_heads*head_dim) */
        Tensor ffn_norm;              /* (dim) f32 */
        Tensor w_gate, w_up;          /* (hidden_dim, dim) */
        Tensor w_down;                /* (dim, hidden_dim) */
} LayerWeights;

typedef struct Weights {
        Tensor tok_embd;      /* (vocab, dim) */
        Tensor output_norm;   /* (dim) f32 */
        Tensor output;        /* (vocab, dim): tok_embd when tied */
        Tensor rope_freqs;    /* (head_dim/2) f32 divisors of the rope frequencies (Llama 3 scaling), or NULL data */
        LayerWeights *layers; /* n_layers */
} Weights;

typedef struct Model {
        Config config;
        Weights weights;
        Gguf *gguf; /* owns the mmap the weights point into */
        uint64_t n_params;
        size_t weight_bytes;
} Model;

/* Reads the Config and Weights of an opened GGUF file. Takes ownership of g on success. Rejects an
 * architecture other than llama/qwen2, missing or inconsistent hyper-parameters, missing tensors,
 * tensors of the wrong shape, and weight types the engine cannot compute with — each with a message
 * naming the key or tensor. */
int model_load_gguf(Gguf *g, Model **ret, char *err, size_t errsz);
/* Opens path and loads it. */
int model_load(const char *path, Model **ret, char *err, size_t errsz);
Model *model_free(Model *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Model *, model_free);

const char *model_arch_name(ModelArch a);
