/* checksum.h: the check-digit algorithms the detectors use. Inputs are ASCII digit (or, for IBAN,
 * digit and upper-case letter) strings without separators. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* GB 11643-1999: 17 digits then a check character 0-9 or X (x accepted). */
bool checksum_gb11643(const char *id18);
/* Luhn (ISO/IEC 7812-1) over n digits. */
bool checksum_luhn(const char *digits, size_t n);
/* ISO 13616 / ISO 7064 mod 97-10 over an IBAN of n characters ([A-Z0-9], country code first). */
bool checksum_iban(const char *iban, size_t n);
