/* jsonschema.c: compiles a strict subset of JSON Schema 2020-12 and checks cJSON instances against it. */
#include "jsonschema.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define SCHEMA_DIALECT "https://json-schema.org/draft/2020-12/schema"
#define PATTERN_MATCH_LIMIT 1000000U /* backtracking steps one pattern match may take */
#define PATTERN_DEPTH_LIMIT 10000U   /* backtracking depth of one pattern match */
#define MESSAGE_JSON_DEPTH 3U        /* how deep values are printed in messages */

/* ---- instance types ---- */

enum {
        TYPE_NULL = 1U << 0,
        TYPE_BOOLEAN = 1U << 1,
        TYPE_OBJECT = 1U << 2,
        TYPE_ARRAY = 1U << 3,
        TYPE_NUMBER = 1U << 4,
        TYPE_INTEGER = 1U << 5,
        TYPE_STRING = 1U << 6,
        TYPE_ANY = (1U << 7) - 1,
        N_TYPES = 7,
};

static const char *const type_names[N_TYPES] = {
        "null", "boolean", "object", "array", "number", "integer", "string",
};

static bool number_is_integer(double d) {
        return isfinite(d) && d == floor(d);
}

/* The TYPE_* bits an instance satisfies: an integral number is both a number and an integer. */
static unsigned instance_types(const cJSON *j) {
        if (cJSON_IsNull(j))
                return TYPE_NULL;
        if (cJSON_IsBool(j))
                return TYPE_BOOLEAN;
        if (cJSON_IsObject(j))
                return TYPE_OBJECT;
        if (cJSON_IsArray(j))
                return TYPE_ARRAY;
        if (cJSON_IsString(j))
                return TYPE_STRING;
        if (cJSON_IsNumber(j))
                return number_is_integer(j->valuedouble) ? TYPE_NUMBER | TYPE_INTEGER : TYPE_NUMBER;
        return 0;
}

/* JSON equality as the spec defines it: numbers by value (1 == 1.0), objects regardless of order. */
static bool json_equal(const cJSON *a, const cJSON *b) {
        if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
                return a->valuedouble == b->valuedouble;
        if (cJSON_IsString(a) && cJSON_IsString(b))
                return streq(a->valuestring, b->valuestring);
        if ((a->type & 0xFF) != (b->type & 0xFF))
                return false;
        if (cJSON_IsArray(a)) {
                const cJSON *x = a->child, *y = b->child;
                for (; x && y; x = x->next, y = y->next)
                        if (!json_equal(x, y))
                                return false;
                return !x && !y;
        }
        if (cJSON_IsObject(a)) {
                size_t na = 0, nb = 0;
                for (const cJSON *x = a->child; x; x = x->next)
                        na++;
                for (const cJSON *y = b->child; y; y = y->next)
                        nb++;
                if (na != nb)
                        return false;
                for (const cJSON *x = a->child; x; x = x->next) {
                        const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string ?: "");
                        if (!y || !json_equal(x, y))
                                return false;
                }
                return true;
        }
        return cJSON_IsNull(a) || cJSON_IsBool(a);
}

static size_t utf8_length(const char *s) {
        size_t n = 0;
        for (; *s; s++)
                if (((unsigned char) *s & 0xC0) != 0x80)
                        n++;
        return n;
}

/* Odd integer m such that |d| = m * 2^k, for finite d != 0. */
static uint64_t odd_mantissa(double d) {
        int e;
        uint64_t m = (uint64_t) ldexp(frexp(fabs(d), &e), 53);
        while (m && !(m & 1))
                m >>= 1;
        return m;
}

/* multipleOf as Python's jsonschema computes it: exact for integral divisors (fmod is exact), the
 * rounded quotient otherwise (so 0.5 is a multiple of 0.1), exact again if the quotient overflows. */
static bool number_is_multiple_of(double x, double m) {
        double q;

        if (x == 0)
                return true;
        if (!isfinite(x))
                return false;
        if (m == floor(m))
                return fmod(x, m) == 0;
        q = x / m;
        if (isfinite(q))
                return q == trunc(q);
        /* |x| >= 2^53 is an integer and m < 1: x/m is whole iff m's odd mantissa divides x's. */
        return odd_mantissa(x) % odd_mantissa(m) == 0;
}

/* ---- bounded message writer: never allocates, truncates silently ---- */

typedef struct Out {
        char *buf;
        size_t size;
        size_t len;
} Out;

static Out out_start(char *buf, size_t size) {
        if (buf && size > 0)
                buf[0] = '\0';
        return (Out){ buf, buf ? size : 0, 0 };
}

static void out_write(Out *o, const char *s, size_t n) {
        size_t room;

        if (o->size == 0 || o->len >= o->size - 1)
                return;
        room = o->size - 1 - o->len;
        n = MIN(n, room);
        memcpy(o->buf + o->len, s, n);
        o->len += n;
        o->buf[o->len] = '\0';
}

static void out_puts(Out *o, const char *s) {
        out_write(o, s, strlen(s));
}

_printf_(2, 0) static void out_vprintf(Out *o, const char *fmt, va_list ap) {
        if (o->size == 0 || o->len >= o->size - 1)
                return;
        int r = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
        if (r > 0)
                o->len = MIN(o->len + (size_t) r, o->size - 1);
}

_printf_(2, 3) static void out_printf(Out *o, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        out_vprintf(o, fmt, ap);
        va_end(ap);
}

/* Shortest %g form that reads back as the same double. */
static void format_number(double d, char *buf, size_t size) {
        if (number_is_integer(d) && fabs(d) < 1e17) {
                snprintf(buf, size, "%.0f", d);
                return;
        }
        for (int prec = 1; prec <= 17; prec++) {
                snprintf(buf, size, "%.*g", prec, d);
                if (strtod(buf, NULL) == d)
                        return;
        }
}

static void out_number(Out *o, double d) {
        char buf[32];

        format_number(d, buf, sizeof buf);
        out_puts(o, buf);
}

/* Writes s as a JSON string literal. */
static void out_quoted(Out *o, const char *s) {
        out_puts(o, "\"");
        for (; *s; s++) {
                unsigned char ch = (unsigned char) *s;
                if (ch == '"' || ch == '\\')
                        out_printf(o, "\\%c", ch);
                else if (ch == '\n')
                        out_puts(o, "\\n");
                else if (ch == '\t')
                        out_puts(o, "\\t");
                else if (ch < 0x20 || ch == 0x7F)
                        out_printf(o, "\\u%04x", ch);
                else
                        out_write(o, s, 1);
        }
        out_puts(o, "\"");
}

/* Writes a JSON value compactly, eliding what lies deeper than depth levels. */
static void out_json(Out *o, const cJSON *j, unsigned depth) {
        bool object = cJSON_IsObject(j);

        if (cJSON_IsNull(j))
                out_puts(o, "null");
        else if (cJSON_IsBool(j))
                out_puts(o, cJSON_IsTrue(j) ? "true" : "false");
        else if (cJSON_IsNumber(j))
                out_number(o, j->valuedouble);
        else if (cJSON_IsString(j))
                out_quoted(o, j->valuestring);
        else if (object || cJSON_IsArray(j)) {
                out_puts(o, object ? "{" : "[");
                if (depth == 0 && j->child)
                        out_puts(o, "...");
                else
                        for (const cJSON *c = j->child; c; c = c->next) {
                                if (c != j->child)
                                        out_puts(o, ",");
                                if (object) {
                                        out_quoted(o, c->string ?: "");
                                        out_puts(o, ":");
                                }
                                out_json(o, c, depth - 1);
                        }
                out_puts(o, object ? "}" : "]");
        } else
                out_puts(o, "?");
}

/* ---- compiled form ---- */

typedef struct Node Node;

typedef struct Pattern {
        char *source; /* NULL when the keyword is absent */
        pcre2_code *code;
} Pattern;

typedef struct Property {
        char *name;
        Node *schema;
} Property;

typedef struct PatternProperty {
        Pattern pattern;
        Node *schema;
} PatternProperty;

typedef struct NodeList {
        Node **items;
        size_t n;
} NodeList;

/* One compiled schema. Absent keywords leave their fields at the neutral value. */
struct Node {
        char *location; /* "#" + JSON pointer of this schema in its document */
        bool is_bool;   /* true/false schema: only accept is meaningful */
        bool accept;
        unsigned mark; /* cycle check during compilation: 0 new, 1 on the path, 2 done */

        unsigned types; /* TYPE_* allowed by "type"; TYPE_ANY when absent */
        uint8_t type_order[N_TYPES];
        size_t n_type_order;

        cJSON *enum_values; /* owned copies */
        cJSON *const_value;
        cJSON *default_value;

        bool has_minimum, has_maximum, has_exclusive_minimum, has_exclusive_maximum, has_multiple_of;
        double minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;

        size_t min_length, max_length; /* max_* are SIZE_MAX when absent */
        Pattern pattern;

        NodeList prefix_items;
        Node *items;
        size_t min_items, max_items;
        bool unique_items;

        Property *properties; /* sorted by name */
        size_t n_properties;
        PatternProperty *pattern_properties;
        size_t n_pattern_properties;
        Node *additional_properties;
        char **required;
        size_t n_required;
        size_t min_properties, max_properties;

        NodeList all_of, any_of, one_of;
        Node *not_schema, *if_schema, *then_schema, *else_schema;

        char *ref;
        const Node *ref_target; /* borrowed: resolved after the whole document is compiled */
        Property *defs;
        size_t n_defs;
};

struct JsonSchema {
        Node *root;
        pcre2_match_context *match_context;
};

static void pattern_done(Pattern *p) {
        free(p->source);
        pcre2_code_free(p->code);
        *p = (Pattern){};
}

static Node *node_free(Node *n);

static void node_list_done(NodeList *l) {
        for (size_t i = 0; i < l->n; i++)
                node_free(l->items[i]);
        free(l->items);
        *l = (NodeList){};
}

static void properties_free(Property *p, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(p[i].name);
                node_free(p[i].schema);
        }
        free(p);
}

static Node *node_free(Node *n) {
        if (!n)
                return NULL;
        free(n->location);
        cJSON_Delete(n->enum_values);
        cJSON_Delete(n->const_value);
        cJSON_Delete(n->default_value);
        pattern_done(&n->pattern);
        node_list_done(&n->prefix_items);
        node_free(n->items);
        properties_free(n->properties, n->n_properties);
        for (size_t i = 0; i < n->n_pattern_properties; i++) {
                pattern_done(&n->pattern_properties[i].pattern);
                node_free(n->pattern_properties[i].schema);
        }
        free(n->pattern_properties);
        node_free(n->additional_properties);
        for (size_t i = 0; i < n->n_required; i++)
                free(n->required[i]);
        free(n->required);
        node_list_done(&n->all_of);
        node_list_done(&n->any_of);
        node_list_done(&n->one_of);
        node_free(n->not_schema);
        node_free(n->if_schema);
        node_free(n->then_schema);
        node_free(n->else_schema);
        free(n->ref);
        properties_free(n->defs, n->n_defs);
        free(n);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Node *, node_free);

JsonSchema *jsonschema_free(JsonSchema *s) {
        if (!s)
                return NULL;
        node_free(s->root);
        pcre2_match_context_free(s->match_context);
        free(s);
        return NULL;
}

/* ---- compilation ---- */

typedef struct Compiler {
        Out err;
        Node **nodes; /* every schema compiled so far, borrowed, for $ref lookup */
        size_t n_nodes, n_allocated;
} Compiler;

_printf_(3, 4) static int compile_error(Compiler *c, const char *location, const char *fmt, ...) {
        va_list ap;

        c->err = out_start(c->err.buf, c->err.size);
        out_printf(&c->err, "%s: ", location);
        va_start(ap, fmt);
        out_vprintf(&c->err, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* base + "/" + token, the token escaped as a JSON pointer segment (~ as ~0, / as ~1). */
static char *location_append(const char *base, const char *token) {
        size_t n = strlen(base) + 2;
        char *s, *p;

        for (const char *t = token; *t; t++)
                n += (*t == '~' || *t == '/') ? 2 : 1;
        s = malloc(n);
        if (!s)
                return NULL;
        p = stpcpy(s, base);
        *p++ = '/';
        for (const char *t = token; *t; t++)
                if (*t == '~' || *t == '/') {
                        *p++ = '~';
                        *p++ = *t == '~' ? '0' : '1';
                } else
                        *p++ = *t;
        *p = '\0';
        return s;
}

static char *location_index(const char *base, size_t i) {
        char token[24];

        snprintf(token, sizeof token, "%zu", i);
        return location_append(base, token);
}

static int compile_node(Compiler *c, const cJSON *json, const char *location, unsigned depth, Node **ret);

/* Compiles json as the subschema at base/token. */
static int compile_child(Compiler *c, const cJSON *json, const char *base, const char *token, unsigned depth,
                         Node **ret) {
        _cleanup_free_ char *location = location_append(base, token);

        if (!location)
                return -ENOMEM;
        return compile_node(c, json, location, depth + 1, ret);
}

/* "a non-negative integer" keyword, saturated at SIZE_MAX. */
static int parse_count(Compiler *c, const cJSON *v, const char *loc, size_t *ret) {
        if (!cJSON_IsNumber(v) || !number_is_integer(v->valuedouble) || v->valuedouble < 0)
                return compile_error(c, loc, "must be a non-negative integer");
        *ret = v->valuedouble >= (double) SIZE_MAX ? SIZE_MAX : (size_t) v->valuedouble;
        return 0;
}

static int parse_number(Compiler *c, const cJSON *v, const char *loc, bool *has, double *ret) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
                return compile_error(c, loc, "must be a number");
        *has = true;
        *ret = v->valuedouble;
        return 0;
}

static int compile_pattern(Compiler *c, const char *source, const char *loc, Pattern *ret) {
        PCRE2_UCHAR msg[256];
        PCRE2_SIZE offset;
        pcre2_code *code;
        char *copy;
        int error;

        /* ECMA-262-like: $ only at the very end, \uXXXX escapes, no \C splitting a code point. */
        code = pcre2_compile((PCRE2_SPTR) source, PCRE2_ZERO_TERMINATED,
                             PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_BSUX | PCRE2_NEVER_BACKSLASH_C, &error,
                             &offset, NULL);
        if (!code) {
                if (error == PCRE2_ERROR_NOMEMORY)
                        return -ENOMEM;
                if (pcre2_get_error_message(error, msg, sizeof msg) < 0)
                        strcpy((char *) msg, "unknown error");
                return compile_error(c, loc, "invalid regular expression at offset %zu: %s", (size_t) offset,
                                     (const char *) msg);
        }
        (void) pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
        copy = strdup(source);
        if (!copy) {
                pcre2_code_free(code);
                return -ENOMEM;
        }
        *ret = (Pattern){ copy, code };
        return 0;
}

static int parse_type_name(Compiler *c, const cJSON *v, const char *loc, unsigned *ret) {
        if (!cJSON_IsString(v))
                return compile_error(c, loc, "must be a type name or an array of type names");
        for (unsigned i = 0; i < N_TYPES; i++)
                if (streq(v->valuestring, type_names[i])) {
                        *ret = i;
                        return 0;
                }
        return compile_error(c, loc, "unknown type \"%s\"", v->valuestring);
}

/* What a keyword handler gets: the node being built, the keyword's value and location. */
typedef struct Keyword {
        Compiler *c;
        Node *n;
        const cJSON *v;
        const char *loc;
        unsigned depth; /* of the node: 0 at the root */
} Keyword;

typedef int (*KeywordFunc)(const Keyword *k);

static int kw_type(const Keyword *k) {
        unsigned t = 0;
        int r;

        k->n->types = 0;
        if (!cJSON_IsArray(k->v)) {
                r = parse_type_name(k->c, k->v, k->loc, &t);
                if (r < 0)
                        return r;
                k->n->types = 1U << t;
                k->n->type_order[k->n->n_type_order++] = (uint8_t) t;
                return 0;
        }
        if (!k->v->child)
                return compile_error(k->c, k->loc, "must not be empty");
        for (const cJSON *e = k->v->child; e; e = e->next) {
                r = parse_type_name(k->c, e, k->loc, &t);
                if (r < 0)
                        return r;
                if (k->n->types & (1U << t))
                        return compile_error(k->c, k->loc, "lists \"%s\" twice", type_names[t]);
                k->n->types |= 1U << t;
                k->n->type_order[k->n->n_type_order++] = (uint8_t) t;
        }
        return 0;
}

static int kw_enum(const Keyword *k) {
        if (!cJSON_IsArray(k->v))
                return compile_error(k->c, k->loc, "must be an array");
        k->n->enum_values = cJSON_Duplicate(k->v, true);
        return k->n->enum_values ? 0 : -ENOMEM;
}

static int kw_const(const Keyword *k) {
        k->n->const_value = cJSON_Duplicate(k->v, true);
        return k->n->const_value ? 0 : -ENOMEM;
}

static int kw_default(const Keyword *k) {
        k->n->default_value = cJSON_Duplicate(k->v, true);
        return k->n->default_value ? 0 : -ENOMEM;
}

static int kw_minimum(const Keyword *k) {
        return parse_number(k->c, k->v, k->loc, &k->n->has_minimum, &k->n->minimum);
}

static int kw_maximum(const Keyword *k) {
        return parse_number(k->c, k->v, k->loc, &k->n->has_maximum, &k->n->maximum);
}

static int kw_exclusive_minimum(const Keyword *k) {
        return parse_number(k->c, k->v, k->loc, &k->n->has_exclusive_minimum, &k->n->exclusive_minimum);
}

static int kw_exclusive_maximum(const Keyword *k) {
        return parse_number(k->c, k->v, k->loc, &k->n->has_exclusive_maximum, &k->n->exclusive_maximum);
}

static int kw_multiple_of(const Keyword *k) {
        if (!cJSON_IsNumber(k->v) || !isfinite(k->v->valuedouble) || k->v->valuedouble <= 0)
                return compile_error(k->c, k->loc, "must be a number greater than 0");
        k->n->has_multiple_of = true;
        k->n->multiple_of = k->v->valuedouble;
        return 0;
}

static int kw_min_length(const Keyword *k) {
        return parse_count(k->c, k->v, k->loc, &k->n->min_length);
}

static int kw_max_length(const Keyword *k) {
        return parse_count(k->c, k->v, k->loc, &k->n->max_length);
}

static int kw_pattern(const Keyword *k) {
        if (!cJSON_IsString(k->v))
                return compile_error(k->c, k->loc, "must be a string");
        return compile_pattern(k->c, k->v->valuestring, k->loc, &k->n->pattern);
}

static int kw_min_items(const Keyword *k) {
        return parse_count(k->c, k->v, k->loc, &k->n->min_items);
}

static int kw_max_items(const Keyword *k) {
        return parse_count(k->c, k->v, k->loc, &k->n->max_items);
}

static int kw_unique_items(const Keyword *k) {
        if (!cJSON_IsBool(k->v))
                return compile_error(k->c, k->loc, "must be a boolean");
        k->n->unique_items = cJSON_IsTrue(k->v);
        return 0;
}

static int kw_min_properties(const Keyword *k) {
        return parse_count(k->c, k->v, k->loc, &k->n->min_properties);
}

static int kw_max_properties(const Keyword *k) {
        return parse_count(k->c, k->v, k->loc, &k->n->max_properties);
}

/* A non-empty array of schemas (allOf, anyOf, oneOf, prefixItems). */
static int compile_list(Compiler *c, const cJSON *v, const char *loc, unsigned depth, NodeList *ret) {
        size_t n = 0;

        if (!cJSON_IsArray(v) || !v->child)
                return compile_error(c, loc, "must be a non-empty array of schemas");
        for (const cJSON *e = v->child; e; e = e->next)
                n++;
        ret->items = calloc(n, sizeof(Node *));
        if (!ret->items)
                return -ENOMEM;
        for (const cJSON *e = v->child; e; e = e->next) {
                _cleanup_free_ char *item_loc = location_index(loc, ret->n);
                if (!item_loc)
                        return -ENOMEM;
                int r = compile_node(c, e, item_loc, depth + 1, &ret->items[ret->n]);
                if (r < 0)
                        return r;
                ret->n++;
        }
        return 0;
}

static int kw_all_of(const Keyword *k) {
        return compile_list(k->c, k->v, k->loc, k->depth, &k->n->all_of);
}

static int kw_any_of(const Keyword *k) {
        return compile_list(k->c, k->v, k->loc, k->depth, &k->n->any_of);
}

static int kw_one_of(const Keyword *k) {
        return compile_list(k->c, k->v, k->loc, k->depth, &k->n->one_of);
}

static int kw_prefix_items(const Keyword *k) {
        return compile_list(k->c, k->v, k->loc, k->depth, &k->n->prefix_items);
}

static int kw_items(const Keyword *k) {
        if (cJSON_IsArray(k->v))
                return compile_error(k->c, k->loc,
                                     "must be a schema (an array of schemas is \"prefixItems\" in 2020-12)");
        return compile_node(k->c, k->v, k->loc, k->depth + 1, &k->n->items);
}

static int kw_additional_properties(const Keyword *k) {
        return compile_node(k->c, k->v, k->loc, k->depth + 1, &k->n->additional_properties);
}

static int kw_not(const Keyword *k) {
        return compile_node(k->c, k->v, k->loc, k->depth + 1, &k->n->not_schema);
}

static int kw_if(const Keyword *k) {
        return compile_node(k->c, k->v, k->loc, k->depth + 1, &k->n->if_schema);
}

static int kw_then(const Keyword *k) {
        return compile_node(k->c, k->v, k->loc, k->depth + 1, &k->n->then_schema);
}

static int kw_else(const Keyword *k) {
        return compile_node(k->c, k->v, k->loc, k->depth + 1, &k->n->else_schema);
}

static int property_compare(const void *a, const void *b) {
        return strcmp(((const Property *) a)->name, ((const Property *) b)->name);
}

/* An object whose members are schemas ("properties", "$defs"); the result is sorted by name. */
static int compile_property_map(Compiler *c, const cJSON *v, const char *loc, unsigned depth, Property **ret,
                                size_t *ret_n) {
        size_t n = 0;

        if (!cJSON_IsObject(v))
                return compile_error(c, loc, "must be an object whose values are schemas");
        for (const cJSON *e = v->child; e; e = e->next)
                n++;
        *ret = calloc(MAX(n, 1U), sizeof(Property));
        if (!*ret)
                return -ENOMEM;
        for (const cJSON *e = v->child; e; e = e->next) {
                Property *p = &(*ret)[*ret_n];
                p->name = strdup(e->string ?: "");
                if (!p->name)
                        return -ENOMEM;
                (*ret_n)++;
                int r = compile_child(c, e, loc, p->name, depth, &p->schema);
                if (r < 0)
                        return r;
        }
        qsort(*ret, *ret_n, sizeof(Property), property_compare);
        for (size_t i = 1; i < *ret_n; i++)
                if (streq((*ret)[i - 1].name, (*ret)[i].name))
                        return compile_error(c, loc, "names \"%s\" twice", (*ret)[i].name);
        return 0;
}

static int kw_properties(const Keyword *k) {
        return compile_property_map(k->c, k->v, k->loc, k->depth, &k->n->properties, &k->n->n_properties);
}

static int kw_defs(const Keyword *k) {
        return compile_property_map(k->c, k->v, k->loc, k->depth, &k->n->defs, &k->n->n_defs);
}

static int kw_pattern_properties(const Keyword *k) {
        size_t count = 0;

        if (!cJSON_IsObject(k->v))
                return compile_error(k->c, k->loc, "must be an object whose values are schemas");
        for (const cJSON *e = k->v->child; e; e = e->next)
                count++;
        k->n->pattern_properties = calloc(MAX(count, 1U), sizeof(PatternProperty));
        if (!k->n->pattern_properties)
                return -ENOMEM;
        for (const cJSON *e = k->v->child; e; e = e->next) {
                PatternProperty *p = &k->n->pattern_properties[k->n->n_pattern_properties];
                _cleanup_free_ char *item_loc = location_append(k->loc, e->string ?: "");
                if (!item_loc)
                        return -ENOMEM;
                int r = compile_pattern(k->c, e->string ?: "", item_loc, &p->pattern);
                if (r < 0)
                        return r;
                k->n->n_pattern_properties++;
                r = compile_node(k->c, e, item_loc, k->depth + 1, &p->schema);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int kw_required(const Keyword *k) {
        size_t count = 0;

        if (!cJSON_IsArray(k->v))
                return compile_error(k->c, k->loc, "must be an array of strings");
        for (const cJSON *e = k->v->child; e; e = e->next) {
                if (!cJSON_IsString(e))
                        return compile_error(k->c, k->loc, "must be an array of strings");
                for (const cJSON *f = k->v->child; f != e; f = f->next)
                        if (streq(f->valuestring, e->valuestring))
                                return compile_error(k->c, k->loc, "names \"%s\" twice", e->valuestring);
                count++;
        }
        k->n->required = calloc(MAX(count, 1U), sizeof(char *));
        if (!k->n->required)
                return -ENOMEM;
        for (const cJSON *e = k->v->child; e; e = e->next) {
                k->n->required[k->n->n_required] = strdup(e->valuestring);
                if (!k->n->required[k->n->n_required])
                        return -ENOMEM;
                k->n->n_required++;
        }
        return 0;
}

static int kw_ref(const Keyword *k) {
        if (!cJSON_IsString(k->v))
                return compile_error(k->c, k->loc, "must be a string");
        if (k->v->valuestring[0] != '#' || (k->v->valuestring[1] && k->v->valuestring[1] != '/'))
                return compile_error(k->c, k->loc,
                                     "\"%s\": only references inside this document (\"#\" or \"#/...\") "
                                     "are supported",
                                     k->v->valuestring);
        k->n->ref = strdup(k->v->valuestring);
        return k->n->ref ? 0 : -ENOMEM;
}

static int kw_schema(const Keyword *k) {
        if (k->depth > 0)
                return compile_error(k->c, k->loc, "is only supported at the root");
        if (!cJSON_IsString(k->v) ||
            (!streq(k->v->valuestring, SCHEMA_DIALECT) && !streq(k->v->valuestring, SCHEMA_DIALECT "#")))
                return compile_error(k->c, k->loc, "must be \"" SCHEMA_DIALECT "\"");
        return 0;
}

static int kw_id(const Keyword *k) {
        if (k->depth > 0)
                return compile_error(k->c, k->loc, "is only supported at the root (it would change what $ref means)");
        if (!cJSON_IsString(k->v))
                return compile_error(k->c, k->loc, "must be a string");
        return 0;
}

/* Keywords with a NULL function are annotations: accepted and ignored. */
static const struct {
        const char *name;
        KeywordFunc func;
} keywords[] = {
        { "type", kw_type },
        { "enum", kw_enum },
        { "const", kw_const },
        { "default", kw_default },
        { "minimum", kw_minimum },
        { "maximum", kw_maximum },
        { "exclusiveMinimum", kw_exclusive_minimum },
        { "exclusiveMaximum", kw_exclusive_maximum },
        { "multipleOf", kw_multiple_of },
        { "minLength", kw_min_length },
        { "maxLength", kw_max_length },
        { "pattern", kw_pattern },
        { "items", kw_items },
        { "prefixItems", kw_prefix_items },
        { "minItems", kw_min_items },
        { "maxItems", kw_max_items },
        { "uniqueItems", kw_unique_items },
        { "properties", kw_properties },
        { "patternProperties", kw_pattern_properties },
        { "additionalProperties", kw_additional_properties },
        { "required", kw_required },
        { "minProperties", kw_min_properties },
        { "maxProperties", kw_max_properties },
        { "allOf", kw_all_of },
        { "anyOf", kw_any_of },
        { "oneOf", kw_one_of },
        { "not", kw_not },
        { "if", kw_if },
        { "then", kw_then },
        { "else", kw_else },
        { "$ref", kw_ref },
        { "$defs", kw_defs },
        { "$schema", kw_schema },
        { "$id", kw_id },
        { "$comment", NULL },
        { "title", NULL },
        { "description", NULL },
        { "examples", NULL },
        { "deprecated", NULL },
        { "readOnly", NULL },
        { "writeOnly", NULL },
        { "format", NULL },
};

static int compile_keyword(Compiler *c, Node *n, const cJSON *member, unsigned depth) {
        const char *name = member->string ?: "";
        _cleanup_free_ char *loc = NULL;

        for (const cJSON *prev = member->prev; prev && prev->next; prev = prev->prev)
                if (streq(prev->string ?: "", name))
                        return compile_error(c, n->location, "keyword \"%s\" appears twice", name);
        for (size_t i = 0; i < ELEMENTSOF(keywords); i++) {
                if (!streq(keywords[i].name, name))
                        continue;
                if (!keywords[i].func)
                        return 0;
                loc = location_append(n->location, name);
                if (!loc)
                        return -ENOMEM;
                return keywords[i].func(&(Keyword){ c, n, member, loc, depth });
        }
        return compile_error(c, n->location, "unknown or unsupported keyword \"%s\"", name);
}

static int compiler_register(Compiler *c, Node *n) {
        if (c->n_nodes == c->n_allocated) {
                size_t m = MAX(c->n_allocated * 2, 16U);
                Node **p = reallocarray(c->nodes, m, sizeof(Node *));
                if (!p)
                        return -ENOMEM;
                c->nodes = p;
                c->n_allocated = m;
        }
        c->nodes[c->n_nodes++] = n;
        return 0;
}

static int compile_node(Compiler *c, const cJSON *json, const char *location, unsigned depth, Node **ret) {
        _cleanup_(node_freep) Node *n = NULL;
        int r;

        if (depth > JSONSCHEMA_SCHEMA_DEPTH_MAX)
                return compile_error(c, location, "schema nested deeper than %u levels", JSONSCHEMA_SCHEMA_DEPTH_MAX);
        n = calloc(1, sizeof(Node));
        if (!n)
                return -ENOMEM;
        n->location = strdup(location);
        if (!n->location)
                return -ENOMEM;
        n->types = TYPE_ANY;
        n->max_length = n->max_items = n->max_properties = SIZE_MAX;

        if (cJSON_IsBool(json)) {
                n->is_bool = true;
                n->accept = cJSON_IsTrue(json);
        } else if (cJSON_IsObject(json)) {
                for (const cJSON *m = json->child; m; m = m->next) {
                        r = compile_keyword(c, n, m, depth);
                        if (r < 0)
                                return r;
                }
        } else
                return compile_error(c, location, "a schema must be an object or a boolean");

        r = compiler_register(c, n); /* only looked at once the whole document compiled */
        if (r < 0)
                return r;
        *ret = TAKE_PTR(n);
        return 0;
}

static int hex_digit(char ch) {
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        if (ch >= 'a' && ch <= 'f')
                return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'F')
                return ch - 'A' + 10;
        return -1;
}

/* Undoes the URI percent-encoding of a "#..." reference; NULL on a malformed escape (errno EINVAL). */
static char *percent_decode(const char *s) {
        char *d = malloc(strlen(s) + 1), *p = d;

        if (!d)
                return NULL;
        for (; *s; s++) {
                if (*s != '%') {
                        *p++ = *s;
                        continue;
                }
                int hi = hex_digit(s[1]), lo = hi < 0 ? -1 : hex_digit(s[2]);
                if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                        free(d);
                        errno = EINVAL;
                        return NULL;
                }
                *p++ = (char) (hi * 16 + lo);
                s += 2;
        }
        *p = '\0';
        return d;
}

static int resolve_refs(Compiler *c) {
        for (size_t i = 0; i < c->n_nodes; i++) {
                Node *n = c->nodes[i];
                _cleanup_free_ char *target = NULL;

                if (!n->ref)
                        continue;
                target = percent_decode(n->ref);
                if (!target && errno == ENOMEM)
                        return -ENOMEM;
                if (!target)
                        return compile_error(c, n->location, "$ref \"%s\" has a malformed %%-escape", n->ref);
                for (size_t j = 0; j < c->n_nodes && !n->ref_target; j++)
                        if (streq(c->nodes[j]->location, target))
                                n->ref_target = c->nodes[j];
                if (!n->ref_target)
                        return compile_error(c, n->location, "$ref \"%s\" does not point to a schema in this document",
                                             n->ref);
        }
        return 0;
}

/* Depth-first search along the applicators that keep looking at the same instance value: a cycle
 * there would never end, whatever the instance. */
static int check_cycles(Compiler *c, Node *n, unsigned depth) {
        const NodeList *lists[] = { &n->all_of, &n->any_of, &n->one_of };
        Node *singles[] = { n->not_schema, n->if_schema, n->then_schema, n->else_schema };
        int r;

        if (n->mark == 2)
                return 0;
        if (depth > JSONSCHEMA_EVAL_DEPTH_MAX)
                return compile_error(c, n->location, "$ref chain deeper than %u levels", JSONSCHEMA_EVAL_DEPTH_MAX);
        n->mark = 1;
        if (n->ref_target) {
                if (n->ref_target->mark == 1)
                        return compile_error(c, n->location,
                                             "$ref \"%s\" is circular without descending into the instance", n->ref);
                r = check_cycles(c, (Node *) n->ref_target, depth + 1);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                for (size_t j = 0; j < lists[i]->n; j++) {
                        r = check_cycles(c, lists[i]->items[j], depth + 1);
                        if (r < 0)
                                return r;
                }
        for (size_t i = 0; i < ELEMENTSOF(singles); i++)
                if (singles[i]) {
                        r = check_cycles(c, singles[i], depth + 1);
                        if (r < 0)
                                return r;
                }
        n->mark = 2;
        return 0;
}

int jsonschema_compile(const cJSON *schema, JsonSchema **ret, char *err, size_t errsz) {
        _cleanup_(jsonschema_freep) JsonSchema *s = NULL;
        _cleanup_free_ Node **nodes = NULL;
        Compiler c = { .err = out_start(err, errsz) };
        int r;

        if (!schema || !ret)
                return -EINVAL;
        s = calloc(1, sizeof(JsonSchema));
        if (!s)
                return -ENOMEM;
        r = compile_node(&c, schema, "#", 0, &s->root);
        nodes = c.nodes; /* freed on every path below */
        if (r < 0)
                return r;
        r = resolve_refs(&c);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c.n_nodes; i++) {
                r = check_cycles(&c, c.nodes[i], 0);
                if (r < 0)
                        return r;
        }
        s->match_context = pcre2_match_context_create(NULL);
        if (!s->match_context)
                return -ENOMEM;
        pcre2_set_match_limit(s->match_context, PATTERN_MATCH_LIMIT);
        pcre2_set_depth_limit(s->match_context, PATTERN_DEPTH_LIMIT);
        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- validation ---- */

/* Where a value sits in the instance, as a chain on the stack; NULL is the top level. */
typedef struct Path {
        const struct Path *parent;
        const char *key; /* member name, or NULL for an array element */
        size_t index;
} Path;

typedef struct Validator {
        char *err;
        size_t errsz;
        bool quiet; /* trying a branch (anyOf, oneOf, not, if): no messages */
        unsigned depth;
        size_t steps;
        pcre2_match_context *match_context;
        pcre2_match_data *match_data; /* allocated on first use */
} Validator;

static bool key_is_plain(const char *k) {
        if (!*k)
                return false;
        for (; *k; k++)
                if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || *k == '_' ||
                      *k == '-' || *k == '$' || *k == '@'))
                        return false;
        return true;
}

static void out_path(Out *o, const Path *p) {
        if (!p)
                return;
        out_path(o, p->parent);
        if (!p->key)
                out_printf(o, "[%zu]", p->index);
        else if (key_is_plain(p->key))
                out_printf(o, "%s%s", p->parent ? "." : "", p->key);
        else {
                out_puts(o, "[");
                out_quoted(o, p->key);
                out_puts(o, "]");
        }
}

/* Starts the message of an error at path; false (write nothing) while trying a branch. */
static bool report(Validator *v, const Path *path, Out *o) {
        if (v->quiet)
                return false;
        *o = out_start(v->err, v->errsz);
        out_path(o, path);
        if (path)
                out_puts(o, ": ");
        return true;
}

_printf_(3, 4) static int fail(Validator *v, const Path *path, const char *fmt, ...) {
        va_list ap;
        Out o;

        if (!report(v, path, &o))
                return -EINVAL;
        va_start(ap, fmt);
        out_vprintf(&o, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* An error that ends validation whatever branch is being tried: always reported. */
_printf_(4, 5) static int fatal(Validator *v, int error, const Path *path, const char *fmt, ...) {
        bool quiet = v->quiet;
        va_list ap;
        Out o;

        v->quiet = false;
        (void) report(v, path, &o);
        v->quiet = quiet;
        va_start(ap, fmt);
        out_vprintf(&o, fmt, ap);
        va_end(ap);
        return error;
}

static int fail_quoted(Validator *v, const Path *path, const char *what, const char *name) {
        Out o;

        if (report(v, path, &o)) {
                out_printf(&o, "%s ", what);
                out_quoted(&o, name);
        }
        return -EINVAL;
}

static const char *plural(size_t n) {
        return n == 1 ? "" : "s";
}

static int validate_node(Validator *v, const Node *n, const cJSON *inst, const Path *path);

/* Validates without messages; restores the previous mode. */
static int try_node(Validator *v, const Node *n, const cJSON *inst, const Path *path) {
        bool quiet = v->quiet;
        int r;

        v->quiet = true;
        r = validate_node(v, n, inst, path);
        v->quiet = quiet;
        return r;
}

static void out_types(Out *o, unsigned types, const uint8_t *order, size_t n_order) {
        uint8_t canonical[N_TYPES];
        size_t n = 0;

        if (!order) {
                if ((types & TYPE_NUMBER) && (types & TYPE_INTEGER))
                        types &= ~TYPE_INTEGER;
                for (unsigned t = 0; t < N_TYPES; t++)
                        if (types & (1U << t))
                                canonical[n++] = (uint8_t) t;
                order = canonical;
                n_order = n;
        }
        for (size_t i = 0; i < n_order; i++)
                out_printf(o, "%s%s", i == 0 ? "" : i + 1 == n_order ? " or " : ", ", type_names[order[i]]);
}

static int check_type(Validator *v, const Node *n, const cJSON *inst, const Path *path) {
        Out o;

        if (n->types & instance_types(inst))
                return 0;
        if (report(v, path, &o)) {
                out_puts(&o, "expected ");
                out_types(&o, n->types, n->type_order, n->n_type_order);
        }
        return -EINVAL;
}

static int check_enum_const(Validator *v, const Node *n, const cJSON *inst, const Path *path) {
        Out o;

        if (n->const_value && !json_equal(inst, n->const_value)) {
                if (report(v, path, &o)) {
                        out_puts(&o, "must be ");
                        out_json(&o, n->const_value, MESSAGE_JSON_DEPTH);
                }
                return -EINVAL;
        }
        if (!n->enum_values)
                return 0;
        for (const cJSON *e = n->enum_values->child; e; e = e->next)
                if (json_equal(inst, e))
                        return 0;
        if (report(v, path, &o)) {
                const cJSON *first = n->enum_values->child;
                if (!first)
                        out_puts(&o, "no value is allowed (empty enum)");
                else
                        out_puts(&o, first->next ? "must be one of " : "must be ");
                for (const cJSON *e = first; e; e = e->next) {
                        if (e != first)
                                out_puts(&o, ", ");
                        out_json(&o, e, MESSAGE_JSON_DEPTH);
                }
        }
        return -EINVAL;
}

static int fail_number(Validator *v, const Path *path, const char *what, double bound) {
        char buf[32];

        format_number(bound, buf, sizeof buf);
        return fail(v, path, "must be %s %s", what, buf);
}

static int check_number(Validator *v, const Node *n, double x, const Path *path) {
        if (n->has_minimum && x < n->minimum)
                return fail_number(v, path, ">=", n->minimum);
        if (n->has_exclusive_minimum && x <= n->exclusive_minimum)
                return fail_number(v, path, ">", n->exclusive_minimum);
        if (n->has_maximum && x > n->maximum)
                return fail_number(v, path, "<=", n->maximum);
        if (n->has_exclusive_maximum && x >= n->exclusive_maximum)
                return fail_number(v, path, "<", n->exclusive_maximum);
        if (n->has_multiple_of && !number_is_multiple_of(x, n->multiple_of))
                return fail_number(v, path, "a multiple of", n->multiple_of);
        return 0;
}

/* Searches s for p (unanchored, as the spec says); 1 if found, 0 if not, negative on error. */
static int pattern_search(Validator *v, const Pattern *p, const char *s, const Path *path) {
        PCRE2_UCHAR msg[128];
        int r;

        if (!v->match_data) {
                v->match_data = pcre2_match_data_create(1, NULL);
                if (!v->match_data)
                        return -ENOMEM;
        }
        r = pcre2_match(p->code, (PCRE2_SPTR) s, strlen(s), 0, 0, v->match_data, v->match_context);
        if (r >= 0)
                return 1;
        if (r == PCRE2_ERROR_NOMATCH)
                return 0;
        if (r == PCRE2_ERROR_NOMEMORY)
                return -ENOMEM;
        if (r <= PCRE2_ERROR_UTF8_ERR1 && r >= PCRE2_ERROR_UTF8_ERR21)
                return fail(v, path, "is not valid UTF-8");
        if (pcre2_get_error_message(r, msg, sizeof msg) < 0)
                strcpy((char *) msg, "unknown error");
        return fail(v, path, "could not be matched against pattern: %s", (const char *) msg);
}

static int check_string(Validator *v, const Node *n, const char *s, const Path *path) {
        Out o;
        int r;

        if (n->min_length > 0 || n->max_length < SIZE_MAX) {
                size_t len = utf8_length(s);
                if (len < n->min_length)
                        return fail(v, path, "must be at least %zu character%s long", n->min_length,
                                    plural(n->min_length));
                if (len > n->max_length)
                        return fail(v, path, "must be at most %zu character%s long", n->max_length,
                                    plural(n->max_length));
        }
        if (!n->pattern.code)
                return 0;
        r = pattern_search(v, &n->pattern, s, path);
        if (r != 0)
                return MIN(r, 0);
        if (report(v, path, &o)) {
                out_puts(&o, "must match pattern ");
                out_quoted(&o, n->pattern.source);
        }
        return -EINVAL;
}

static int check_unique(Validator *v, const cJSON *inst, const Path *path) {
        size_t i = 0;

        for (const cJSON *a = inst->child; a; a = a->next, i++) {
                size_t j = i + 1;
                for (const cJSON *b = a->next; b; b = b->next, j++)
                        if (json_equal(a, b))
                                return fail(v, path, "must not contain duplicates (items %zu and %zu are equal)", i, j);
        }
        return 0;
}

static int check_array(Validator *v, const Node *n, const cJSON *inst, const Path *path) {
        size_t count = 0, i = 0;
        int r;

        for (const cJSON *e = inst->child; e; e = e->next)
                count++;
        if (count < n->min_items)
                return fail(v, path, "must have at least %zu item%s", n->min_items, plural(n->min_items));
        if (count > n->max_items)
                return fail(v, path, "must have at most %zu item%s", n->max_items, plural(n->max_items));
        if (n->unique_items) {
                r = check_unique(v, inst, path);
                if (r < 0)
                        return r;
        }
        for (const cJSON *e = inst->child; e; e = e->next, i++) {
                const Node *item = i < n->prefix_items.n ? n->prefix_items.items[i] : n->items;
                Path p = { path, NULL, i };

                if (!item)
                        continue;
                if (item->is_bool && !item->accept && i >= n->prefix_items.n)
                        return fail(v, path, "must have at most %zu item%s", n->prefix_items.n,
                                    plural(n->prefix_items.n));
                r = validate_node(v, item, e, &p);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const Property *find_property(const Property *props, size_t n, const char *name) {
        Property key = { (char *) name, NULL };

        return n > 0 ? bsearch(&key, props, n, sizeof(Property), property_compare) : NULL;
}

/* Checks one member of an object against properties, patternProperties and additionalProperties. */
static int check_member(Validator *v, const Node *n, const cJSON *m, const Path *path) {
        const char *key = m->string ?: "";
        const Property *prop = find_property(n->properties, n->n_properties, key);
        Path p = { path, key, 0 };
        bool matched = prop;
        int r;

        if (prop) {
                r = validate_node(v, prop->schema, m, &p);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n->n_pattern_properties; i++) {
                r = pattern_search(v, &n->pattern_properties[i].pattern, key, &p);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                matched = true;
                r = validate_node(v, n->pattern_properties[i].schema, m, &p);
                if (r < 0)
                        return r;
        }
        if (matched || !n->additional_properties)
                return 0;
        if (n->additional_properties->is_bool && !n->additional_properties->accept)
                return fail_quoted(v, path, "unknown field", key);
        return validate_node(v, n->additional_properties, m, &p);
}

static int check_object(Validator *v, const Node *n, const cJSON *inst, const Path *path) {
        size_t count = 0;
        int r;

        for (const cJSON *m = inst->child; m; m = m->next) {
                count++;
                r = check_member(v, n, m, path);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n->n_required; i++)
                if (!cJSON_GetObjectItemCaseSensitive(inst, n->required[i]))
                        return fail_quoted(v, path, "missing required field", n->required[i]);
        if (count < n->min_properties)
                return fail(v, path, "must have at least %zu field%s", n->min_properties, plural(n->min_properties));
        if (count > n->max_properties)
                return fail(v, path, "must have at most %zu field%s", n->max_properties, plural(n->max_properties));
        return 0;
}

/* The value a schema pins with "const" or a one-value "enum", following $ref. */
static const cJSON *node_pinned_value(const Node *n) {
        for (unsigned hops = 0; n && hops < 16; n = n->ref_target, hops++) {
                if (n->const_value)
                        return n->const_value;
                if (n->enum_values && n->enum_values->child && !n->enum_values->child->next)
                        return n->enum_values->child;
        }
        return NULL;
}

/* A property whose value the branch pins, like {"properties": {"type": {"const": "hello"}}}: the usual
 * way a oneOf picks its branch. Looks through $ref and allOf. */
static bool node_discriminator(const Node *n, unsigned hops, const char **ret_name, const cJSON **ret_value) {
        for (; n && hops < 16; n = n->ref_target, hops++) {
                if (n->is_bool)
                        return false;
                for (size_t i = 0; i < n->n_properties; i++) {
                        const cJSON *value = node_pinned_value(n->properties[i].schema);
                        if (value) {
                                *ret_name = n->properties[i].name;
                                *ret_value = value;
                                return true;
                        }
                }
                for (size_t i = 0; i < n->all_of.n; i++)
                        if (node_discriminator(n->all_of.items[i], hops + 1, ret_name, ret_value))
                                return true;
        }
        return false;
}

/* The TYPE_* a schema can accept at all, looking through $ref and allOf. */
static unsigned node_types(const Node *n, unsigned hops) {
        unsigned t = TYPE_ANY;

        if (hops >= 16)
                return TYPE_ANY;
        if (n->is_bool)
                return n->accept ? TYPE_ANY : 0;
        t = n->types;
        if (t & TYPE_NUMBER)
                t |= TYPE_INTEGER;
        if (n->ref_target)
                t &= node_types(n->ref_target, hops + 1);
        for (size_t i = 0; i < n->all_of.n; i++)
                t &= node_types(n->all_of.items[i], hops + 1);
        return t;
}

/* For a failed oneOf on an object whose branches all pin the same property: the branch that
 * matches the instance's value of it, or an error naming the values allowed. */
static int pick_by_discriminator(Validator *v, const NodeList *l, const cJSON *inst, const Path *path,
                                 const Node **ret) {
        const char *common = NULL;
        bool all_pinned = true;
        Out o;

        if (!cJSON_IsObject(inst))
                return 0;
        for (size_t i = 0; i < l->n; i++) {
                const char *name;
                const cJSON *value, *member;

                if (!node_discriminator(l->items[i], 0, &name, &value)) {
                        all_pinned = false;
                        continue;
                }
                if (common && !streq(common, name))
                        all_pinned = false;
                common = common ?: name;
                member = cJSON_GetObjectItemCaseSensitive(inst, name);
                if (member && json_equal(member, value)) {
                        *ret = l->items[i];
                        return 0;
                }
        }
        if (!all_pinned || !common || !cJSON_GetObjectItemCaseSensitive(inst, common))
                return 0;
        Path p = { path, common, 0 };
        if (report(v, &p, &o)) {
                out_puts(&o, "must be one of ");
                for (size_t i = 0; i < l->n; i++) {
                        const char *name;
                        const cJSON *value;
                        if (node_discriminator(l->items[i], 0, &name, &value)) {
                                out_puts(&o, i > 0 ? ", " : "");
                                out_json(&o, value, MESSAGE_JSON_DEPTH);
                        }
                }
        }
        return -EINVAL;
}

/* Explains why no branch of anyOf/oneOf matched: the error of the one branch meant for this
 * instance (by a pinned property, else by type) or, failing that, the generic message. */
static int explain_branches(Validator *v, const NodeList *l, const cJSON *inst, const Path *path,
                            const char *generic) {
        unsigned have = instance_types(inst), all = 0;
        const Node *chosen = NULL;
        size_t candidates = 0;
        bool all_typed = true;
        Out o;
        int r;

        r = pick_by_discriminator(v, l, inst, path, &chosen);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l->n && !chosen; i++) {
                unsigned t = node_types(l->items[i], 0);
                all |= t;
                all_typed = all_typed && t != TYPE_ANY;
                if (t & have)
                        candidates++;
        }
        for (size_t i = 0; i < l->n && candidates == 1 && !chosen; i++)
                if (node_types(l->items[i], 0) & have)
                        chosen = l->items[i];
        if (chosen) {
                r = validate_node(v, chosen, inst, path);
                if (r != 0)
                        return r;
        }
        if (candidates == 0 && all_typed && all != 0 && report(v, path, &o)) {
                out_puts(&o, "expected ");
                out_types(&o, all, NULL, 0);
                return -EINVAL;
        }
        return fail(v, path, "%s", generic);
}

static int check_any_of(Validator *v, const NodeList *l, const cJSON *inst, const Path *path) {
        char generic[128];

        for (size_t i = 0; i < l->n; i++) {
                int r = try_node(v, l->items[i], inst, path);
                if (r != -EINVAL)
                        return r;
        }
        if (v->quiet)
                return -EINVAL;
        snprintf(generic, sizeof generic, "must match at least one of %zu schemas", l->n);
        return explain_branches(v, l, inst, path, generic);
}

static int check_one_of(Validator *v, const NodeList *l, const cJSON *inst, const Path *path) {
        char generic[128];
        size_t matched = 0;

        for (size_t i = 0; i < l->n && !(v->quiet && matched > 1); i++) {
                int r = try_node(v, l->items[i], inst, path);
                if (r == 0)
                        matched++;
                else if (r != -EINVAL)
                        return r;
        }
        if (matched == 1)
                return 0;
        snprintf(generic, sizeof generic, "must match exactly one of %zu schemas (matched %zu)", l->n, matched);
        if (v->quiet || matched > 1)
                return fail(v, path, "%s", generic);
        return explain_branches(v, l, inst, path, generic);
}

static int check_applicators(Validator *v, const Node *n, const cJSON *inst, const Path *path) {
        int r;

        if (n->ref_target) {
                r = validate_node(v, n->ref_target, inst, path);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n->all_of.n; i++) {
                r = validate_node(v, n->all_of.items[i], inst, path);
                if (r < 0)
                        return r;
        }
        if (n->any_of.n > 0) {
                r = check_any_of(v, &n->any_of, inst, path);
                if (r < 0)
                        return r;
        }
        if (n->one_of.n > 0) {
                r = check_one_of(v, &n->one_of, inst, path);
                if (r < 0)
                        return r;
        }
        if (n->not_schema) {
                r = try_node(v, n->not_schema, inst, path);
                if (r == 0)
                        return fail(v, path, "must not match the \"not\" schema");
                if (r != -EINVAL)
                        return r;
        }
        if (n->if_schema) {
                r = try_node(v, n->if_schema, inst, path);
                if (r != 0 && r != -EINVAL)
                        return r;
                const Node *next = r == 0 ? n->then_schema : n->else_schema;
                if (next)
                        return validate_node(v, next, inst, path);
        }
        return 0;
}

static int validate_node_inner(Validator *v, const Node *n, const cJSON *inst, const Path *path) {
        int r;

        if (n->is_bool)
                return n->accept ? 0 : fail(v, path, "not allowed");
        r = check_type(v, n, inst, path);
        if (r < 0)
                return r;
        r = check_enum_const(v, n, inst, path);
        if (r < 0)
                return r;
        if (cJSON_IsNumber(inst))
                r = check_number(v, n, inst->valuedouble, path);
        else if (cJSON_IsString(inst))
                r = check_string(v, n, inst->valuestring, path);
        else if (cJSON_IsArray(inst))
                r = check_array(v, n, inst, path);
        else if (cJSON_IsObject(inst))
                r = check_object(v, n, inst, path);
        if (r < 0)
                return r;
        return check_applicators(v, n, inst, path);
}

static int validate_node(Validator *v, const Node *n, const cJSON *inst, const Path *path) {
        int r;

        if (++v->steps > JSONSCHEMA_EVAL_STEPS_MAX)
                return fatal(v, -E2BIG, NULL, "validation needs more than %u schema evaluations",
                             JSONSCHEMA_EVAL_STEPS_MAX);
        if (v->depth >= JSONSCHEMA_EVAL_DEPTH_MAX)
                return fatal(v, -ELOOP, path, "schema evaluation nested deeper than %u levels (at %s)",
                             JSONSCHEMA_EVAL_DEPTH_MAX, n->location);
        v->depth++;
        r = validate_node_inner(v, n, inst, path);
        v->depth--;
        return r;
}

/* Rejects instances nested deeper than the limit before any schema recursion looks at them. */
static int check_depth(Validator *v, const cJSON *j, const Path *path, unsigned depth) {
        size_t i = 0;

        if (!cJSON_IsArray(j) && !cJSON_IsObject(j))
                return 0;
        if (depth >= JSONSCHEMA_INSTANCE_DEPTH_MAX)
                return fail(v, path, "nested deeper than %u levels", JSONSCHEMA_INSTANCE_DEPTH_MAX);
        for (const cJSON *c = j->child; c; c = c->next, i++) {
                Path p = { path, cJSON_IsObject(j) ? (c->string ?: "") : NULL, i };
                int r = check_depth(v, c, &p, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

int jsonschema_validate(const JsonSchema *s, const cJSON *instance, char *err, size_t errsz) {
        Validator v = { .err = err, .errsz = errsz };
        int r;

        (void) out_start(err, errsz);
        if (!s || !instance)
                return fatal(&v, -EINVAL, NULL, "no schema or no instance");
        v.match_context = s->match_context;
        r = check_depth(&v, instance, NULL, 0);
        if (r >= 0)
                r = validate_node(&v, s->root, instance, NULL);
        pcre2_match_data_free(v.match_data);
        return r;
}

/* ---- defaults ---- */

typedef struct Defaults {
        size_t steps;
        size_t added;
} Defaults;

/* The "default" of a schema, or of what its $ref chain points to. */
static const cJSON *node_default(const Node *n) {
        for (unsigned hops = 0; n && hops < 16; n = n->ref_target, hops++)
                if (n->default_value)
                        return n->default_value;
        return NULL;
}

static int apply_defaults(Defaults *d, const Node *n, cJSON *inst, unsigned depth, unsigned level);

static int apply_property_defaults(Defaults *d, const Node *n, cJSON *inst, unsigned depth, unsigned level) {
        for (size_t i = 0; i < n->n_properties; i++) {
                const Property *p = &n->properties[i];
                cJSON *member = cJSON_GetObjectItemCaseSensitive(inst, p->name);
                const cJSON *def;
                int r;

                if (!member && (def = node_default(p->schema))) {
                        if (++d->added > JSONSCHEMA_DEFAULTS_MAX)
                                return -E2BIG;
                        member = cJSON_Duplicate(def, true);
                        if (!member)
                                return -ENOMEM;
                        if (!cJSON_AddItemToObject(inst, p->name, member)) {
                                cJSON_Delete(member);
                                return -ENOMEM;
                        }
                }
                if (member) {
                        r = apply_defaults(d, p->schema, member, depth + 1, level + 1);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int apply_item_defaults(Defaults *d, const Node *n, cJSON *inst, unsigned depth, unsigned level) {
        size_t i = 0;

        for (cJSON *e = inst->child; e; e = e->next, i++) {
                const Node *item = i < n->prefix_items.n ? n->prefix_items.items[i] : n->items;
                if (item) {
                        int r = apply_defaults(d, item, e, depth + 1, level + 1);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* depth counts instance levels, level every schema visited on the way (as validation does). */
static int apply_defaults(Defaults *d, const Node *n, cJSON *inst, unsigned depth, unsigned level) {
        int r;

        if (n->is_bool || depth >= JSONSCHEMA_INSTANCE_DEPTH_MAX || level >= JSONSCHEMA_EVAL_DEPTH_MAX)
                return 0;
        if (++d->steps > JSONSCHEMA_EVAL_STEPS_MAX)
                return -E2BIG;
        if (n->ref_target) {
                r = apply_defaults(d, n->ref_target, inst, depth, level + 1);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n->all_of.n; i++) {
                r = apply_defaults(d, n->all_of.items[i], inst, depth, level + 1);
                if (r < 0)
                        return r;
        }
        if (cJSON_IsObject(inst))
                return apply_property_defaults(d, n, inst, depth, level);
        if (cJSON_IsArray(inst))
                return apply_item_defaults(d, n, inst, depth, level);
        return 0;
}

int jsonschema_apply_defaults(const JsonSchema *s, cJSON *instance) {
        Defaults d = {};

        if (!s || !instance)
                return -EINVAL;
        return apply_defaults(&d, s->root, instance, 0, 0);
}
