/* test-encode.c: RFC 4648 test vectors, URL alphabet, strict rejection of malformed input. */
#include "encode.h"
#include "random.h"
#include "test.h"

static const struct {
        const char *plain, *b64;
} rfc4648[] = {
        { "", "" },         { "f", "Zg==" },        { "fo", "Zm8=" },         { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

TEST(base64_rfc4648_vectors) {
        for (size_t i = 0; i < ELEMENTSOF(rfc4648); i++) {
                _cleanup_free_ char *enc = NULL;
                _cleanup_free_ void *dec = NULL;
                size_t n;

                ASSERT_OK(encode_base64(rfc4648[i].plain, strlen(rfc4648[i].plain), false, &enc));
                ASSERT_STREQ(enc, rfc4648[i].b64);
                ASSERT_OK(decode_base64(enc, strlen(enc), false, &dec, &n));
                ASSERT_UEQ(n, strlen(rfc4648[i].plain));
                ASSERT_MEMEQ(dec, rfc4648[i].plain, n);
        }
}

TEST(base64_url_alphabet) {
        const uint8_t data[] = { 0xfb, 0xff, 0xbf };
        _cleanup_free_ char *std = NULL, *url = NULL;
        _cleanup_free_ void *dec = NULL, *dec2 = NULL;
        size_t n;

        ASSERT_OK(encode_base64(data, 3, false, &std));
        ASSERT_STREQ(std, "+/+/");
        ASSERT_OK(encode_base64(data, 3, true, &url));
        ASSERT_STREQ(url, "-_-_");
        ASSERT_OK(decode_base64("Zm8", 3, true, &dec, &n)); /* padding optional in URL form */
        ASSERT_UEQ(n, 2);
        ASSERT_MEMEQ(dec, "fo", 2);
        ASSERT_OK(decode_base64("Zm8=", 4, true, &dec2, &n));
        ASSERT_UEQ(n, 2);
}

TEST(base64_rejects_malformed) {
        static const char *const bad[] = {
                "Zg=",   /* bad padding length */
                "Zg",    /* standard form needs padding */
                "Z===",  /* too much padding */
                "Zm9v\n", "Zm 9v", "Zm9*", "Zh==", /* non-zero trailing bits */
                "Zm8-",  /* URL character in standard form */
                "=Zm9",
        };
        void *dec = (void *) 1;
        size_t n = 99;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (decode_base64(bad[i], strlen(bad[i]), false, &dec, &n) != -EINVAL) {
                        test_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
                        return;
                }
        ASSERT_ERROR(decode_base64("Zm8+", 4, true, &dec, &n), -EINVAL); /* std char in URL form */
        ASSERT_ERROR(decode_base64("Z", 1, true, &dec, &n), -EINVAL);
        ASSERT_TRUE(dec == (void *) 1); /* never written on failure */
        ASSERT_UEQ(n, 99);
}

TEST(hex_roundtrip_and_rejects) {
        const uint8_t data[] = { 0x00, 0x01, 0xab, 0xff };
        _cleanup_free_ char *hex = NULL;
        _cleanup_free_ void *dec = NULL, *dec2 = NULL;
        void *bad;
        size_t n;

        ASSERT_OK(encode_hex(data, 4, &hex));
        ASSERT_STREQ(hex, "0001abff");
        ASSERT_OK(decode_hex("0001ABff", 8, &dec, &n));
        ASSERT_UEQ(n, 4);
        ASSERT_MEMEQ(dec, data, 4);
        ASSERT_OK(decode_hex("", 0, &dec2, &n));
        ASSERT_UEQ(n, 0);
        ASSERT_ERROR(decode_hex("abc", 3, &bad, &n), -EINVAL);
        ASSERT_ERROR(decode_hex("zz", 2, &bad, &n), -EINVAL);
        ASSERT_ERROR(decode_hex("0x", 2, &bad, &n), -EINVAL);
}

TEST(random_roundtrips) {
        for (int len = 0; len < 64; len++) {
                uint8_t data[64];
                _cleanup_free_ char *b64 = NULL, *url = NULL;
                _cleanup_free_ void *d1 = NULL, *d2 = NULL;
                size_t n1, n2;

                ASSERT_OK(random_bytes(data, (size_t) len));
                ASSERT_OK(encode_base64(data, (size_t) len, false, &b64));
                ASSERT_OK(encode_base64(data, (size_t) len, true, &url));
                ASSERT_OK(decode_base64(b64, strlen(b64), false, &d1, &n1));
                ASSERT_OK(decode_base64(url, strlen(url), true, &d2, &n2));
                ASSERT_UEQ(n1, (size_t) len);
                ASSERT_UEQ(n2, (size_t) len);
                ASSERT_MEMEQ(d1, data, (size_t) len);
                ASSERT_MEMEQ(d2, data, (size_t) len);
        }
}
