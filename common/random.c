/* random.c: secure random bytes from getrandom(2), the source OpenSSL's own RAND seeds from. */
#include "random.h"

#include <errno.h>
#include <sys/random.h>

int random_bytes(void *buf, size_t n) {
        unsigned char *p = buf;

        while (n > 0) {
                ssize_t k = getrandom(p, n, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

int random_uniform(uint64_t bound, uint64_t *ret) {
        uint64_t v, limit;
        int r;

        if (bound == 0)
                return -EINVAL;
        /* reject the top partial range so every residue is equally likely */
        limit = UINT64_MAX - UINT64_MAX % bound;
        do {
                r = random_bytes(&v, sizeof v);
                if (r < 0)
                        return r;
        } while (v >= limit);
        *ret = v % bound;
        return 0;
}
