/* openssl-util.c: turning OpenSSL's error queue into one message. */
#include "openssl-util.h"

#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

char *openssl_error_string(char *buf, size_t size) {
        unsigned long e;
        size_t used = 0;

        if (size == 0)
                return buf;
        buf[0] = '\0';
        while ((e = ERR_get_error()) != 0) {
                char one[256];

                ERR_error_string_n(e, one, sizeof one);
                if (used < size)
                        used += (size_t) snprintf(buf + used, size - used, "%s%s", used ? "; " : "", one);
        }
        if (!buf[0])
                snprintf(buf, size, "unknown OpenSSL error");
        return buf;
}
