/* checksum.c: see checksum.h. */
#include <stdint.h>

#include "checksum.h"

bool checksum_gb11643(const char *id18) {
        static const uint8_t weights[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
        static const char check[] = "10X98765432";
        unsigned sum = 0;
        char last;

        for (size_t i = 0; i < 17; i++) {
                if (id18[i] < '0' || id18[i] > '9')
                        return false;
                sum += (unsigned) (id18[i] - '0') * weights[i];
        }
        last = id18[17] == 'x' ? 'X' : id18[17];
        return last == check[sum % 11];
}

bool checksum_luhn(const char *digits, size_t n) {
        unsigned sum = 0;

        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned d;

                if (digits[n - 1 - i] < '0' || digits[n - 1 - i] > '9')
                        return false;
                d = (unsigned) (digits[n - 1 - i] - '0');
                if (i % 2 == 1) {
                        d *= 2;
                        if (d > 9)
                                d -= 9;
                }
                sum += d;
        }
        return sum % 10 == 0;
}

/* The value of one IBAN character (0-9, A=10 .. Z=35), or -1. */
static int iban_char_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'A' && c <= 'Z')
                return c - 'A' + 10;
        return -1;
}

static unsigned iban_mod97_step(unsigned rem, int v) {
        return v >= 10 ? (rem * 100 + (unsigned) v) % 97 : (rem * 10 + (unsigned) v) % 97;
}

bool checksum_iban(const char *iban, size_t n) {
        unsigned rem = 0;

        if (n < 5 || iban_char_value(iban[0]) < 10 || iban_char_value(iban[1]) < 10 ||
            iban_char_value(iban[2]) < 0 || iban_char_value(iban[2]) > 9 || iban_char_value(iban[3]) < 0 ||
            iban_char_value(iban[3]) > 9)
                return false;
        /* the country code and check digits move to the end */
        for (size_t i = 0; i < n; i++) {
                int v = iban_char_value(iban[(i + 4) % n]);

                if (v < 0)
                        return false;
                rem = iban_mod97_step(rem, v);
        }
        return rem == 1;
}
