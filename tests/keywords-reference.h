/* keywords-reference.h: the naive matcher that policy/keywords.c is checked against (unit test
 * and fuzz target): every term tried at every position, leftmost-longest, non-overlapping. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct RefTerm {
        const char *s;
        size_t len;
        size_t list;
} RefTerm;

/* The matches of list's terms in text; caseless: ASCII letters compare without case. */
uint32_t keywords_reference_count(const char *text, size_t len, const RefTerm *terms, size_t n, size_t list,
                                  bool caseless);
