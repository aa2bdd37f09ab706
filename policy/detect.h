/* detect.h: the built-in detectors. One pass over normalised text (normalize.h) finds the
 * entities below; checksums (GB 11643, Luhn, ISO 7064 mod 97-10) and format rules keep look-alikes
 * (order numbers, timestamps, UUIDs, hashes) out. Pure functions, no allocation, no I/O. */
#pragma once

#include <stddef.h>

typedef enum DetectType {
        DETECT_CN_RESIDENT_ID,      /* "cn_resident_id": 18 characters, GB 11643-1999 check character */
        DETECT_CN_MOBILE,           /* "cn_mobile": 1[3-9]x xxxx xxxx, optional +86 / 0086 */
        DETECT_BANK_CARD,           /* "bank_card": 13-19 digits passing Luhn, a length of the issuer prefix */
        DETECT_EMAIL,               /* "email" */
        DETECT_IBAN,                /* "iban": country length + mod 97 */
        DETECT_US_SSN,              /* "us_ssn": AAA-GG-SSSS with the SSA's validity rules */
        DETECT_PEM_PRIVATE_KEY,     /* "pem_private_key": -----BEGIN ... PRIVATE KEY----- */
        DETECT_CLOUD_ACCESS_KEY,    /* "cloud_access_key": AWS AKIA/ASIA, Aliyun LTAI, Tencent AKID */
        DETECT_JWT,                 /* "jwt": header.payload.signature, header is JSON with "alg" */
        DETECT_PASSWORD_ASSIGNMENT, /* "password_assignment": password=..., 密码：..., scheme://u:PASS@, -pPASS ...
                                     * (the value only; not placeholders or code) */
        _DETECT_TYPE_MAX,
} DetectType;

typedef struct DetectHit {
        DetectType type;
        size_t start, end; /* byte offsets [start, end) in the text scanned */
} DetectHit;

/* Called for each hit, in order of start; a negative return stops the scan and is returned. */
typedef int (*detect_cb_t)(const DetectHit *hit, void *userdata);

/* Scans text[0..len) (normalised; need not be NUL-terminated). 0, or the callback's negative value. */
int detect_scan(const char *text, size_t len, detect_cb_t cb, void *userdata);

/* "cn_resident_id", ...; NULL for a value out of range. */
const char *detect_type_name(DetectType t);
/* The type named name, or -EINVAL. */
int detect_type_from_name(const char *name);
