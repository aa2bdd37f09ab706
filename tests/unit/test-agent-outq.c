/* test-agent-outq.c: the agent's outgoing frame queue: order, headroom, and both size limits. */
#include "outq.h"
#include "test.h"

TEST(fifo_with_headroom) {
        OutQueue q;
        OutFrame *f;

        outq_init(&q, 16, 10, 1000);
        ASSERT_NULL(outq_peek(&q));
        ASSERT_OK(outq_push(&q, "one", 3));
        ASSERT_OK(outq_push(&q, "two!", 4));
        ASSERT_UEQ(q.n, 2);
        ASSERT_UEQ(q.bytes, 7);
        f = outq_peek(&q);
        ASSERT_UEQ(f->len, 3);
        ASSERT_MEMEQ(f->buf + 16, "one", 3);
        for (size_t i = 0; i < 16; i++)
                ASSERT_EQ(f->buf[i], 0);
        outq_pop(&q);
        f = outq_peek(&q);
        ASSERT_MEMEQ(f->buf + 16, "two!", 4);
        outq_pop(&q);
        ASSERT_NULL(outq_peek(&q));
        ASSERT_UEQ(q.n, 0);
        ASSERT_UEQ(q.bytes, 0);
        outq_pop(&q); /* no-op when empty */
        ASSERT_OK(outq_push(&q, "", 0));
        ASSERT_UEQ(outq_peek(&q)->len, 0);
        outq_clear(&q);
}

TEST(frame_limit) {
        OutQueue q;

        outq_init(&q, 0, 2, 1000);
        ASSERT_OK(outq_push(&q, "a", 1));
        ASSERT_OK(outq_push(&q, "b", 1));
        ASSERT_ERROR(outq_push(&q, "c", 1), -ENOBUFS);
        ASSERT_UEQ(q.n, 2);
        outq_pop(&q);
        ASSERT_OK(outq_push(&q, "c", 1)); /* room again */
        ASSERT_MEMEQ(outq_peek(&q)->buf, "b", 1);
        outq_clear(&q);
        ASSERT_UEQ(q.n, 0);
        ASSERT_NULL(outq_peek(&q));
}

TEST(byte_limit) {
        OutQueue q;
        char big[600] = {};

        outq_init(&q, 8, 100, 1000);
        ASSERT_OK(outq_push(&q, big, 600));
        ASSERT_ERROR(outq_push(&q, big, 401), -ENOBUFS);
        ASSERT_UEQ(q.bytes, 600);
        ASSERT_OK(outq_push(&q, big, 400)); /* exactly at the limit */
        ASSERT_ERROR(outq_push(&q, "x", 1), -ENOBUFS);
        ASSERT_ERROR(outq_push(&q, big, SIZE_MAX), -ENOBUFS); /* no overflow */
        outq_clear(&q);
}
