/* cli-pull.c: `sluice model pull URL -o FILE [--sha256 H]`: download with resume, progress and a
 * checksum; the file appears under its name only once it is complete and verified. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "encode.h"
#include "openssl-util.h"
#include "timeutil.h"

typedef struct Pull {
        FILE *out;
        bool tty;
        curl_off_t resumed_from;
        uint64_t last_draw;
} Pull;

static size_t pull_write(char *data, size_t size, size_t n, void *userdata) {
        Pull *p = userdata;
        return fwrite(data, size, n, p->out) * size;
}

static int pull_progress(void *userdata, curl_off_t total, curl_off_t now, curl_off_t ut, curl_off_t un) {
        Pull *p = userdata;
        uint64_t t = time_mono_msec();

        (void) ut, (void) un;
        if (!p->tty || (t - p->last_draw < 200 && now != total))
                return 0;
        p->last_draw = t;
        total += p->resumed_from;
        now += p->resumed_from;
        if (total > 0) {
                int width = 40, filled = (int) (width * now / total);
                fprintf(stderr, "\r[%.*s%*s] %5.1f%% %8.1f MB", filled, "========================================",
                        width - filled, "", 100.0 * (double) now / (double) total, (double) now / 1e6);
        } else
                fprintf(stderr, "\r%8.1f MB", (double) now / 1e6);
        return 0;
}

/* One line for a failed transfer, with a hint when the machine looks offline. */
static void report_curl_error(const char *url, CURLcode c, const char *detail) {
        const char *hint = "";

        if (c == CURLE_COULDNT_RESOLVE_HOST || c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_PROXY)
                hint = " (is this machine offline? copy the file here and use it directly, or pull from a mirror)";
        fprintf(stderr, "sluice: cannot download %s: %s%s\n", url, detail && *detail ? detail : curl_easy_strerror(c), hint);
}

static int download(const char *url, const char *part, bool tty) {
        _cleanup_fclose_ FILE *out = fopen(part, "ab");
        char errbuf[CURL_ERROR_SIZE] = "";
        struct stat st;
        Pull p = { .tty = tty };
        long status = 0;
        CURLcode c;
        CURL *h;

        if (!out) {
                fprintf(stderr, "sluice: cannot write %s: %s\n", part, strerror(errno));
                return -errno;
        }
        if (fstat(fileno(out), &st) == 0)
                p.resumed_from = st.st_size;
        p.out = out;
        h = curl_easy_init();
        if (!h)
                return -ENOMEM;
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, p.resumed_from);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, pull_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &p);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, pull_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, &p);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L); /* give up on a transfer stalled for a minute */
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http,file");
        curl_easy_setopt(h, CURLOPT_USERAGENT, "sluice/" SLUICE_VERSION);
        if (p.resumed_from > 0)
                fprintf(stderr, "sluice: resuming %s at %.1f MB\n", part, (double) p.resumed_from / 1e6);
        c = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(h);
        if (tty)
                fprintf(stderr, "\n");
        if (fflush(out) != 0 || ferror(out)) {
                fprintf(stderr, "sluice: cannot write %s: %s\n", part, strerror(errno));
                return -EIO;
        }
        if (c == CURLE_RANGE_ERROR || (c == CURLE_HTTP_RETURNED_ERROR && status == 416)) {
                fprintf(stderr, "sluice: the server cannot resume %s; delete %s and pull again\n", url, part);
                return -EIO;
        }
        if (c != CURLE_OK) {
                report_curl_error(url, c, errbuf);
                return -EIO;
        }
        return 0;
}

static int sha256_file(const char *path, char **ret_hex) {
        _cleanup_fclose_ FILE *f = fopen(path, "rb");
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char buf[1 << 16], md[EVP_MAX_MD_SIZE];
        unsigned md_len;
        size_t n;

        if (!f)
                return -errno;
        if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
                return -ENOMEM;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
                if (EVP_DigestUpdate(ctx, buf, n) != 1)
                        return -EIO;
        if (ferror(f) || EVP_DigestFinal_ex(ctx, md, &md_len) != 1)
                return -EIO;
        return encode_hex(md, md_len, ret_hex);
}

static bool is_sha256_hex(const char *s) {
        if (strlen(s) != 64)
                return false;
        for (const char *c = s; *c; c++)
                if (!strchr("0123456789abcdefABCDEF", *c))
                        return false;
        return true;
}

int cli_pull_main(const CliGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "output", required_argument, NULL, 'o' }, { "sha256", required_argument, NULL, 's' },
                { "help", no_argument, NULL, 'h' }, {},
        };
        const char *out = NULL, *want = NULL, *url;
        _cleanup_free_ char *part = NULL, *got = NULL;
        int c, r;

        (void) g;
        while ((c = getopt_long(argc, argv, "o:s:h", options, NULL)) >= 0)
                switch (c) {
                case 'o': out = optarg; break;
                case 's': want = optarg; break;
                case 'h':
                        printf("Usage: sluice model pull URL -o FILE [--sha256 HEX]\n\n"
                               "Downloads URL (https, http or file) to FILE.part, resuming a partial download,\n"
                               "checks the sha256 when given, and renames it to FILE when complete.\n");
                        return CLI_EXIT_OK;
                default: return CLI_EXIT_USAGE;
                }
        if (!out || optind + 1 != argc)
                return cli_usage_error("model pull: expected URL and -o FILE");
        if (want && !is_sha256_hex(want))
                return cli_usage_error("model pull: --sha256 must be 64 hex digits");
        url = argv[optind];
        if (asprintf(&part, "%s.part", out) < 0)
                return CLI_EXIT_FAILURE;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return CLI_EXIT_FAILURE;
        r = download(url, part, isatty(STDERR_FILENO));
        curl_global_cleanup();
        if (r < 0)
                return CLI_EXIT_FAILURE; /* FILE.part stays for the next attempt to resume */
        r = sha256_file(part, &got);
        if (r < 0) {
                fprintf(stderr, "sluice: cannot read %s: %s\n", part, strerror(-r));
                return CLI_EXIT_FAILURE;
        }
        if (want && strcasecmp(want, got) != 0) {
                fprintf(stderr, "sluice: %s: sha256 is %s, expected %s; the download is corrupt or not the file you "
                                "meant (removed)\n", url, got, want);
                (void) unlink(part);
                return CLI_EXIT_FAILURE;
        }
        if (rename(part, out) < 0) {
                fprintf(stderr, "sluice: cannot rename %s to %s: %s\n", part, out, strerror(errno));
                return CLI_EXIT_FAILURE;
        }
        printf("%s  %s\n", got, out);
        return CLI_EXIT_OK;
}
