/* outq.h: the queue of frames waiting for the socket to become writeable, with a size limit. */
#pragma once

#include <stddef.h>

#include "macro.h"

typedef struct OutFrame OutFrame;
struct OutFrame {
        OutFrame *next;
        size_t len;          /* payload bytes, after the headroom */
        unsigned char buf[]; /* headroom bytes (for the websocket header), then the payload */
};

typedef struct OutQueue {
        OutFrame *head, *tail;
        size_t n, bytes;   /* frames and payload bytes queued */
        size_t headroom;   /* bytes reserved before each payload (LWS_PRE) */
        size_t max_frames; /* limits; a push past either fails */
        size_t max_bytes;
} OutQueue;

/* Sets up an empty queue. */
void outq_init(OutQueue *q, size_t headroom, size_t max_frames, size_t max_bytes);
/* Copies len bytes of data to the tail. Returns 0, -ENOBUFS when the frame would pass max_frames or
 * max_bytes (the queue is unchanged: the caller drops the frame and says so), or -ENOMEM. */
int outq_push(OutQueue *q, const void *data, size_t len);
/* The oldest frame, or NULL; owned by the queue. The payload is at f->buf + q->headroom. */
OutFrame *outq_peek(const OutQueue *q);
/* Removes and frees the oldest frame (no-op when empty). */
void outq_pop(OutQueue *q);
/* Frees every frame. */
void outq_clear(OutQueue *q);
