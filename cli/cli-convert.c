/* cli-convert.c: `sluice model convert`: a Hugging Face safetensors directory (llama, qwen2) to GGUF, as llama.cpp's
 * convert_hf_to_gguf.py writes it. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fileio.h"
#include "gguf-write.h"
#include "gguf.h"
#include "json.h"
#include "model.h"
#include "modelgen.h"
#include "quant.h"
#include "safetensors.h"

#define CONFIG_MAX ((size_t) 4 << 20)      /* config.json, tokenizer_config.json, the shard index */
#define TOKENIZER_MAX ((size_t) 256 << 20) /* tokenizer.json (Llama 3's is 9 MB) */
#define CHAT_TEMPLATE_MAX ((size_t) 1 << 20)
#define MAX_SHARDS 1024

/* Token types, numbered as llama.cpp's (gguf.TokenType). */
enum {
        TOKEN_NORMAL = 1,
        TOKEN_UNKNOWN = 2,
        TOKEN_CONTROL = 3,
        TOKEN_USER_DEFINED = 4,
        TOKEN_UNUSED = 5,
        TOKEN_BYTE = 6
};

/* One output tensor: where it comes from and what it becomes. */
typedef struct ConvItem {
        char gguf_name[GGUF_TENSOR_NAME_MAX + 1];
        char hf_name[160];      /* "" for a tensor made here (rope_freqs) */
        uint64_t rows, cols;    /* expected HF shape [rows, cols]; vectors have rows == 1 */
        bool vector;            /* 1-D: stays f32 */
        uint32_t permute_heads; /* llama Q/K: undo HF's rotate-half row order over this many heads; 0: none */
        const SafetensorsTensor *src;
        float *made; /* the values of a tensor made here (cols floats) */
        GgufTensorType type;
        void *data;
        size_t size;
} ConvItem;

typedef struct Convert {
        const char *dir;
        GgufTensorType dtype;
        const char *vocab; /* NULL: tokenizer.json; "bytes"; else a GGUF file to copy tokenizer.* from */
        char err[1024];

        cJSON *config, *tok_config; /* config.json, tokenizer_config.json (or NULL) */
        ModelArch arch;
        const char *hf_arch;
        uint32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, head_dim, vocab_size, n_ctx;
        bool explicit_head_dim, tied;
        double norm_eps, rope_theta;
        bool rope_llama3;
        double rope_factor, rope_low, rope_high, rope_orig_ctx;

        Safetensors **shards;
        char **shard_files;
        size_t n_shards;

        ConvItem *items;
        size_t n_items;
        GgufWriter *w;
        const char *vocab_source; /* for the summary line */
} Convert;

static int conv_errorf(Convert *c, int r, const char *fmt, ...) _printf_(3, 4);
static int conv_errorf(Convert *c, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(c->err, sizeof c->err, fmt, ap);
        va_end(ap);
        return r;
}

static void convert_done(Convert *c) {
        cJSON_Delete(c->config);
        cJSON_Delete(c->tok_config);
        for (size_t i = 0; i < c->n_shards; i++) {
                safetensors_close(c->shards[i]);
                free(c->shard_files[i]);
        }
        free(c->shards);
        free(c->shard_files);
        for (size_t i = 0; i < c->n_items; i++) {
                free(c->items[i].made);
                free(c->items[i].data);
        }
        free(c->items);
        gguf_writer_free(c->w);
}

static char *path_join(const char *dir, const char *name) {
        char *p;

        return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/* Reads DIR/name as JSON. A missing optional file gives 0 and *ret NULL. */
static int read_json_file(Convert *c, const char *name, size_t max, bool optional, cJSON **ret) {
        _cleanup_free_ char *path = path_join(c->dir, name), *text = NULL;
        char jerr[256];
        size_t len;
        int r;

        if (!path)
                return -ENOMEM;
        r = file_read_all(path, max, &text, &len);
        if (r == -ENOENT && optional) {
                *ret = NULL;
                return 0;
        }
        if (r == -EFBIG)
                return conv_errorf(c, r, "%s: larger than %zu bytes", path, max);
        if (r < 0)
                return conv_errorf(c, r, "%s: %s", path, strerror(-r));
        r = json_parse(text, len, ret, jerr, sizeof jerr);
        if (r < 0)
                return conv_errorf(c, r, "%s: %s", path, jerr);
        if (!cJSON_IsObject(*ret)) {
                cJSON_Delete(*ret);
                *ret = NULL;
                return conv_errorf(c, -EINVAL, "%s: expected a JSON object", path);
        }
        return 0;
}

/* ---- config.json ---- */

/* A whole-number field in [min, max]; optional ones keep *ret when absent (or null). */
static int config_u32(Convert *c, const cJSON *obj, const char *key, uint32_t min, uint32_t max, bool optional,
                      uint32_t *ret) {
        char jerr[256];
        int64_t v;
        int r = json_get_int(obj, key, min, max, &v, jerr, sizeof jerr);

        if (r == -ENOENT && optional)
                return 0;
        if (r < 0)
                return conv_errorf(c, r, "%s/config.json: %s", c->dir, jerr);
        *ret = (uint32_t) v;
        return 0;
}

static int config_double(Convert *c, const cJSON *obj, const char *prefix, const char *key, double *ret) {
        char jerr[256];
        int r = json_get_double(obj, key, ret, jerr, sizeof jerr);

        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return conv_errorf(c, r, "%s/config.json: %s%s", c->dir, prefix, jerr);
        if (!isfinite(*ret) || *ret <= 0)
                return conv_errorf(c, -EINVAL, "%s/config.json: %s%s: must be a positive number", c->dir, prefix, key);
        return 0;
}

/* A boolean field that, when true, asks for something the engine cannot do. */
static int config_refuse_true(Convert *c, const char *key, const char *why) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->config, key);

        if (v && !cJSON_IsBool(v) && !cJSON_IsNull(v))
                return conv_errorf(c, -EINVAL, "%s/config.json: %s: expected boolean", c->dir, key);
        if (cJSON_IsTrue(v))
                return conv_errorf(c, -EOPNOTSUPP, "%s/config.json: %s is true: %s", c->dir, key, why);
        return 0;
}

static int read_arch(Convert *c) {
        static const struct {
                const char *hf, *model_type;
                ModelArch arch;
        } archs[] = {
                { "LlamaForCausalLM", "llama", MODEL_ARCH_LLAMA },
                { "MistralForCausalLM", "mistral", MODEL_ARCH_LLAMA },
                { "Qwen2ForCausalLM", "qwen2", MODEL_ARCH_QWEN2 },
        };
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(c->config, "architectures");
        const char *name = NULL;
        char jerr[256];

        if (a && !cJSON_IsNull(a)) {
                if (!cJSON_IsArray(a) || !cJSON_IsString(a->child))
                        return conv_errorf(c, -EINVAL, "%s/config.json: architectures: expected an array of strings",
                                           c->dir);
                name = a->child->valuestring;
        } else if (json_get_string(c->config, "model_type", &name, jerr, sizeof jerr) < 0)
                return conv_errorf(c, -ENOENT, "%s/config.json: missing field \"architectures\" (or \"model_type\")",
                                   c->dir);
        for (size_t i = 0; i < ELEMENTSOF(archs); i++)
                if (streq(name, archs[i].hf) || streq(name, archs[i].model_type)) {
                        c->arch = archs[i].arch;
                        c->hf_arch = archs[i].hf;
                        return 0;
                }
        return conv_errorf(c, -EOPNOTSUPP,
                           "%s/config.json: architecture \"%.64s\" is not supported (supported: LlamaForCausalLM, "
                           "MistralForCausalLM, Qwen2ForCausalLM)",
                           c->dir, name);
}

/* RoPE: transformers 5 writes rope_parameters (with rope_theta inside), older versions rope_theta and
 * rope_scaling. Only the default and Llama 3 frequency schemes are supported. */
static int read_rope(Convert *c) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(c->config, "rope_parameters");
        const char *field = "rope_parameters.";
        const char *type = "default";
        int r;

        c->rope_theta = 10000.0; /* transformers' default for llama and qwen2 */
        r = config_double(c, c->config, "", "rope_theta", &c->rope_theta);
        if (r < 0)
                return r;
        if (!p || cJSON_IsNull(p)) {
                p = cJSON_GetObjectItemCaseSensitive(c->config, "rope_scaling");
                field = "rope_scaling.";
        }
        if (!p || cJSON_IsNull(p))
                return 0;
        if (!cJSON_IsObject(p))
                return conv_errorf(c, -EINVAL, "%s/config.json: %.*s: expected object", c->dir,
                                   (int) strlen(field) - 1, field);
        if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(p, "full_attention"))) /* per-layer-type parameters */
                p = cJSON_GetObjectItemCaseSensitive(p, "full_attention");
        r = config_double(c, p, field, "rope_theta", &c->rope_theta);
        if (r < 0)
                return r;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "rope_type");
        if (!t)
                t = cJSON_GetObjectItemCaseSensitive(p, "type");
        if (t && !cJSON_IsNull(t)) {
                if (!cJSON_IsString(t))
                        return conv_errorf(c, -EINVAL, "%s/config.json: %srope_type: expected string", c->dir, field);
                type = t->valuestring;
        }
        if (streq(type, "default"))
                return 0;
        if (!streq(type, "llama3"))
                return conv_errorf(
                        c, -EOPNOTSUPP,
                        "%s/config.json: %srope_type \"%.32s\" is not supported (supported: default, llama3)", c->dir,
                        field, type);
        /* defaults and key names as llama.cpp's converter; original_max_position_embeddings is read where
         * transformers reads it (inside the scaling parameters), then at the top level, where llama.cpp
         * looks: for every published Llama 3.x config both give 8192 */
        c->rope_llama3 = true;
        c->rope_factor = 8.0, c->rope_low = 1.0, c->rope_high = 4.0, c->rope_orig_ctx = 8192.0;
        if ((r = config_double(c, p, field, "factor", &c->rope_factor)) < 0 ||
            (r = config_double(c, p, field, "low_freq_factor", &c->rope_low)) < 0 ||
            (r = config_double(c, p, field, "high_freq_factor", &c->rope_high)) < 0)
                return r;
        if (cJSON_GetObjectItemCaseSensitive(p, "original_max_position_embeddings"))
                r = config_double(c, p, field, "original_max_position_embeddings", &c->rope_orig_ctx);
        else
                r = config_double(c, c->config, "", "original_max_position_embeddings", &c->rope_orig_ctx);
        if (r < 0)
                return r;
        if (c->rope_high <= c->rope_low)
                return conv_errorf(c, -EINVAL,
                                   "%s/config.json: %shigh_freq_factor must be larger than low_freq_factor", c->dir,
                                   field);
        return 0;
}

static int read_config(Convert *c) {
        const cJSON *v;
        char jerr[256];
        int r;

        r = read_json_file(c, "config.json", CONFIG_MAX, false, &c->config);
        if (r < 0)
                return r;
        r = read_arch(c);
        if (r < 0)
                return r;
        if ((r = config_u32(c, c->config, "hidden_size", 1, 65536, false, &c->dim)) < 0 ||
            (r = config_u32(c, c->config, "intermediate_size", 1, 262144, false, &c->hidden_dim)) < 0 ||
            (r = config_u32(c, c->config, "num_hidden_layers", 1, 1024, false, &c->n_layers)) < 0 ||
            (r = config_u32(c, c->config, "num_attention_heads", 1, 1024, false, &c->n_heads)) < 0 ||
            (r = config_u32(c, c->config, "vocab_size", 1, 16u << 20, false, &c->vocab_size)) < 0 ||
            (r = config_u32(c, c->config, "max_position_embeddings", 1, UINT32_MAX, false, &c->n_ctx)) < 0)
                return r;
        c->n_kv_heads = c->n_heads;
        c->head_dim = c->dim / c->n_heads;
        if ((r = config_u32(c, c->config, "num_key_value_heads", 1, 1024, true, &c->n_kv_heads)) < 0)
                return r;
        v = cJSON_GetObjectItemCaseSensitive(c->config, "head_dim");
        if (v && !cJSON_IsNull(v)) {
                if ((r = config_u32(c, c->config, "head_dim", 2, 1024, false, &c->head_dim)) < 0)
                        return r;
                c->explicit_head_dim = true;
        } else if (c->dim % c->n_heads != 0)
                return conv_errorf(c, -EINVAL,
                                   "%s/config.json: hidden_size %u is not a multiple of num_attention_heads %u",
                                   c->dir, c->dim, c->n_heads);
        if (c->n_heads % c->n_kv_heads != 0)
                return conv_errorf(
                        c, -EINVAL,
                        "%s/config.json: num_attention_heads %u is not a multiple of num_key_value_heads %u", c->dir,
                        c->n_heads, c->n_kv_heads);
        if (c->head_dim % 2 != 0)
                return conv_errorf(c, -EINVAL, "%s/config.json: the head dimension %u is odd", c->dir, c->head_dim);
        c->norm_eps = 1e-6; /* transformers' default for both */
        if ((r = config_double(c, c->config, "", "rms_norm_eps", &c->norm_eps)) < 0)
                return r;
        r = json_get_bool(c->config, "tie_word_embeddings", &c->tied, jerr, sizeof jerr);
        if (r < 0 && r != -ENOENT)
                return conv_errorf(c, r, "%s/config.json: %s", c->dir, jerr);
        r = read_rope(c);
        if (r < 0)
                return r;

        /* what the engine's llama/qwen2 graph cannot express */
        const char *act = "silu";
        r = json_get_string(c->config, "hidden_act", &act, jerr, sizeof jerr);
        if (r < 0 && r != -ENOENT)
                return conv_errorf(c, r, "%s/config.json: %s", c->dir, jerr);
        if (!streq(act, "silu"))
                return conv_errorf(c, -EOPNOTSUPP, "%s/config.json: hidden_act \"%.32s\" is not supported (only silu)",
                                   c->dir, act);
        double partial = 1.0;
        if ((r = config_double(c, c->config, "", "partial_rotary_factor", &partial)) < 0)
                return r;
        if (partial != 1.0)
                return conv_errorf(c, -EOPNOTSUPP, "%s/config.json: partial_rotary_factor %g is not supported", c->dir,
                                   partial);
        if (c->arch == MODEL_ARCH_LLAMA &&
            (r = config_refuse_true(c, "attention_bias", "the engine has Q/K/V biases for qwen2 only")) < 0)
                return r;
        if ((r = config_refuse_true(c, "mlp_bias", "the engine has no feed-forward biases")) < 0)
                return r;
        if (c->arch == MODEL_ARCH_QWEN2 &&
            (r = config_refuse_true(c, "use_sliding_window", "the engine has no sliding-window attention")) < 0)
                return r;
        return 0;
}

/* ---- weights ---- */

/* A shard named by the index must be a plain file name in the directory. */
static bool shard_name_ok(const char *s) {
        return !isempty(s) && s[0] != '.' && !strchr(s, '/') && strlen(s) <= 255;
}

static int add_shard(Convert *c, const char *file) {
        _cleanup_free_ char *path = path_join(c->dir, file);
        char serr[512];
        int r;

        if (!path)
                return -ENOMEM;
        if (c->n_shards >= MAX_SHARDS)
                return conv_errorf(c, -E2BIG, "%s: more than %d safetensors files", c->dir, MAX_SHARDS);
        Safetensors **s = realloc(c->shards, (c->n_shards + 1) * sizeof *s);
        if (!s)
                return -ENOMEM;
        c->shards = s;
        char **f = realloc(c->shard_files, (c->n_shards + 1) * sizeof *f);
        if (!f)
                return -ENOMEM;
        c->shard_files = f;
        c->shard_files[c->n_shards] = strdup(file);
        if (!c->shard_files[c->n_shards])
                return -ENOMEM;
        r = safetensors_open(path, &c->shards[c->n_shards], serr, sizeof serr);
        if (r < 0) {
                free(c->shard_files[c->n_shards]);
                return conv_errorf(c, r, "%s: %s", path, strneq(serr, "safetensors: ", 13) ? serr + 13 : serr);
        }
        c->n_shards++;
        return 0;
}

static ssize_t shard_index(const Convert *c, const char *file) {
        for (size_t i = 0; i < c->n_shards; i++)
                if (streq(c->shard_files[i], file))
                        return (ssize_t) i;
        return -1;
}

/* model.safetensors, or the shards model.safetensors.index.json lists. With an index, every tensor of
 * every shard must be in its weight_map, in that shard, and the other way round. */
static int open_weights(Convert *c) {
        _cleanup_json_ cJSON *index = NULL;
        const cJSON *map;
        char jerr[256];
        int r;

        r = read_json_file(c, "model.safetensors.index.json", CONFIG_MAX, true, &index);
        if (r < 0)
                return r;
        if (!index) {
                _cleanup_free_ char *path = path_join(c->dir, "model.safetensors");
                if (!path)
                        return -ENOMEM;
                if (access(path, F_OK) < 0)
                        return conv_errorf(c, -ENOENT,
                                           "%s: no model.safetensors or model.safetensors.index.json "
                                           "(only safetensors checkpoints are converted)",
                                           c->dir);
                return add_shard(c, "model.safetensors");
        }
        r = json_get_object(index, "weight_map", &map, jerr, sizeof jerr);
        if (r < 0)
                return conv_errorf(c, r, "%s/model.safetensors.index.json: %s", c->dir, jerr);
        for (const cJSON *e = map->child; e; e = e->next) {
                if (!cJSON_IsString(e) || !shard_name_ok(e->valuestring))
                        return conv_errorf(c, -EINVAL,
                                           "%s/model.safetensors.index.json: weight_map.\"%.64s\": expected "
                                           "the name of a file in the directory",
                                           c->dir, e->string);
                if (shard_index(c, e->valuestring) < 0 && (r = add_shard(c, e->valuestring)) < 0)
                        return r;
                ssize_t k = shard_index(c, e->valuestring);
                if (!safetensors_find(c->shards[k], e->string))
                        return conv_errorf(c, -EBADMSG,
                                           "%s/%s: tensor \"%.64s\" is missing (model.safetensors.index.json "
                                           "puts it there)",
                                           c->dir, e->valuestring, e->string);
        }
        if (c->n_shards == 0)
                return conv_errorf(c, -EINVAL, "%s/model.safetensors.index.json: weight_map is empty", c->dir);
        for (size_t i = 0; i < c->n_shards; i++)
                for (size_t k = 0; k < safetensors_n_tensors(c->shards[i]); k++) {
                        const char *name = safetensors_tensor(c->shards[i], k)->name;
                        const cJSON *e = cJSON_GetObjectItemCaseSensitive(map, name);
                        if (!e || !streq(e->valuestring, c->shard_files[i]))
                                return conv_errorf(c, -EBADMSG,
                                                   "%s/%s: tensor \"%.64s\" is not in "
                                                   "model.safetensors.index.json's weight_map for this file",
                                                   c->dir, c->shard_files[i], name);
                }
        return 0;
}

static const SafetensorsTensor *find_tensor(const Convert *c, const char *name, size_t *ret_shard) {
        for (size_t i = 0; i < c->n_shards; i++) {
                const SafetensorsTensor *t = safetensors_find(c->shards[i], name);
                if (t) {
                        if (ret_shard)
                                *ret_shard = i;
                        return t;
                }
        }
        return NULL;
}

static int plan_add(Convert *c, const char *gguf_name, const char *hf_name, uint64_t rows, uint64_t cols, bool vector,
                    uint32_t permute_heads) {
        ConvItem *items = realloc(c->items, (c->n_items + 1) * sizeof *items);

        if (!items)
                return -ENOMEM;
        c->items = items;
        c->items[c->n_items] = (ConvItem){
                .rows = vector ? 1 : rows,
                .cols = cols,
                .vector = vector,
                .permute_heads = permute_heads,
        };
        snprintf(c->items[c->n_items].gguf_name, sizeof c->items[c->n_items].gguf_name, "%s", gguf_name);
        snprintf(c->items[c->n_items].hf_name, sizeof c->items[c->n_items].hf_name, "%s", hf_name);
        c->n_items++;
        return 0;
}

/* rope_freqs.weight for Llama 3 scaling, as llama.cpp computes it: per frequency a divisor, 1 for
 * short wavelengths, factor for long ones, and a smooth blend between. */
static int plan_rope_freqs(Convert *c) {
        uint32_t half = c->head_dim / 2;
        float *f = calloc(half, sizeof(float));
        double low_wavelen = c->rope_orig_ctx / c->rope_low, high_wavelen = c->rope_orig_ctx / c->rope_high;
        int r;

        if (!f)
                return -ENOMEM;
        for (uint32_t i = 0; i < half; i++) {
                double freq = 1.0 / pow(c->rope_theta, (double) (2 * i) / c->head_dim);
                double wavelen = 2 * M_PI / freq;
                if (wavelen < high_wavelen)
                        f[i] = 1.0f;
                else if (wavelen > low_wavelen)
                        f[i] = (float) c->rope_factor;
                else {
                        double smooth = (c->rope_orig_ctx / wavelen - c->rope_low) / (c->rope_high - c->rope_low);
                        f[i] = (float) (1.0 / ((1 - smooth) / c->rope_factor + smooth));
                }
        }
        r = plan_add(c, "rope_freqs.weight", "", 1, half, true, 0);
        if (r < 0) {
                free(f);
                return r;
        }
        c->items[c->n_items - 1].made = f;
        return 0;
}

/* The tensors llama.cpp writes for these architectures, with the HF tensor each comes from. */
static int plan_tensors(Convert *c) {
        uint32_t q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim;
        bool llama = c->arch == MODEL_ARCH_LLAMA;
        int r = 0;

        if (c->rope_llama3 && (r = plan_rope_freqs(c)) < 0)
                return r;
        if ((r = plan_add(c, "token_embd.weight", "model.embed_tokens.weight", c->vocab_size, c->dim, false, 0)) < 0)
                return r;
        for (uint32_t l = 0; l < c->n_layers; l++) {
                const struct {
                        const char *gguf, *hf;
                        uint64_t rows, cols;
                        bool vector, qwen2_only;
                        uint32_t permute;
                } t[] = {
                        { "attn_norm.weight", "input_layernorm.weight", 1, c->dim, true, false, 0 },
                        { "attn_q.weight", "self_attn.q_proj.weight", q, c->dim, false, false,
                          llama ? c->n_heads : 0 },
                        { "attn_k.weight", "self_attn.k_proj.weight", kv, c->dim, false, false,
                          llama ? c->n_kv_heads : 0 },
                        { "attn_v.weight", "self_attn.v_proj.weight", kv, c->dim, false, false, 0 },
                        { "attn_output.weight", "self_attn.o_proj.weight", c->dim, q, false, false, 0 },
                        { "attn_q.bias", "self_attn.q_proj.bias", 1, q, true, true, 0 },
                        { "attn_k.bias", "self_attn.k_proj.bias", 1, kv, true, true, 0 },
                        { "attn_v.bias", "self_attn.v_proj.bias", 1, kv, true, true, 0 },
                        { "ffn_norm.weight", "post_attention_layernorm.weight", 1, c->dim, true, false, 0 },
                        { "ffn_gate.weight", "mlp.gate_proj.weight", c->hidden_dim, c->dim, false, false, 0 },
                        { "ffn_up.weight", "mlp.up_proj.weight", c->hidden_dim, c->dim, false, false, 0 },
                        { "ffn_down.weight", "mlp.down_proj.weight", c->dim, c->hidden_dim, false, false, 0 },
                };
                for (size_t k = 0; k < ELEMENTSOF(t); k++) {
                        char g[GGUF_TENSOR_NAME_MAX + 1], h[160];
                        if (t[k].qwen2_only && llama)
                                continue;
                        snprintf(g, sizeof g, "blk.%u.%s", l, t[k].gguf);
                        snprintf(h, sizeof h, "model.layers.%u.%s", l, t[k].hf);
                        if ((r = plan_add(c, g, h, t[k].rows, t[k].cols, t[k].vector, t[k].permute)) < 0)
                                return r;
                }
        }
        if ((r = plan_add(c, "output_norm.weight", "model.norm.weight", 1, c->dim, true, 0)) < 0)
                return r;
        if (!c->tied && (r = plan_add(c, "output.weight", "lm_head.weight", c->vocab_size, c->dim, false, 0)) < 0)
                return r;
        return 0;
}

static void format_shape(char *buf, size_t size, const SafetensorsTensor *t) {
        size_t n = 0;

        buf[0] = '\0';
        n += (size_t) snprintf(buf, size, "[");
        for (uint32_t d = 0; d < t->n_dims && n < size; d++)
                n += (size_t) snprintf(buf + n, size - n, "%s%" PRIu64, d ? ", " : "", t->shape[d]);
        if (n < size)
                snprintf(buf + n, size - n, "]");
}

/* Every planned HF tensor is there with the shape config.json implies and a float dtype; nothing else
 * is in the checkpoint (llama.cpp's converter refuses tensors it cannot map, too). */
static int check_tensors(Convert *c) {
        for (size_t i = 0; i < c->n_items; i++) {
                ConvItem *it = &c->items[i];
                const SafetensorsTensor *t;
                size_t shard = 0;
                char have[160];
                bool ok;

                if (!it->hf_name[0])
                        continue;
                t = find_tensor(c, it->hf_name, &shard);
                if (!t)
                        return conv_errorf(c, -EBADMSG, "%s: tensor \"%s\" is missing", c->dir, it->hf_name);
                ok = it->vector ? t->n_dims == 1 && t->shape[0] == it->cols
                                : t->n_dims == 2 && t->shape[0] == it->rows && t->shape[1] == it->cols;
                if (!ok) {
                        format_shape(have, sizeof have, t);
                        if (it->vector)
                                return conv_errorf(c, -EBADMSG,
                                                   "%s/%s: tensor \"%s\" has shape %s, expected [%" PRIu64
                                                   "] (from config.json)",
                                                   c->dir, c->shard_files[shard], it->hf_name, have, it->cols);
                        return conv_errorf(c, -EBADMSG,
                                           "%s/%s: tensor \"%s\" has shape %s, expected [%" PRIu64 ", %" PRIu64
                                           "] (from config.json)",
                                           c->dir, c->shard_files[shard], it->hf_name, have, it->rows, it->cols);
                }
                if (t->dtype != SAFETENSORS_F32 && t->dtype != SAFETENSORS_F16 && t->dtype != SAFETENSORS_BF16)
                        return conv_errorf(c, -EOPNOTSUPP,
                                           "%s/%s: tensor \"%s\" has dtype %s; only F32, F16 and BF16 are converted",
                                           c->dir, c->shard_files[shard], it->hf_name,
                                           safetensors_dtype_name(t->dtype));
                it->src = t;
        }
        for (size_t s = 0; s < c->n_shards; s++)
                for (size_t k = 0; k < safetensors_n_tensors(c->shards[s]); k++) {
                        const char *name = safetensors_tensor(c->shards[s], k)->name;
                        bool known = false;
                        size_t len = strlen(name);
                        /* buffers some checkpoints carry, and lm_head beside tied embeddings: dropped */
                        if ((len >= 19 && streq(name + len - 19, "rotary_emb.inv_freq")) ||
                            (c->tied && streq(name, "lm_head.weight")))
                                continue;
                        for (size_t i = 0; !known && i < c->n_items; i++)
                                known = streq(c->items[i].hf_name, name);
                        if (!known)
                                return conv_errorf(c, -EBADMSG,
                                                   "%s/%s: unexpected tensor \"%.64s\" (not part of a %s model "
                                                   "with this config.json)",
                                                   c->dir, c->shard_files[s], name, c->hf_arch);
                }
        return 0;
}

/* Row r of a Q or K projection in GGUF order comes from this row of the HF tensor: HF keeps each
 * head's dimensions in rotate-half order (the pair i, i + d/2), llama.cpp's llama graph rotates
 * adjacent pairs (2i, 2i + 1). This is llama.cpp's LlamaModel.permute: reshape(heads, 2, d/2, ...),
 * swap the two middle axes, reshape back. */
static uint64_t permuted_row(uint64_t r, uint64_t rows, uint32_t heads) {
        uint64_t hd = rows / heads, half = hd / 2, h = r / hd, within = r % hd;

        return h * hd + (within % 2) * half + within / 2;
}

static int convert_item(Convert *c, ConvItem *it) {
        GgufTensorType type = it->vector ? GGUF_TENSOR_F32 : c->dtype;
        size_t row_bytes = quant_row_size(type, it->cols);
        _cleanup_free_ float *row = NULL;
        int r;

        if (row_bytes == 0 && type != GGUF_TENSOR_F16) {
                /* llama.cpp does the same for rows that do not split into blocks */
                fprintf(stderr, "model convert: %s: %" PRIu64 " columns are not a multiple of %zu, stored as f16\n",
                        it->gguf_name, it->cols, gguf_type_block_size(type));
                type = GGUF_TENSOR_F16;
                row_bytes = quant_row_size(type, it->cols);
        }
        if (row_bytes == 0 || it->rows > SIZE_MAX / row_bytes)
                return conv_errorf(c, -EOVERFLOW, "%s: tensor too large", it->gguf_name);
        it->type = type;
        it->size = row_bytes * it->rows;
        it->data = malloc(it->size ? it->size : 1);
        row = malloc(it->cols * sizeof(float));
        if (!it->data || !row)
                return conv_errorf(c, -ENOMEM, "%s: out of memory (%zu bytes)", it->gguf_name, it->size);
        if (it->permute_heads && (it->rows % it->permute_heads || (it->rows / it->permute_heads) % 2))
                return conv_errorf(c, -EINVAL, "%s: %" PRIu64 " rows do not split into %u heads of even size",
                                   it->hf_name, it->rows, it->permute_heads);
        for (uint64_t i = 0; i < it->rows; i++) {
                uint64_t src_row = it->permute_heads ? permuted_row(i, it->rows, it->permute_heads) : i;
                if (it->made)
                        memcpy(row, it->made, it->cols * sizeof(float));
                else if ((r = safetensors_read_f32(it->src, src_row * it->cols, it->cols, row)) < 0)
                        return conv_errorf(c, r, "%s: %s", it->hf_name, strerror(-r));
                r = quant_quantize_row(type, row, (uint8_t *) it->data + i * row_bytes, it->cols);
                if (r < 0)
                        return conv_errorf(c, r, "%s: cannot store as %s", it->gguf_name, gguf_type_name(type));
        }
        return 0;
}

/* ---- metadata ---- */

static int file_type_of(GgufTensorType t) {
        switch (t) {
        case GGUF_TENSOR_F32:
                return 0; /* LlamaFileType.ALL_F32 */
        case GGUF_TENSOR_F16:
                return 1; /* MOSTLY_F16 */
        case GGUF_TENSOR_Q8_0:
                return 7; /* MOSTLY_Q8_0 */
        case GGUF_TENSOR_BF16:
                return 32; /* MOSTLY_BF16 */
        default:
                return 0;
        }
}

static int write_hparams(Convert *c) {
        const char *arch = model_arch_name(c->arch), *base;
        _cleanup_free_ char *name = strdup(c->dir);
        char key[128];
        int r;
        struct {
                const char *k;
                uint32_t v;
                bool want;
        } u[] = {
                { "vocab_size", c->vocab_size, c->arch == MODEL_ARCH_LLAMA },
                { "context_length", c->n_ctx, true },
                { "embedding_length", c->dim, true },
                { "feed_forward_length", c->hidden_dim, true },
                { "block_count", c->n_layers, true },
                { "attention.head_count", c->n_heads, true },
                { "attention.head_count_kv", c->n_kv_heads, true },
                { "attention.key_length", c->head_dim, c->explicit_head_dim },
                { "attention.value_length", c->head_dim, c->explicit_head_dim },
                { "rope.dimension_count", c->head_dim, true },
        };

        if (!name)
                return -ENOMEM;
        while (strlen(name) > 1 && name[strlen(name) - 1] == '/')
                name[strlen(name) - 1] = '\0';
        base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
        if ((r = gguf_writer_add_str(c->w, "general.architecture", arch)) < 0 ||
            (r = gguf_writer_add_str(c->w, "general.name", base)) < 0 ||
            (r = gguf_writer_add_u32(c->w, "general.file_type", (uint32_t) file_type_of(c->dtype))) < 0 ||
            (r = gguf_writer_add_u32(c->w, "general.quantization_version", 2)) < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(u); i++) {
                if (!u[i].want)
                        continue;
                snprintf(key, sizeof key, "%s.%s", arch, u[i].k);
                if ((r = gguf_writer_add_u32(c->w, key, u[i].v)) < 0)
                        return r;
        }
        snprintf(key, sizeof key, "%s.rope.freq_base", arch);
        if ((r = gguf_writer_add_f32(c->w, key, (float) c->rope_theta)) < 0)
                return r;
        snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", arch);
        return gguf_writer_add_f32(c->w, key, (float) c->norm_eps);
}

/* --vocab bytes: the byte vocabulary `sluice model mk` writes (SentencePiece-style <0xXX> tokens). */
static int write_byte_vocab(Convert *c) {
        int r;

        if (c->vocab_size < 259)
                return conv_errorf(c, -EINVAL, "--vocab bytes needs a vocab_size of at least 259, config.json has %u",
                                   c->vocab_size);
        r = modelgen_write_byte_vocab(c->w, c->vocab_size);
        if (r < 0)
                return conv_errorf(c, r, "--vocab bytes: %s", gguf_writer_error(c->w));
        c->vocab_source = "bytes";
        return 0;
}

/* --vocab FROM.gguf: every tokenizer.* key of another GGUF file, the token list padded to vocab_size. */
static int copy_vocab(Convert *c, const char *from) {
        _cleanup_gguf_close_ Gguf *src = NULL;
        char gerr[512] = "";
        uint32_t n;
        int r;

        r = gguf_open(from, &src, gerr, sizeof gerr);
        if (r >= 0)
                r = modelgen_copy_vocab(c->w, src, c->vocab_size, &n, gerr, sizeof gerr);
        if (r < 0)
                return conv_errorf(c, r, "--vocab %s: %s", from, gerr);
        c->vocab_source = from;
        return 0;
}

/* ---- tokenizer.json (byte-level BPE) ---- */

typedef struct Vocab {
        char **tokens; /* vocab_size; NULL where no token has the id (padding) */
        int32_t *types;
        bool *added, *special;
        char **merges;
        size_t n_merges;
} Vocab;

static void vocab_done(Vocab *v, uint32_t n) {
        for (uint32_t i = 0; v->tokens && i < n; i++)
                free(v->tokens[i]);
        for (size_t i = 0; i < v->n_merges; i++)
                free(v->merges[i]);
        free(v->tokens);
        free(v->types);
        free(v->added);
        free(v->special);
        free(v->merges);
}

/* llama.cpp's does_token_look_special(): added tokens some models forget to mark special. */
static bool token_looks_special(const char *t) {
        size_t n = strlen(t);

        if (streq(t, "<pad>") || streq(t, "<mask>") || streq(t, "<2mass>") || streq(t, "[@BOS@]"))
                return true;
        if (n >= 4 && strneq(t, "<|", 2) && streq(t + n - 2, "|>"))
                return true;
        if (n >= 8 && strneq(t, "<\xef\xbd\x9c", 4) && streq(t + n - 4, "\xef\xbd\x9c>")) /* <｜ ... ｜> */
                return true;
        return n >= 8 && strneq(t, "<unused", 7) && t[n - 1] == '>';
}

static int tok_id(Convert *c, const cJSON *v, const char *what, uint32_t *ret) {
        double d;

        if (!cJSON_IsNumber(v))
                return conv_errorf(c, -EINVAL, "%s/tokenizer.json: %s: expected a token id", c->dir, what);
        d = v->valuedouble;
        if (!(d >= 0) || d != floor(d) || d >= c->vocab_size)
                return conv_errorf(c, -EINVAL, "%s/tokenizer.json: %s: id %g is outside the model's vocab_size %u",
                                   c->dir, what, d, c->vocab_size);
        *ret = (uint32_t) d;
        return 0;
}

static int read_vocab_tokens(Convert *c, const cJSON *tok, Vocab *v) {
        const cJSON *vocab, *added;
        char jerr[256], what[128];
        int r;

        v->tokens = calloc(c->vocab_size, sizeof(char *));
        v->types = calloc(c->vocab_size, sizeof(int32_t));
        v->added = calloc(c->vocab_size, sizeof(bool));
        v->special = calloc(c->vocab_size, sizeof(bool));
        if (!v->tokens || !v->types || !v->added || !v->special)
                return -ENOMEM;
        r = json_get_object(tok, "model.vocab", &vocab, jerr, sizeof jerr);
        if (r < 0)
                return conv_errorf(c, r, "%s/tokenizer.json: %s", c->dir, jerr);
        for (const cJSON *e = vocab->child; e; e = e->next) {
                uint32_t id;
                snprintf(what, sizeof what, "model.vocab.\"%.64s\"", e->string);
                if ((r = tok_id(c, e, what, &id)) < 0)
                        return r;
                if (v->tokens[id])
                        return conv_errorf(c, -EINVAL,
                                           "%s/tokenizer.json: token id %u is given to \"%.64s\" and \"%.64s\"",
                                           c->dir, id, v->tokens[id], e->string);
                v->tokens[id] = strdup(e->string);
                if (!v->tokens[id])
                        return -ENOMEM;
        }
        added = cJSON_GetObjectItemCaseSensitive(tok, "added_tokens");
        if (added && !cJSON_IsNull(added) && !cJSON_IsArray(added))
                return conv_errorf(c, -EINVAL, "%s/tokenizer.json: added_tokens: expected array", c->dir);
        size_t i = 0;
        for (const cJSON *e = added ? added->child : NULL; e; e = e->next, i++) {
                const char *content;
                bool special = false;
                uint32_t id;
                snprintf(what, sizeof what, "added_tokens[%zu].id", i);
                if (!cJSON_IsObject(e) || json_get_string(e, "content", &content, jerr, sizeof jerr) < 0)
                        return conv_errorf(
                                c, -EINVAL,
                                "%s/tokenizer.json: added_tokens[%zu]: expected an object with a content string",
                                c->dir, i);
                if ((r = tok_id(c, cJSON_GetObjectItemCaseSensitive(e, "id"), what, &id)) < 0)
                        return r;
                if (json_get_bool(e, "special", &special, jerr, sizeof jerr) == -EINVAL)
                        return conv_errorf(c, -EINVAL, "%s/tokenizer.json: added_tokens[%zu].%s", c->dir, i, jerr);
                if (v->tokens[id] && !streq(v->tokens[id], content))
                        return conv_errorf(
                                c, -EINVAL,
                                "%s/tokenizer.json: added token %u \"%.64s\" differs from model.vocab's \"%.64s\"",
                                c->dir, id, content, v->tokens[id]);
                if (!v->tokens[id] && !(v->tokens[id] = strdup(content)))
                        return -ENOMEM;
                v->added[id] = true;
                v->special[id] = special;
        }
        for (uint32_t id = 0; id < c->vocab_size; id++) {
                if (!v->tokens[id]) {
                        if (asprintf(&v->tokens[id], "[PAD%u]", id) < 0) {
                                v->tokens[id] = NULL;
                                return -ENOMEM;
                        }
                        v->types[id] = TOKEN_UNUSED;
                } else if (v->added[id])
                        v->types[id] = v->special[id] || token_looks_special(v->tokens[id]) ? TOKEN_CONTROL
                                                                                            : TOKEN_USER_DEFINED;
                else
                        v->types[id] = TOKEN_NORMAL;
        }
        return 0;
}

/* Copies s to p with each space as U+0120 (2 bytes); returns the end. */
static char *put_merge_part(char *p, const char *s) {
        for (; *s; s++)
                if (*s == ' ')
                        p = stpcpy(p, "\xc4\xa0");
                else
                        *p++ = *s;
        return p;
}

/* "a b" strings as they are; pairs ["a", "b"] (transformers >= 4.45) joined, spaces inside written as
 * U+0120, as llama.cpp's SpecialVocab does. */
static int read_merges(Convert *c, const cJSON *tok, Vocab *v) {
        const cJSON *merges =
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(tok, "model"), "merges");
        size_t n, i = 0;

        if (!merges || cJSON_IsNull(merges))
                return conv_errorf(c, -EINVAL, "%s/tokenizer.json: missing field \"model.merges\"", c->dir);
        if (!cJSON_IsArray(merges))
                return conv_errorf(c, -EINVAL, "%s/tokenizer.json: model.merges: expected array", c->dir);
        n = (size_t) cJSON_GetArraySize(merges);
        v->merges = calloc(n ? n : 1, sizeof(char *));
        if (!v->merges)
                return -ENOMEM;
        for (const cJSON *e = merges->child; e; e = e->next, i++) {
                if (cJSON_IsString(e))
                        v->merges[i] = strdup(e->valuestring);
                else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 && cJSON_IsString(e->child) &&
                         cJSON_IsString(e->child->next)) {
                        const char *a = e->child->valuestring, *b = e->child->next->valuestring;
                        char *m = malloc(2 * (strlen(a) + strlen(b)) + 2);
                        if (m) {
                                char *p = put_merge_part(m, a);
                                *p++ = ' ';
                                *put_merge_part(p, b) = '\0';
                        }
                        v->merges[i] = m;
                } else
                        return conv_errorf(
                                c, -EINVAL,
                                "%s/tokenizer.json: model.merges[%zu]: expected a string or a pair of strings", c->dir,
                                i);
                if (!v->merges[i])
                        return -ENOMEM;
                v->n_merges = i + 1;
        }
        return 0;
}

/* llama.cpp names the pre-tokenizer by hashing what it makes of a test text; here the split pattern
 * itself is compared with the known ones, and the architecture decides when it is not one of them. */
static const char *detect_pre(Convert *c, const cJSON *tok) {
        static const struct {
                const char *name, *regex;
        } known[] = {
                { "llama-bpe", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                               "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
                { "qwen2", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
                           "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
        };
        const cJSON *pre = cJSON_GetObjectItemCaseSensitive(tok, "pre_tokenizer");
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(pre, "pretokenizers");
        const char *fallback = c->arch == MODEL_ARCH_QWEN2 ? "qwen2" : "llama-bpe";

        for (const cJSON *p = cJSON_IsArray(list) ? list->child : pre; p; p = cJSON_IsArray(list) ? p->next : NULL) {
                const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type");
                const cJSON *regex =
                        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(p, "pattern"), "Regex");
                if (cJSON_IsString(type) && streq(type->valuestring, "Split") && cJSON_IsString(regex)) {
                        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                                if (streq(regex->valuestring, known[i].regex))
                                        return known[i].name;
                        break;
                }
                if (cJSON_IsString(type) && streq(type->valuestring, "ByteLevel") && !cJSON_IsArray(list) &&
                    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "use_regex")))
                        return "gpt-2";
        }
        fprintf(stderr, "model convert: %s/tokenizer.json: pre-tokenizer not recognised, using \"%s\" (as for %s)\n",
                c->dir, fallback, c->hf_arch);
        return fallback;
}

/* A special token named in tokenizer_config.json ("<s>" or {"content": "<s>"}), or NULL. */
static const char *special_content(const cJSON *cfg, const char *key) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(cfg, key);

        if (cJSON_IsObject(e))
                e = cJSON_GetObjectItemCaseSensitive(e, "content");
        return cJSON_IsString(e) ? e->valuestring : NULL;
}

static const char *special_of_template(const cJSON *item) {
        const cJSON *id =
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(item, "SpecialToken"), "id");
        return cJSON_IsString(id) ? id->valuestring : NULL;
}

/* Special token ids and add_*_token flags the way llama.cpp's SpecialVocab reads them: the post-processor
 * template, then tokenizer_config.json (token strings looked up among added_tokens, and its add_*_token
 * flags), then config.json's *_token_id for what is still unset. */
static int write_special_tokens(Convert *c, const cJSON *tok) {
        static const struct {
                const char *typ, *key;
        } types[] = {
                { "bos", "tokenizer.ggml.bos_token_id" },     { "eos", "tokenizer.ggml.eos_token_id" },
                { "unk", "tokenizer.ggml.unknown_token_id" }, { "sep", "tokenizer.ggml.seperator_token_id" },
                { "pad", "tokenizer.ggml.padding_token_id" }, { "cls", "tokenizer.ggml.cls_token_id" },
                { "mask", "tokenizer.ggml.mask_token_id" },
        };
        int64_t ids[ELEMENTSOF(types)];
        int add[3] = { -1, -1, -1 }; /* bos, eos, sep: -1 unset */
        const cJSON *cfg = c->tok_config, *added = cJSON_GetObjectItemCaseSensitive(tok, "added_tokens");
        const char *bos = special_content(cfg, "bos_token"), *eos = special_content(cfg, "eos_token");
        char key[64];
        int r;

        /* the post-processor: a template that starts with BOS adds it */
        const cJSON *post = cJSON_GetObjectItemCaseSensitive(tok, "post_processor");
        const cJSON *procs = cJSON_GetObjectItemCaseSensitive(post, "processors");
        for (const cJSON *p = cJSON_IsArray(procs) ? procs->child : post; p;
             p = cJSON_IsArray(procs) ? p->next : NULL) {
                const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type");
                const cJSON *single = cJSON_GetObjectItemCaseSensitive(p, "single");
                if (!cJSON_IsString(type))
                        continue;
                if (streq(type->valuestring, "RobertaProcessing"))
                        add[0] = add[1] = add[2] = 1;
                if (!streq(type->valuestring, "TemplateProcessing") || !cJSON_IsArray(single) ||
                    cJSON_GetArraySize(single) < 2)
                        continue;
                const char *first = special_of_template(single->child);
                const char *last = special_of_template(cJSON_GetArrayItem(single, cJSON_GetArraySize(single) - 1));
                if (first) {
                        if (!cfg)
                                bos = first;
                        add[0] = bos && streq(first, bos);
                }
                if (last) {
                        if (!cfg)
                                eos = last;
                        add[1] = eos && streq(last, eos);
                }
        }
        for (size_t t = 0; t < ELEMENTSOF(types); t++) {
                const char *content;
                ids[t] = -1;
                snprintf(key, sizeof key, "%s_token", types[t].typ);
                content = t == 0 ? bos : t == 1 ? eos : special_content(cfg, key);
                for (const cJSON *a = cJSON_IsArray(added) ? added->child : NULL; content && a; a = a->next) {
                        const cJSON *ac = cJSON_GetObjectItemCaseSensitive(a, "content"),
                                    *id = cJSON_GetObjectItemCaseSensitive(a, "id");
                        if (cJSON_IsString(ac) && streq(ac->valuestring, content) && cJSON_IsNumber(id)) {
                                ids[t] = (int64_t) id->valuedouble;
                                break;
                        }
                }
                snprintf(key, sizeof key, "%s_token_id", types[t].typ);
                const cJSON *cid = cJSON_GetObjectItemCaseSensitive(c->config, key);
                if (ids[t] < 0 && cJSON_IsNumber(cid) && cid->valuedouble >= 0 &&
                    cid->valuedouble == floor(cid->valuedouble))
                        ids[t] = (int64_t) cid->valuedouble;
                if (ids[t] >= (int64_t) c->vocab_size)
                        return conv_errorf(c, -EINVAL, "%s: the %s token id %" PRId64 " is outside the vocab_size %u",
                                           c->dir, types[t].typ, ids[t], c->vocab_size);
        }
        for (int t = 0; t < 3; t++) {
                const cJSON *flag;
                snprintf(key, sizeof key, "add_%s_token", t == 0 ? "bos" : t == 1 ? "eos" : "sep");
                flag = cJSON_GetObjectItemCaseSensitive(cfg, key);
                if (cJSON_IsBool(flag))
                        add[t] = cJSON_IsTrue(flag);
        }
        for (size_t t = 0; t < ELEMENTSOF(types); t++)
                if (ids[t] >= 0 && (r = gguf_writer_add_u32(c->w, types[t].key, (uint32_t) ids[t])) < 0)
                        return r;
        for (int t = 0; t < 3; t++) {
                snprintf(key, sizeof key, "tokenizer.ggml.add_%s_token", t == 0 ? "bos" : t == 1 ? "eos" : "sep");
                if (add[t] >= 0 && (r = gguf_writer_add_bool(c->w, key, add[t])) < 0)
                        return r;
        }
        return 0;
}

/* tokenizer.chat_template from tokenizer_config.json, else from chat_template.jinja. */
static int write_chat_template(Convert *c) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(c->tok_config, "chat_template");
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len;
        int r;

        if (cJSON_IsString(t))
                return gguf_writer_add_str(c->w, "tokenizer.chat_template", t->valuestring);
        if (cJSON_IsArray(t)) { /* [{"name": ..., "template": ...}]: "default" and the named others */
                for (const cJSON *e = t->child; e; e = e->next) {
                        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
                        const cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(e, "template");
                        char key[128];
                        if (!cJSON_IsString(name) || !cJSON_IsString(tmpl))
                                continue;
                        if (streq(name->valuestring, "default"))
                                snprintf(key, sizeof key, "tokenizer.chat_template");
                        else
                                snprintf(key, sizeof key, "tokenizer.chat_template.%.64s", name->valuestring);
                        if ((r = gguf_writer_add_str(c->w, key, tmpl->valuestring)) < 0 && r != -EEXIST)
                                return r;
                }
                return 0;
        }
        path = path_join(c->dir, "chat_template.jinja");
        if (!path)
                return -ENOMEM;
        r = file_read_all(path, CHAT_TEMPLATE_MAX, &text, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return conv_errorf(c, r, "%s: %s", path, strerror(-r));
        return gguf_writer_add_strn(c->w, "tokenizer.chat_template", text, len);
}

static int convert_vocab_json(Convert *c) {
        _cleanup_json_ cJSON *tok = NULL;
        _cleanup_free_ char *path = path_join(c->dir, "tokenizer.json");
        const cJSON *model;
        const char *type, *dec_type = "";
        bool byte_fallback = false;
        Vocab v = {};
        char jerr[256];
        int r;

        if (!path)
                return -ENOMEM;
        if (access(path, F_OK) < 0)
                return conv_errorf(c, -ENOENT, "%s: no tokenizer.json; pass --vocab bytes or --vocab FROM.gguf",
                                   c->dir);
        r = read_json_file(c, "tokenizer.json", TOKENIZER_MAX, false, &tok);
        if (r >= 0)
                r = read_json_file(c, "tokenizer_config.json", CONFIG_MAX, true, &c->tok_config);
        if (r < 0)
                return r;
        r = json_get_string(tok, "model.type", &type, jerr, sizeof jerr);
        if (r >= 0)
                r = json_get_object(tok, "model", &model, jerr, sizeof jerr);
        if (r < 0)
                return conv_errorf(c, r, "%s: %s", path, jerr);
        (void) json_get_bool(model, "byte_fallback", &byte_fallback, jerr, sizeof jerr);
        (void) json_get_string(tok, "decoder.type", &dec_type, jerr, sizeof jerr);
        if (!streq(type, "BPE") || byte_fallback || !streq(dec_type, "ByteLevel"))
                return conv_errorf(c, -EOPNOTSUPP,
                                   "%s: only byte-level BPE tokenizers are converted (this one is %s%s); "
                                   "pass --vocab FROM.gguf",
                                   path, type, byte_fallback ? " with byte fallback" : "");
        if ((r = read_vocab_tokens(c, tok, &v)) < 0 || (r = read_merges(c, tok, &v)) < 0)
                goto finish;
        if ((r = gguf_writer_add_str(c->w, "tokenizer.ggml.model", "gpt2")) < 0 ||
            (r = gguf_writer_add_str(c->w, "tokenizer.ggml.pre", detect_pre(c, tok))) < 0 ||
            (r = gguf_writer_add_str_array(c->w, "tokenizer.ggml.tokens", (const char *const *) v.tokens,
                                           c->vocab_size)) < 0 ||
            (r = gguf_writer_add_array(c->w, "tokenizer.ggml.token_type", GGUF_VALUE_INT32, v.types, c->vocab_size)) <
                    0 ||
            (r = gguf_writer_add_str_array(c->w, "tokenizer.ggml.merges", (const char *const *) v.merges,
                                           v.n_merges)) < 0 ||
            (r = write_special_tokens(c, tok)) < 0 || (r = write_chat_template(c)) < 0)
                goto finish;
        const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(c->tok_config, "add_prefix_space");
        if (c->arch == MODEL_ARCH_LLAMA && cJSON_IsBool(prefix))
                r = gguf_writer_add_bool(c->w, "tokenizer.ggml.add_space_prefix", cJSON_IsTrue(prefix));
        c->vocab_source = "tokenizer.json";
finish:
        vocab_done(&v, c->vocab_size);
        return r;
}

/* ---- the verb ---- */

/* Declared in cli.h once the verb is wired in; repeated here so that this file builds on its own. */

static int convert_run(Convert *c, const char *out) {
        int r;

        if ((r = read_config(c)) < 0 || (r = open_weights(c)) < 0 || (r = plan_tensors(c)) < 0 ||
            (r = check_tensors(c)) < 0)
                return r;
        r = gguf_writer_new(&c->w);
        if (r < 0)
                return r;
        r = write_hparams(c);
        if (r >= 0)
                r = c->vocab == NULL           ? convert_vocab_json(c)
                    : streq(c->vocab, "bytes") ? write_byte_vocab(c)
                                               : copy_vocab(c, c->vocab);
        if (r < 0)
                return c->err[0] ? r
                                 : conv_errorf(c, r, "metadata: %s",
                                               *gguf_writer_error(c->w) ? gguf_writer_error(c->w) : strerror(-r));
        for (size_t i = 0; i < c->n_items; i++) {
                ConvItem *it = &c->items[i];
                uint64_t ne[2] = { it->cols, it->rows };
                if ((r = convert_item(c, it)) < 0)
                        return r;
                r = gguf_writer_add_tensor(c->w, it->gguf_name, it->type, it->vector ? 1 : 2, ne, it->data, it->size);
                if (r < 0)
                        return conv_errorf(c, r, "%s: %s", it->gguf_name, gguf_writer_error(c->w));
        }
        r = gguf_writer_write(c->w, out);
        if (r < 0)
                return conv_errorf(c, r, "%s: %s", out,
                                   *gguf_writer_error(c->w) ? gguf_writer_error(c->w) : strerror(-r));
        return 0;
}

static void convert_usage(void) {
        printf("Usage: sluice model convert HF_DIR -o FILE.gguf [--dtype f32|f16|bf16|q8_0] [--vocab "
               "bytes|FROM.gguf]\n\n"
               "Converts a Hugging Face checkpoint (config.json, model.safetensors or its shards with\n"
               "model.safetensors.index.json, tokenizer.json) of a LlamaForCausalLM, MistralForCausalLM or\n"
               "Qwen2ForCausalLM model to GGUF, with llama.cpp's tensor names and metadata keys.\n\n"
               "  -o, --output FILE   the GGUF file to write (atomically)\n"
               "      --dtype TYPE    type of the weight matrices (default f16); norms and biases stay f32\n"
               "      --vocab bytes   write a byte vocabulary instead of converting tokenizer.json\n"
               "      --vocab FILE    copy the tokenizer.* metadata of another GGUF file\n");
}

int cli_convert_main(const CliGlobals *g, int argc, char **argv) {
        enum { OPT_DTYPE = 256, OPT_VOCAB };
        static const struct option options[] = {
                { "output", required_argument, NULL, 'o' },
                { "dtype", required_argument, NULL, OPT_DTYPE },
                { "vocab", required_argument, NULL, OPT_VOCAB },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        Convert c = { .dtype = GGUF_TENSOR_F16 };
        const char *out = NULL;
        int opt, r;

        while ((opt = getopt_long(argc, argv, "o:h", options, NULL)) >= 0)
                switch (opt) {
                case 'o':
                        out = optarg;
                        break;
                case OPT_DTYPE:
                        c.dtype = gguf_type_from_name(optarg);
                        if (c.dtype != GGUF_TENSOR_F32 && c.dtype != GGUF_TENSOR_F16 && c.dtype != GGUF_TENSOR_BF16 &&
                            c.dtype != GGUF_TENSOR_Q8_0)
                                return cli_usage_error(
                                        "model convert: --dtype must be f32, f16, bf16 or q8_0, not \"%s\"", optarg);
                        break;
                case OPT_VOCAB:
                        c.vocab = optarg;
                        break;
                case 'h':
                        convert_usage();
                        return CLI_EXIT_OK;
                default:
                        return CLI_EXIT_USAGE;
                }
        if (optind + 1 != argc || !out)
                return cli_usage_error("model convert: expected HF_DIR and -o FILE.gguf");
        c.dir = argv[optind];
        r = convert_run(&c, out);
        if (r < 0) {
                fprintf(stderr, "sluice: model convert: %s\n", c.err[0] ? c.err : strerror(-r));
                convert_done(&c);
                return CLI_EXIT_FAILURE;
        }
        if (g && g->json) {
                _cleanup_json_ cJSON *j = cJSON_CreateObject();
                _cleanup_free_ char *text = NULL;
                if (!j || !cJSON_AddStringToObject(j, "output", out) ||
                    !cJSON_AddStringToObject(j, "architecture", model_arch_name(c.arch)) ||
                    !cJSON_AddStringToObject(j, "dtype", gguf_type_name(c.dtype)) ||
                    !cJSON_AddNumberToObject(j, "tensors", (double) c.n_items) ||
                    !cJSON_AddStringToObject(j, "vocabulary", c.vocab_source) || json_print(j, &text) < 0) {
                        convert_done(&c);
                        return CLI_EXIT_FAILURE;
                }
                printf("%s\n", text);
        } else
                printf("%s: %s, %u layers, dim %u, %s, %zu tensors, vocabulary from %s\n", out,
                       model_arch_name(c.arch), c.n_layers, c.dim, gguf_type_name(c.dtype), c.n_items, c.vocab_source);
        convert_done(&c);
        return CLI_EXIT_OK;
}
