/* detect.c: see detect.h. One left-to-right pass: a 256-entry table marks the bytes a detector
 * is dispatched on (digits, '@', '-', 'A', 'L', 'J' of "eyJ", 'p'/'P', 'f'/'F' of IDENTIFIED, and
 * the last bytes of 密 and 口), chosen to be rare in prose; every other byte is skipped four at a
 * time. An IBAN is tried at its first digit (after the country code); a password in URL userinfo
 * (scheme://user:PASS@host) at the '@' that ends it. A hit moves the scan past its end, so hits
 * come out ordered and never overlap. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "checksum.h"
#include "detect.h"
#include "macro.h"

enum {
        B_DIGIT = 1 << 0, /* digit runs: resident id, mobile, bank card, SSN, IBAN */
        B_AT = 1 << 1,    /* e-mail */
        B_DASH = 1 << 2,  /* PEM; -u/--user/-p command-line flags */
        B_CLOUD = 1 << 3, /* AKIA ASIA AKID LTAI */
        B_JWT = 1 << 4,   /* the J of eyJ */
        B_PW = 1 << 5,    /* password keywords */
        B_PW_ZH = 1 << 6, /* 86 of 密 (E5 AF 86), A3 of 口 (E5 8F A3) */
        B_SQL = 1 << 7,   /* the F of IDENTIFIED (BY) */
};

static const uint8_t byte_class[256] = {
        ['0' ... '9'] = B_DIGIT,
        ['@'] = B_AT,
        ['-'] = B_DASH,
        ['A'] = B_CLOUD,
        ['L'] = B_CLOUD,
        ['J'] = B_JWT,
        ['P'] = B_PW,
        ['p'] = B_PW,
        ['F'] = B_SQL,
        ['f'] = B_SQL,
        [0x86] = B_PW_ZH,
        [0xA3] = B_PW_ZH,
};

enum {
        W_WORD = 1 << 0,   /* [A-Za-z0-9_]: a token goes on */
        W_LOCAL = 1 << 1,  /* e-mail local part [A-Za-z0-9._%+-] */
        W_DOMAIN = 1 << 2, /* e-mail domain label [A-Za-z0-9-] */
        W_B64URL = 1 << 3, /* [A-Za-z0-9_-] */
        W_IBAN = 1 << 4,   /* [A-Z0-9] */
};

static const uint8_t word_class[256] = {
        ['0' ... '9'] = W_WORD | W_LOCAL | W_DOMAIN | W_B64URL | W_IBAN,
        ['A' ... 'Z'] = W_WORD | W_LOCAL | W_DOMAIN | W_B64URL | W_IBAN,
        ['a' ... 'z'] = W_WORD | W_LOCAL | W_DOMAIN | W_B64URL,
        ['_'] = W_WORD | W_LOCAL | W_B64URL,
        ['-'] = W_LOCAL | W_DOMAIN | W_B64URL,
        ['.'] = W_LOCAL,
        ['%'] = W_LOCAL,
        ['+'] = W_LOCAL,
};

static const char *const type_names[_DETECT_TYPE_MAX] = {
        [DETECT_CN_RESIDENT_ID] = "cn_resident_id",
        [DETECT_CN_MOBILE] = "cn_mobile",
        [DETECT_BANK_CARD] = "bank_card",
        [DETECT_EMAIL] = "email",
        [DETECT_IBAN] = "iban",
        [DETECT_US_SSN] = "us_ssn",
        [DETECT_PEM_PRIVATE_KEY] = "pem_private_key",
        [DETECT_CLOUD_ACCESS_KEY] = "cloud_access_key",
        [DETECT_JWT] = "jwt",
        [DETECT_PASSWORD_ASSIGNMENT] = "password_assignment",
};

const char *detect_type_name(DetectType t) {
        return (unsigned) t < _DETECT_TYPE_MAX ? type_names[t] : NULL;
}

int detect_type_from_name(const char *name) {
        int i = name ? string_table_lookup(type_names, _DETECT_TYPE_MAX, name) : -1;

        return i >= 0 ? i : -EINVAL;
}

typedef struct Scanner {
        const uint8_t *s;
        size_t len;
        size_t floor; /* end of the last hit: a new hit may not start before it */
} Scanner;

static bool is_class(const Scanner *sc, size_t i, uint8_t cls) {
        return i < sc->len && (word_class[sc->s[i]] & cls);
}

/* Does a token start at i (the byte before, if any, does not continue one of class cls)? */
static bool starts_token(const Scanner *sc, size_t i, uint8_t cls) {
        return i == 0 || !(word_class[sc->s[i - 1]] & cls);
}

static bool has_prefix(const Scanner *sc, size_t i, const char *p, size_t n) {
        return sc->len - i >= n && memcmp(sc->s + i, p, n) == 0;
}

static bool has_prefix_ci(const Scanner *sc, size_t i, const char *p, size_t n) {
        return sc->len - i >= n && strncasecmp((const char *) sc->s + i, p, n) == 0;
}

static bool set_hit(DetectHit *h, DetectType type, size_t start, size_t end) {
        *h = (DetectHit) { .type = type, .start = start, .end = end };
        return true;
}

/* ---- digit runs: digits with single ' ', '-' or '.' between them ---- */

#define RUN_DIGITS_MAX 20 /* more than any entity has (0086 + 11, 19-digit cards) */
#define RUN_GROUPS_MAX 6

typedef struct DigitRun {
        char d[RUN_DIGITS_MAX + 1];
        size_t n;                        /* digits in the run (d holds the first RUN_DIGITS_MAX) */
        size_t start, end;               /* [start, end): first digit to past the last one */
        size_t n_groups;
        size_t group[RUN_GROUPS_MAX + 1]; /* digits per group */
        char sep[RUN_GROUPS_MAX + 1];    /* sep[g]: the separator before group g (g >= 1) */
} DigitRun;

static bool is_digit(uint8_t c) {
        return c >= '0' && c <= '9';
}

static void digit_run_parse(const Scanner *sc, size_t i, DigitRun *run) {
        const uint8_t *s = sc->s;

        /* not zeroed whole: only what is read is set */
        run->n = 0;
        run->start = i;
        run->n_groups = 1;
        run->group[0] = 0;
        for (;;) {
                if (run->n < RUN_DIGITS_MAX)
                        run->d[run->n] = (char) s[i];
                run->n++;
                if (run->n_groups <= RUN_GROUPS_MAX)
                        run->group[run->n_groups - 1]++;
                i++;
                if (i < sc->len && is_digit(s[i]))
                        continue;
                if (i + 1 < sc->len && (s[i] == ' ' || s[i] == '-' || s[i] == '.') && is_digit(s[i + 1])) {
                        if (run->n_groups < RUN_GROUPS_MAX) {
                                run->sep[run->n_groups] = (char) s[i];
                                run->group[run->n_groups] = 0;
                        }
                        run->n_groups++;
                        i++;
                        continue;
                }
                break;
        }
        run->end = i;
        run->d[MIN(run->n, (size_t) RUN_DIGITS_MAX)] = 0;
}

/* Groups from `from` on use one separator, and every group but the last has two digits or more
 * (so "1 2 3 4 ..." is not one number). */
static bool digit_run_tidy(const DigitRun *run, size_t from) {
        if (run->n_groups > RUN_GROUPS_MAX)
                return false;
        for (size_t g = from; g + 1 < run->n_groups; g++)
                if (run->group[g] < 2)
                        return false;
        for (size_t g = from + 2; g < run->n_groups; g++)
                if (run->sep[g] != run->sep[from + 1])
                        return false;
        return true;
}

static bool valid_birth_date(const char *d) {
        unsigned y = (unsigned) ((d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0'));
        unsigned m = (unsigned) ((d[4] - '0') * 10 + (d[5] - '0'));
        unsigned day = (unsigned) ((d[6] - '0') * 10 + (d[7] - '0'));

        return y >= 1900 && y <= 2099 && m >= 1 && m <= 12 && day >= 1 && day <= 31;
}

/* 17 digits (+ the check character at d[17]): area code, birth date, GB 11643 check. */
static bool resident_id_valid(const char *d) {
        return d[0] >= '1' && d[0] <= '8' && valid_birth_date(d + 6) && checksum_gb11643(d);
}

/* Mainland mobile numbers: 1[3-9] and nine more digits. Deliberately every 13-19 segment, not only
 * those allocated today (13x 145-149 15x 16[2567] 17x 18x 19x): new segments open every few years,
 * and a missed number spills to public while an extra match only keeps a prompt private. */
static bool mobile_valid(const char *d) {
        return d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

static bool ssn_valid(const DigitRun *run) {
        const char *d = run->d;

        if (run->n != 9 || run->n_groups != 3 || run->group[0] != 3 || run->group[1] != 2 || run->sep[1] != run->sep[2])
                return false;
        if (memcmp(d, "000", 3) == 0 || memcmp(d, "666", 3) == 0 || d[0] == '9')
                return false;
        return memcmp(d + 3, "00", 2) != 0 && memcmp(d + 5, "0000", 4) != 0;
}

static unsigned digits_value(const char *d, size_t n) {
        unsigned v = 0;

        for (size_t k = 0; k < n; k++)
                v = v * 10 + (unsigned) (d[k] - '0');
        return v;
}

/* Is n (13-19) a length the issuer of the card number d issues? Visa 4: 13, 16, 19; Mastercard
 * 51-55 and 2221-2720: 16; Mir 2200-2204: 16-19; Amex 34, 37: 15; JCB 3528-3589: 16-19; Diners
 * 300-305, 36, 38, 39: 14-19; UnionPay 62, Discover 6011, 644-649, 65: 16-19. Tying the length to
 * the prefix keeps Luhn-valid look-alikes out: IMEIs (15 digits, 35...) and EAN-13 barcodes. */
static bool card_length_ok(const char *d, size_t n) {
        unsigned p2, p3, p4;

        if (n < 13 || n > 19)
                return false;
        p2 = digits_value(d, 2), p3 = digits_value(d, 3), p4 = digits_value(d, 4);
        switch (d[0]) {
        case '2':
                if (p4 >= 2221 && p4 <= 2720)
                        return n == 16;
                return p4 >= 2200 && p4 <= 2204 && n >= 16;
        case '3':
                if (p2 == 34 || p2 == 37)
                        return n == 15;
                if (p4 >= 3528 && p4 <= 3589)
                        return n >= 16;
                return ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) && n >= 14;
        case '4':
                return n == 13 || n == 16 || n == 19;
        case '5':
                return p2 >= 51 && p2 <= 55 && n == 16;
        case '6':
                return (p2 == 62 || p2 == 65 || p4 == 6011 || (p3 >= 644 && p3 <= 649)) && n >= 16;
        default:
                return false;
        }
}

/* A mobile number, plain or behind 86 / 0086 (a separator may follow the prefix); the span
 * takes a '+' before 86. */
static bool match_mobile(const Scanner *sc, const DigitRun *run, DetectHit *h) {
        size_t skip = run->n == 13 && memcmp(run->d, "86", 2) == 0   ? 2
                      : run->n == 15 && memcmp(run->d, "0086", 4) == 0 ? 4
                                                                         : 0;
        size_t start = run->start;

        if (run->n != 11 + skip || !mobile_valid(run->d + skip))
                return false;
        if (!digit_run_tidy(run, skip > 0 && run->group[0] == skip ? 1 : 0))
                return false;
        if (skip == 2 && start > sc->floor && sc->s[start - 1] == '+')
                start--;
        return set_hit(h, DETECT_CN_MOBILE, start, run->end);
}

static bool match_digits(const Scanner *sc, size_t i, DetectHit *h, size_t *next) {
        DigitRun run;
        bool x;

        if (!starts_token(sc, i, W_WORD)) {
                /* the digits of a token like SF1234567890123: skip all of it */
                while (is_class(sc, i, W_WORD))
                        i++;
                *next = i;
                return false;
        }
        digit_run_parse(sc, i, &run);
        *next = run.end;
        x = run.end < sc->len && (sc->s[run.end] == 'X' || sc->s[run.end] == 'x');
        if (run.n == 17 && x && !is_class(sc, run.end + 1, W_WORD) && digit_run_tidy(&run, 0)) {
                run.d[17] = 'X';
                if (resident_id_valid(run.d)) {
                        *next = run.end + 1;
                        return set_hit(h, DETECT_CN_RESIDENT_ID, run.start, run.end + 1);
                }
        }
        /* the number must end there: not glued to a word or to an e-mail's '@' */
        if (run.n > 19 || is_class(sc, run.end, W_WORD) || (run.end < sc->len && sc->s[run.end] == '@'))
                return false;
        if (run.n == 18 && digit_run_tidy(&run, 0) && resident_id_valid(run.d))
                return set_hit(h, DETECT_CN_RESIDENT_ID, run.start, run.end);
        if (match_mobile(sc, &run, h))
                return true;
        if (ssn_valid(&run))
                return set_hit(h, DETECT_US_SSN, run.start, run.end);
        if (card_length_ok(run.d, run.n) && digit_run_tidy(&run, 0) && checksum_luhn(run.d, run.n))
                return set_hit(h, DETECT_BANK_CARD, run.start, run.end);
        return false;
}

/* ---- e-mail, found at its '@' ---- */

/* Is the "domain" [d, end) with last label [tld, end) a file name: a density suffix (logo@2x.png)
 * or an extension of a web asset or a document (icon@large.svg)? (mp4 and the like already fail
 * the alphabetic TLD rule.) */
static bool asset_name(const Scanner *sc, size_t d, size_t tld, size_t end) {
        static const char *const ext[] = { "png", "jpg", "jpeg", "gif", "webp", "svg", "ico", "bmp", "tiff",
                                           "css", "js", "json", "map", "mov", "pdf", "zip", "gz",
                                           "txt", "md" };
        size_t k = d;

        while (k < end && is_digit(sc->s[k]))
                k++;
        if (k > d && k + 1 < end && (sc->s[k] | 0x20) == 'x' && sc->s[k + 1] == '.')
                return true;
        for (size_t j = 0; j < ELEMENTSOF(ext); j++)
                if (strlen(ext[j]) == end - tld && strncasecmp((const char *) sc->s + tld, ext[j], end - tld) == 0)
                        return true;
        return false;
}

static bool match_email(const Scanner *sc, size_t at, DetectHit *h) {
        size_t a = at, k = at + 1, label = 0, dots = 0;

        while (a > sc->floor && (word_class[sc->s[a - 1]] & W_LOCAL) && at - a < 64)
                a--;
        while (a < at && (sc->s[a] == '.' || sc->s[a] == '-' || sc->s[a] == '+'))
                a++;
        if (a == at)
                return false;
        for (;;) {
                label = k;
                while (is_class(sc, k, W_DOMAIN))
                        k++;
                if (k == label)
                        return false;
                if (k + 1 < sc->len && sc->s[k] == '.' && is_class(sc, k + 1, W_DOMAIN)) {
                        k++, dots++;
                        continue;
                }
                break;
        }
        if (dots == 0 || k - label < 2)
                return false;
        for (size_t j = label; j < k; j++)
                if (!((sc->s[j] | 0x20) >= 'a' && (sc->s[j] | 0x20) <= 'z'))
                        return false;
        if (asset_name(sc, at + 1, label, k))
                return false;
        return set_hit(h, DETECT_EMAIL, a, k);
}

/* ---- PEM private key block ---- */

#define PEM_LABEL_MAX 64
#define PEM_BODY_MAX (64 * 1024) /* how far the END line is looked for */

/* At i: "LABEL-----" where LABEL ends in "PRIVATE KEY" (or "PRIVATE KEY BLOCK"); the offset
 * past the dashes, or 0. */
static size_t pem_label_end(const Scanner *sc, size_t i) {
        size_t k = i;

        while (k < sc->len && k - i <= PEM_LABEL_MAX &&
               ((sc->s[k] >= 'A' && sc->s[k] <= 'Z') || (sc->s[k] >= '0' && sc->s[k] <= '9') || sc->s[k] == ' '))
                k++;
        if (!has_prefix(sc, k, "-----", 5))
                return 0;
        if ((k - i >= 11 && memcmp(sc->s + k - 11, "PRIVATE KEY", 11) == 0) ||
            (k - i >= 17 && memcmp(sc->s + k - 17, "PRIVATE KEY BLOCK", 17) == 0))
                return k + 5;
        return 0;
}

#define PEM_BASE64_RUN_MIN 16

/* Does s[from..to) hold a run of PEM_BASE64_RUN_MIN base64 characters? A frame around
 * "<your private key here>" or "..." holds no key. */
static bool pem_has_body(const Scanner *sc, size_t from, size_t to) {
        size_t run = 0;

        for (size_t k = from; k < to; k++) {
                uint8_t c = sc->s[k];

                if ((word_class[c] & W_IBAN) || (c >= 'a' && c <= 'z') || c == '+' || c == '/' || c == '=') {
                        if (++run >= PEM_BASE64_RUN_MIN)
                                return true;
                } else
                        run = 0;
        }
        return false;
}

static bool match_pem(const Scanner *sc, size_t i, DetectHit *h) {
        size_t head, window;
        const uint8_t *end;

        if (!has_prefix(sc, i, "-----BEGIN ", 11))
                return false;
        head = pem_label_end(sc, i + 11);
        if (head == 0)
                return false;
        window = MIN(sc->len - head, (size_t) PEM_BODY_MAX);
        end = memmem(sc->s + head, window, "-----END ", 9);
        if (end) {
                size_t tail = pem_label_end(sc, (size_t) (end - sc->s) + 9);

                if (tail > 0) {
                        if (!pem_has_body(sc, head, (size_t) (end - sc->s)))
                                return false;
                        return set_hit(h, DETECT_PEM_PRIVATE_KEY, i, tail);
                }
        }
        /* no END line (a truncated paste): the header alone still says a private key is here */
        return set_hit(h, DETECT_PEM_PRIVATE_KEY, i, head);
}

/* ---- cloud access key ids ---- */

static size_t count_class(const Scanner *sc, size_t i, uint8_t cls) {
        size_t k = i;

        while (is_class(sc, k, cls))
                k++;
        return k - i;
}

#define PLACEHOLDER_RUN 8

/* A documentation key id: AWS's ...EXAMPLE ids, or a run of PLACEHOLDER_RUN identical characters
 * (AKIAXXXXXXXXXXXXXXXX). */
static bool cloud_placeholder(const Scanner *sc, size_t i, size_t end) {
        size_t run = 1;

        if (end - i >= 7 && memcmp(sc->s + end - 7, "EXAMPLE", 7) == 0)
                return true;
        for (size_t k = i + 1; k < end; k++) {
                run = sc->s[k] == sc->s[k - 1] ? run + 1 : 1;
                if (run >= PLACEHOLDER_RUN)
                        return true;
        }
        return false;
}

static bool set_cloud_hit(const Scanner *sc, DetectHit *h, size_t i, size_t end) {
        return !cloud_placeholder(sc, i, end) && set_hit(h, DETECT_CLOUD_ACCESS_KEY, i, end);
}

static bool match_cloud(const Scanner *sc, size_t i, DetectHit *h) {
        size_t n;

        if (!starts_token(sc, i, W_IBAN | W_WORD))
                return false;
        if (has_prefix(sc, i, "AKIA", 4) || has_prefix(sc, i, "ASIA", 4)) {
                /* 16 characters of the base32 alphabet [A-Z2-7] */
                n = count_class(sc, i + 4, W_WORD);
                if (n != 16)
                        return false;
                for (size_t k = i + 4; k < i + 20; k++)
                        if (!((sc->s[k] >= 'A' && sc->s[k] <= 'Z') || (sc->s[k] >= '2' && sc->s[k] <= '7')))
                                return false;
                return set_cloud_hit(sc, h, i, i + 20);
        }
        if (has_prefix(sc, i, "LTAI", 4)) {
                n = count_class(sc, i + 4, W_WORD);
                if (n < 12 || n > 20 || count_class(sc, i + 4, W_DOMAIN) != n) /* no '_' */
                        return false;
                return set_cloud_hit(sc, h, i, i + 4 + n);
        }
        if (has_prefix(sc, i, "AKID", 4)) {
                n = count_class(sc, i + 4, W_WORD);
                if (n != 32 || count_class(sc, i + 4, W_DOMAIN) != n)
                        return false;
                return set_cloud_hit(sc, h, i, i + 36);
        }
        return false;
}

/* ---- IBAN ---- */

#define CC(a, b) (((a) - 'A') * 26 + ((b) - 'A'))

/* ISO 13616 lengths per country (the SWIFT IBAN registry). */
static const uint8_t iban_length[26 * 26] = {
        [CC('A', 'D')] = 24, [CC('A', 'E')] = 23, [CC('A', 'L')] = 28, [CC('A', 'T')] = 20, [CC('A', 'Z')] = 28,
        [CC('B', 'A')] = 20, [CC('B', 'E')] = 16, [CC('B', 'G')] = 22, [CC('B', 'H')] = 22, [CC('B', 'R')] = 29,
        [CC('B', 'Y')] = 28, [CC('C', 'H')] = 21, [CC('C', 'R')] = 22, [CC('C', 'Y')] = 28, [CC('C', 'Z')] = 24,
        [CC('D', 'E')] = 22, [CC('D', 'K')] = 18, [CC('D', 'O')] = 28, [CC('E', 'E')] = 20, [CC('E', 'G')] = 29,
        [CC('E', 'S')] = 24, [CC('F', 'I')] = 18, [CC('F', 'O')] = 18, [CC('F', 'R')] = 27, [CC('G', 'B')] = 22,
        [CC('G', 'E')] = 22, [CC('G', 'I')] = 23, [CC('G', 'L')] = 18, [CC('G', 'R')] = 27, [CC('G', 'T')] = 28,
        [CC('H', 'R')] = 21, [CC('H', 'U')] = 28, [CC('I', 'E')] = 22, [CC('I', 'L')] = 23, [CC('I', 'Q')] = 23,
        [CC('I', 'S')] = 26, [CC('I', 'T')] = 27, [CC('J', 'O')] = 30, [CC('K', 'W')] = 30, [CC('K', 'Z')] = 20,
        [CC('L', 'B')] = 28, [CC('L', 'C')] = 32, [CC('L', 'I')] = 21, [CC('L', 'T')] = 20, [CC('L', 'U')] = 20,
        [CC('L', 'V')] = 21, [CC('M', 'C')] = 27, [CC('M', 'D')] = 24, [CC('M', 'E')] = 22, [CC('M', 'K')] = 19,
        [CC('M', 'R')] = 27, [CC('M', 'T')] = 31, [CC('M', 'U')] = 30, [CC('N', 'L')] = 18, [CC('N', 'O')] = 15,
        [CC('P', 'K')] = 24, [CC('P', 'L')] = 28, [CC('P', 'S')] = 29, [CC('P', 'T')] = 25, [CC('Q', 'A')] = 29,
        [CC('R', 'O')] = 24, [CC('R', 'S')] = 22, [CC('S', 'A')] = 24, [CC('S', 'C')] = 31, [CC('S', 'E')] = 24,
        [CC('S', 'I')] = 19, [CC('S', 'K')] = 24, [CC('S', 'M')] = 27, [CC('S', 'T')] = 25, [CC('S', 'V')] = 28,
        [CC('T', 'L')] = 23, [CC('T', 'N')] = 24, [CC('T', 'R')] = 26, [CC('U', 'A')] = 29, [CC('V', 'A')] = 22,
        [CC('V', 'G')] = 24, [CC('X', 'K')] = 20,
};

#define IBAN_MAX 34

/* Electronic form, or the print form: groups of four separated by one ' ' or '-'. */
static bool match_iban(const Scanner *sc, size_t i, DetectHit *h) {
        char buf[IBAN_MAX];
        size_t want, got = 0, group = 0, k = i;

        if (sc->len - i < 4 || !(sc->s[i + 1] >= 'A' && sc->s[i + 1] <= 'Z') || !is_digit(sc->s[i + 2]) ||
            !is_digit(sc->s[i + 3]) || !starts_token(sc, i, W_WORD))
                return false;
        want = iban_length[CC(sc->s[i], sc->s[i + 1])];
        if (want == 0)
                return false;
        while (k < sc->len && got < want) {
                uint8_t c = sc->s[k];

                if (word_class[c] & W_IBAN) {
                        buf[got++] = (char) c;
                        group++;
                        k++;
                } else if ((c == ' ' || c == '-') && group == 4 && is_class(sc, k + 1, W_IBAN)) {
                        group = 0;
                        k++;
                } else
                        break;
        }
        if (got != want || is_class(sc, k, W_WORD) || !checksum_iban(buf, got))
                return false;
        return set_hit(h, DETECT_IBAN, i, k);
}

/* ---- JWT ---- */

#define JWT_HEADER_MAX 512 /* base64url characters of the header that are decoded */

static int b64url_value(uint8_t c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* Does the base64url text s[0..n) decode to a JSON object with an "alg" member? */
static bool jwt_header_ok(const uint8_t *s, size_t n) {
        char out[JWT_HEADER_MAX * 3 / 4 + 4];
        size_t o = 0;
        uint32_t acc = 0;
        int bits = 0;

        if (n > JWT_HEADER_MAX)
                return false;
        for (size_t k = 0; k < n; k++) {
                acc = (acc << 6) | (uint32_t) b64url_value(s[k]);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[o++] = (char) (acc >> bits & 0xFF);
                }
        }
        out[o] = 0;
        return out[0] == '{' && memmem(out, o, "\"alg\"", 5) != NULL;
}

static bool match_jwt(const Scanner *sc, size_t i, DetectHit *h) {
        size_t seg[3], k = i;

        if (!has_prefix(sc, i, "eyJ", 3) || !starts_token(sc, i, W_B64URL) || (i > 0 && sc->s[i - 1] == '.'))
                return false;
        for (size_t p = 0; p < 3; p++) {
                seg[p] = count_class(sc, k, W_B64URL);
                k += seg[p];
                if (p < 2) {
                        if (seg[p] == 0 || k >= sc->len || sc->s[k] != '.')
                                return false;
                        k++;
                }
        }
        if (seg[0] < 10 || !jwt_header_ok(sc->s + i, seg[0]))
                return false;
        return set_hit(h, DETECT_JWT, i, k);
}

/* ---- password assignments ---- */

/* Does the text before i (not before the last hit) hold p? */
static bool has_before(const Scanner *sc, size_t i, const char *p, size_t n) {
        return i >= sc->floor + n && memcmp(sc->s + i - n, p, n) == 0;
}

#define PASSWORD_VALUE_MIN 4
#define PASSWORD_VALUE_MAX 256
#define USERINFO_MAX (2 * PASSWORD_VALUE_MAX) /* how far back from '@' a URL's "://" is looked for */
#define COMMAND_LOOKBACK_MAX 512              /* how far back from a flag its command is looked for */

static bool is_alpha(uint8_t c) {
        return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static bool is_blank(uint8_t c) {
        return c == ' ' || c == '\t';
}

static bool is_quote(uint8_t c) {
        return c == '"' || c == '\'' || c == '`';
}

static size_t skip_blanks(const Scanner *sc, size_t k) {
        while (k < sc->len && is_blank(sc->s[k]))
                k++;
        return k;
}

/* Does the text before i (not before the last hit) hold p, in any case? */
static bool has_before_ci(const Scanner *sc, size_t i, const char *p, size_t n) {
        return i >= sc->floor + n && strncasecmp((const char *) sc->s + i - n, p, n) == 0;
}

static bool password_placeholder(const uint8_t *v, size_t n) {
        static const char *const words[] = {
                "changeme", "change_me", "change-me", "password", "passwd", "pass", "secret", "example", "none",
                "null", "nil", "empty", "redacted", "hidden", "placeholder", "yourpassword", "your_password",
                "your-password", "mypassword", "todo", "tbd", "undefined", "required", "string", "true", "false",
                "foobared", /* redis.conf's own example */
        };
        bool masked = true;

        if (v[0] == '<' || v[0] == '[' || v[0] == '{' || (v[0] == '$' && n > 1 && (v[1] == '{' || v[1] == '(' ||
                                                                                        v[1] == '_' ||
                                                                                        (v[1] >= 'A' && v[1] <= 'Z'))) ||
            (v[0] == '%' && (v[1] == '(' || v[1] == 's')))
                return true;
        for (size_t k = 0; k < ELEMENTSOF(words); k++)
                if (strlen(words[k]) == n && strncasecmp((const char *) v, words[k], n) == 0)
                        return true;
        /* masked: only '*', 'x', '.', '#', '-', '?', U+2022 • and U+25CF ● */
        for (size_t k = 0; k < n && masked;) {
                if (v[k] && strchr("*xX.#-?", v[k]))
                        k++;
                else if (n - k >= 3 && (memcmp(v + k, "\xe2\x80\xa2", 3) == 0 || memcmp(v + k, "\xe2\x97\x8f", 3) == 0))
                        k += 3;
                else
                        masked = false;
        }
        return masked;
}

/* Does [a, b) name a password (a variable such as password, db_pwd, passphrase)? */
static bool names_password(const Scanner *sc, size_t a, size_t b) {
        for (size_t k = a; k < b; k++)
                if (has_prefix_ci(sc, k, "pass", 4) || has_prefix_ci(sc, k, "pwd", 3))
                        return k + 3 <= b;
        return false;
}

/* Is the unquoted value at k code rather than a literal: a call or a subscript (getpass.getpass(...),
 * os.environ["X"], bcrypt.hashpw(...), request.form['pw'], Optional[str]), or a variable named for
 * what it holds as the last argument of a call (connect(password=password), f(pwd=db_pwd))? */
static bool password_expression(const Scanner *sc, size_t k) {
        size_t name;

        for (;;) {
                if (k >= sc->len || !(is_alpha(sc->s[k]) || sc->s[k] == '_'))
                        return false;
                name = k;
                while (is_class(sc, k, W_WORD))
                        k++;
                if (k < sc->len && sc->s[k] == '.') {
                        k++;
                        continue;
                }
                break;
        }
        if (k >= sc->len)
                return false;
        return sc->s[k] == '(' || sc->s[k] == '[' || (sc->s[k] == ')' && names_password(sc, name, k));
}

/* In prose and other loose forms an unquoted value must look like a secret: a digit, a symbol or
 * an upper-case letter after the first (not "incorrect", "Expired" or "police"); trailing
 * sentence punctuation does not count. */
static bool password_looks_secret(const Scanner *sc, size_t v, size_t e) {
        while (e > v && strchr(".,!?:;)", sc->s[e - 1]))
                e--;
        for (size_t k = v; k < e; k++) {
                uint8_t c = sc->s[k];

                if (is_digit(c) || !is_alpha(c) || (k > v && c >= 'A' && c <= 'Z'))
                        return true;
        }
        return false;
}

static bool password_value_end(uint8_t c) {
        return c <= ' ' || c >= 0x80 || is_quote(c) || c == ',' || c == ';';
}

/* The value that starts at k: quoted (', ", `; on one line) or up to a blank; [*v, *e). */
static bool password_token(const Scanner *sc, size_t k, size_t *v, size_t *e) {
        size_t a, b;

        if (k >= sc->len)
                return false;
        if (is_quote(sc->s[k])) {
                a = b = k + 1;
                while (b < sc->len && sc->s[b] != sc->s[k] && sc->s[b] != '\n' && b - a <= PASSWORD_VALUE_MAX)
                        b++;
                if (b >= sc->len || sc->s[b] != sc->s[k])
                        return false;
        } else {
                a = b = k;
                while (b < sc->len && !password_value_end(sc->s[b]) && b - a <= PASSWORD_VALUE_MAX)
                        b++;
        }
        *v = a;
        *e = b;
        return true;
}

/* [v, e) is a password unless too short, too long or a placeholder. */
static bool password_accept(const Scanner *sc, size_t v, size_t e, DetectHit *h) {
        if (v < sc->floor || e - v < PASSWORD_VALUE_MIN || e - v > PASSWORD_VALUE_MAX ||
            password_placeholder(sc->s + v, e - v))
                return false;
        return set_hit(h, DETECT_PASSWORD_ASSIGNMENT, v, e);
}

/* The value that starts at k (after the separator and blanks). An unquoted one must not be code;
 * with loose, it must also look like a secret (password_looks_secret). */
static bool password_value_of(const Scanner *sc, size_t k, bool loose, DetectHit *h) {
        size_t v, e;

        if (!password_token(sc, k, &v, &e))
                return false;
        if (v == k && (password_expression(sc, k) || (loose && !password_looks_secret(sc, v, e))))
                return false;
        return password_accept(sc, v, e, h);
}

static bool password_value(const Scanner *sc, size_t k, DetectHit *h) {
        return password_value_of(sc, k, false, h);
}

/* <password>VALUE</password> (also <passwd>, <pwd>, any case): k is at the '>'. */
static bool password_element(const Scanner *sc, size_t k, DetectHit *h) {
        size_t v = skip_blanks(sc, k + 1), e = v;

        while (e < sc->len && sc->s[e] != '<' && sc->s[e] != '\n' && e - v <= PASSWORD_VALUE_MAX)
                e++;
        if (!has_prefix(sc, e, "</", 2))
                return false;
        while (e > v && is_blank(sc->s[e - 1]))
                e--;
        return password_accept(sc, v, e, h);
}

/* What follows a keyword and a blank (k, past the blanks): --password VALUE, PASSWORD 'value'
 * (SQL), "password is VALUE" / "password was VALUE" (English prose). */
static bool password_after_blank(const Scanner *sc, size_t i, size_t k, DetectHit *h) {
        size_t v, e;

        if (has_before(sc, i, "--", 2))
                return sc->s[k] != '-' && password_value(sc, k, h);
        if (sc->s[k] == '\'' || sc->s[k] == '"')
                /* a quoted word: PASSWORD 'x' (ALTER USER ... PASSWORD, WITH PASSWORD), the password "x" */
                return password_token(sc, k, &v, &e) && memchr(sc->s + v, ' ', e - v) == NULL &&
                       password_accept(sc, v, e, h);
        if (has_prefix_ci(sc, k, "is", 2))
                k += 2;
        else if (has_prefix_ci(sc, k, "was", 3))
                k += 3;
        else
                return false;
        if (k >= sc->len || !is_blank(sc->s[k]))
                return false;
        return password_value_of(sc, skip_blanks(sc, k), true, h);
}

static bool is_command_separator(uint8_t c) {
        return c == '\n' || c == ';' || c == '|' || c == '&' || c == '`' || c == '(';
}

enum {
        CMD_CURL = 1 << 0,    /* curl -u user:PASS, --user user:PASS */
        CMD_MYSQL = 1 << 1,   /* mysql, mysqldump, mysqladmin ..., mariadb ...: -pPASS */
        CMD_SSHPASS = 1 << 2, /* sshpass -p PASS */
};

static bool is_command_char(uint8_t c) {
        return (word_class[c] & W_WORD) || c == '.' || c == '-' || c == '+' || c == '/';
}

/* The commands named in the shell command before i (back to a newline, ';', '|', '&'): a word
 * (a run of [A-Za-z0-9_.+/-], so one glued to prose or a comma counts), without its directory,
 * that is curl, sshpass, or starts with mysql or mariadb. */
static unsigned command_before(const Scanner *sc, size_t i) {
        size_t a = i, low = i > COMMAND_LOOKBACK_MAX ? i - COMMAND_LOOKBACK_MAX : 0;
        unsigned cmds = 0;

        while (a > low && !is_command_separator(sc->s[a - 1]))
                a--;
        for (size_t w = a; w < i;) {
                size_t e, n;

                if (!is_command_char(sc->s[w])) {
                        w++;
                        continue;
                }
                for (e = w; e < i && is_command_char(sc->s[e]); e++)
                        if (sc->s[e] == '/')
                                w = e + 1;
                n = e - w;
                if ((n == 4 && has_prefix(sc, w, "curl", 4)) || (n == 8 && has_prefix(sc, w, "curl.exe", 8)))
                        cmds |= CMD_CURL;
                else if (n == 7 && has_prefix(sc, w, "sshpass", 7))
                        cmds |= CMD_SSHPASS;
                else if ((n >= 5 && has_prefix(sc, w, "mysql", 5)) || (n >= 7 && has_prefix(sc, w, "mariadb", 7)))
                        cmds |= CMD_MYSQL;
                w = e + 1;
        }
        return cmds;
}

/* curl -u user:PASS: the token at k is user:PASS; the password is what follows the first ':'. */
static bool password_userpass(const Scanner *sc, size_t k, DetectHit *h) {
        const uint8_t *colon;
        size_t v, e;

        if (!password_token(sc, k, &v, &e))
                return false;
        colon = memchr(sc->s + v, ':', e - v);
        return colon && password_accept(sc, (size_t) (colon - sc->s) + 1, e, h);
}

/* Flags that carry a password, found at their '-': -u/--user user:PASS after curl, -pPASS / -p PASS
 * after mysql (and its tools, mariadb) and sshpass. A flag starts a word; the value follows glued,
 * after '=' (long form) or after blanks. */
static bool match_flag(const Scanner *sc, size_t i, DetectHit *h) {
        uint8_t c1 = i + 1 < sc->len ? sc->s[i + 1] : 0;
        size_t k;

        if (i > 0 && sc->s[i - 1] > ' ')
                return false;
        if (c1 == '-') {
                if (!has_prefix(sc, i, "--user", 6))
                        return false;
                k = i + 6;
                if (k < sc->len && sc->s[k] == '=')
                        k++;
                else if (k >= sc->len || !is_blank(sc->s[k]))
                        return false;
                c1 = 'u';
        } else if (c1 == 'u' || c1 == 'p')
                k = i + 2;
        else
                return false;
        k = skip_blanks(sc, k);
        if (k >= sc->len || sc->s[k] == '-')
                return false;
        if (c1 == 'u')
                return (command_before(sc, i) & CMD_CURL) && password_userpass(sc, k, h);
        return (command_before(sc, i) & (CMD_MYSQL | CMD_SSHPASS)) && password_value(sc, k, h);
}

static bool match_dash(const Scanner *sc, size_t i, DetectHit *h) {
        return has_prefix(sc, i, "-----BEGIN ", 11) ? match_pem(sc, i, h) : match_flag(sc, i, h);
}

/* If the '@' at `at` ends the userinfo of a URL (scheme://userinfo@host), the userinfo's start;
 * else 0. The userinfo does not cross a blank, '/', '?', a quote or '<' '>' (an '@' in a password
 * that was percent-decoded may be crossed: the last '@' ends the userinfo). */
static size_t url_userinfo(const Scanner *sc, size_t at) {
        size_t k = at;

        while (k > 0 && at - k < USERINFO_MAX) {
                uint8_t c = sc->s[k - 1];

                if (c <= ' ' || c >= 0x80 || c == '/' || c == '?' || is_quote(c) || c == '<' || c == '>')
                        break;
                k--;
        }
        if (k < 4 || memcmp(sc->s + k - 3, "://", 3) != 0 || !is_class(sc, k - 4, W_WORD))
                return 0;
        return k;
}

/* At an '@': scheme://user:PASS@host and scheme://:PASS@host (postgres, mysql+driver, redis, amqp,
 * mongodb, ftp, http ...) give a password; scheme://user@host is no e-mail address; anything
 * else may be one. */
static bool match_at_sign(const Scanner *sc, size_t at, DetectHit *h) {
        size_t u = url_userinfo(sc, at);
        const uint8_t *colon;

        if (u == 0)
                return match_email(sc, at, h);
        colon = memchr(sc->s + u, ':', at - u);
        return colon && password_accept(sc, (size_t) (colon - sc->s) + 1, at, h);
}

/* IDENTIFIED BY 'pw', IDENTIFIED WITH plugin BY 'pw' (MySQL, Oracle), found at the F. An unquoted
 * value must look like a secret ("identified by police" is prose). */
static bool match_identified(const Scanner *sc, size_t i, DetectHit *h) {
        size_t k, b;

        if (i < 6 || !has_prefix_ci(sc, i - 6, "identified", 10) || !starts_token(sc, i - 6, W_WORD))
                return false;
        k = skip_blanks(sc, i + 4);
        if (k == i + 4)
                return false;
        if (has_prefix_ci(sc, k, "with", 4) && k + 4 < sc->len && is_blank(sc->s[k + 4])) {
                k = skip_blanks(sc, k + 4);
                while (k < sc->len && sc->s[k] > ' ')
                        k++; /* the plugin */
                k = skip_blanks(sc, k);
        }
        if (!has_prefix_ci(sc, k, "by", 2))
                return false;
        b = skip_blanks(sc, k + 2);
        return b > k + 2 && password_value_of(sc, b, true, h);
}

/* password=, pwd: , "password": , DB_PASSWORD=, --password=, --password VALUE, <password>VALUE<,
 * password is VALUE, requirepass VALUE ... : the keyword ends the key. */
static bool match_password_ascii(const Scanner *sc, size_t i, DetectHit *h) {
        static const struct {
                const char *word;
                size_t len;
        } keys[] = { { "password", 8 }, { "passphrase", 10 }, { "passwd", 6 }, { "pwd", 3 } };
        size_t k = 0, j;

        for (size_t n = 0; n < ELEMENTSOF(keys) && k == 0; n++)
                if (has_prefix_ci(sc, i, keys[n].word, keys[n].len))
                        k = i + keys[n].len;
        if (k == 0) {
                /* redis: requirepass VALUE */
                if (!has_prefix_ci(sc, i, "pass", 4) || !has_before_ci(sc, i, "require", 7))
                        return false;
                j = skip_blanks(sc, i + 4);
                return j > i + 4 && password_value(sc, j, h);
        }
        if (i > 0 && sc->s[i - 1] == '<' && k < sc->len && sc->s[k] == '>')
                return password_element(sc, k, h);
        if (k < sc->len && (sc->s[k] == '"' || sc->s[k] == '\''))
                k++;
        j = skip_blanks(sc, k);
        if (j >= sc->len)
                return false;
        if (sc->s[j] == '=' || sc->s[j] == ':')
                return password_value(sc, skip_blanks(sc, j + 1), h);
        return j > k && password_after_blank(sc, i, j, h);
}

/* 密码：…, 口令:…, 登录密码是：…, 密码为 … */
static bool match_password_zh(const Scanner *sc, size_t i, DetectHit *h) {
        size_t k = i + 6;
        bool sep = false;

        if (!has_prefix(sc, i, "\xe5\xaf\x86\xe7\xa0\x81", 6) && !has_prefix(sc, i, "\xe5\x8f\xa3\xe4\xbb\xa4", 6))
                return false;
        if (has_prefix(sc, k, "\xe6\x98\xaf", 3) || has_prefix(sc, k, "\xe4\xb8\xba", 3)) /* 是, 为 */
                k += 3, sep = true;
        k = skip_blanks(sc, k);
        if (k < sc->len && (sc->s[k] == ':' || sc->s[k] == '='))
                k++, sep = true;
        return sep && password_value(sc, skip_blanks(sc, k), h);
}

/* ---- the pass ---- */

static bool is_upper(uint8_t c) {
        return c >= 'A' && c <= 'Z';
}

static bool match_at(const Scanner *sc, size_t i, uint8_t cls, DetectHit *h, size_t *next) {
        *next = i + 1;
        switch (cls) {
        case B_DIGIT:
                /* DE89...: an IBAN's country code comes right before its first digit */
                if (i >= sc->floor + 2 && is_upper(sc->s[i - 2]) && is_upper(sc->s[i - 1]) && match_iban(sc, i - 2, h))
                        return true;
                return match_digits(sc, i, h, next);
        case B_AT:
                return match_at_sign(sc, i, h);
        case B_DASH:
                return match_dash(sc, i, h);
        case B_SQL:
                return match_identified(sc, i, h);
        case B_CLOUD:
                return match_cloud(sc, i, h);
        case B_JWT:
                return match_jwt(sc, i - 2, h);
        case B_PW:
                return match_password_ascii(sc, i, h);
        case B_PW_ZH:
                return match_password_zh(sc, i - 2, h);
        }
        return false;
}

/* A cheap look around before a matcher runs: most 'p's start no password key, most 'A's no key id,
 * most 'f's are not the "IFI" of IDENTIFIED, most 0x86 and 0xA3 bytes belong to other characters
 * than 密 and 口. */
static bool worth_matching(const Scanner *sc, size_t i, uint8_t cls) {
        uint8_t c1 = i + 1 < sc->len ? sc->s[i + 1] : 0;

        switch (cls) {
        case B_JWT:
                return has_before(sc, i, "ey", 2);
        case B_PW_ZH:
                return i >= sc->floor + 2 && sc->s[i - 2] == 0xE5 &&
                       ((sc->s[i] == 0x86 && sc->s[i - 1] == 0xAF) || (sc->s[i] == 0xA3 && sc->s[i - 1] == 0x8F));
        case B_CLOUD:
                return c1 == 'K' || c1 == 'S' || c1 == 'T';
        case B_PW:
                return (c1 | 0x20) == 'a' || (c1 | 0x20) == 'w';
        case B_SQL:
                return (c1 | 0x20) == 'i' && i >= 6 && (sc->s[i - 1] | 0x20) == 'i';
        default:
                return true;
        }
}

int detect_scan(const char *text, size_t len, detect_cb_t cb, void *userdata) {
        Scanner sc = { .s = (const uint8_t *) text, .len = len };

        for (size_t i = 0; i < len;) {
                DetectHit h;
                size_t next;
                uint8_t cls;

                while (i + 4 <= len && !(byte_class[sc.s[i]] | byte_class[sc.s[i + 1]] | byte_class[sc.s[i + 2]] |
                                         byte_class[sc.s[i + 3]]))
                        i += 4;
                while (i < len && !byte_class[sc.s[i]])
                        i++;
                if (i >= len)
                        break;
                cls = byte_class[sc.s[i]];
                if (!worth_matching(&sc, i, cls)) {
                        i++;
                        continue;
                }
                if (!match_at(&sc, i, cls, &h, &next)) {
                        i = next;
                        continue;
                }
                if (cb) {
                        int r = cb(&h, userdata);

                        if (r < 0)
                                return r;
                }
                sc.floor = i = MAX(h.end, next);
        }
        return 0;
}
