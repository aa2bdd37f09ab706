/* stop.h: stop strings over streamed text: emits what cannot be the start of a stop string, holds
 * back the rest, and cuts the output at the first stop string. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

#define STOP_MAX 8          /* stop strings per request (OpenAI allows 4) */
#define STOP_LEN_MAX 256    /* bytes per stop string */

typedef struct StopMatcher {
        char *stops[STOP_MAX];
        size_t n_stops;
        StrBuf held;  /* text received but not yet emitted */
        bool stopped;
} StopMatcher;

/* Copies the stop strings. Rejects more than STOP_MAX, empty ones and ones over STOP_LEN_MAX bytes
 * (-EINVAL), -ENOMEM. */
int stop_init(StopMatcher *m, const char *const *stops, size_t n);
void stop_done(StopMatcher *m);

/* Takes the next piece of generated text and appends to out what may be shown now. Returns 1 once
 * a stop string has been seen (out then ends just before it, and later calls add nothing), 0 to go
 * on, or a negative errno. */
int stop_feed(StopMatcher *m, const char *text, size_t len, StrBuf *out);
/* At the end of generation: appends whatever is still held back. */
int stop_flush(StopMatcher *m, StrBuf *out);
