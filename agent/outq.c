/* outq.c: the queue of frames waiting for the socket to become writeable, with a size limit. */
#include "outq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void outq_init(OutQueue *q, size_t headroom, size_t max_frames, size_t max_bytes) {
        *q = (OutQueue){ .headroom = headroom, .max_frames = max_frames, .max_bytes = max_bytes };
}

int outq_push(OutQueue *q, const void *data, size_t len) {
        size_t size, bytes;
        OutFrame *f;

        if (q->n >= q->max_frames || !size_add(q->bytes, len, &bytes) || bytes > q->max_bytes)
                return -ENOBUFS;
        if (!size_add(sizeof(OutFrame), q->headroom, &size) || !size_add(size, len, &size))
                return -ENOMEM;
        f = malloc(size);
        if (!f)
                return -ENOMEM;
        f->next = NULL;
        f->len = len;
        memset(f->buf, 0, q->headroom);
        if (len > 0)
                memcpy(f->buf + q->headroom, data, len);
        if (q->tail)
                q->tail->next = f;
        else
                q->head = f;
        q->tail = f;
        q->n++;
        q->bytes = bytes;
        return 0;
}

OutFrame *outq_peek(const OutQueue *q) {
        return q->head;
}

void outq_pop(OutQueue *q) {
        OutFrame *f = q->head;

        if (!f)
                return;
        q->head = f->next;
        if (!q->head)
                q->tail = NULL;
        q->n--;
        q->bytes -= f->len;
        free(f);
}

void outq_clear(OutQueue *q) {
        while (q->head)
                outq_pop(q);
}
