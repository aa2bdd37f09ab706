/* fetch.c: libcurl downloads with resume, progress, limits and checksums. */
#include "fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "openssl-util.h"

typedef struct Transfer {
        FILE *out;
        curl_off_t resumed_from;
        uint64_t max_bytes;
        bool too_big;
        FetchProgress progress;
        void *userdata;
} Transfer;

static size_t on_data(char *data, size_t size, size_t n, void *userdata) {
        Transfer *t = userdata;
        size_t len = size * n;

        if (t->max_bytes && (uint64_t) ftell(t->out) + len > t->max_bytes) {
                t->too_big = true;
                return 0; /* aborts the transfer */
        }
        return fwrite(data, 1, len, t->out);
}

static int on_progress(void *userdata, curl_off_t total, curl_off_t now, curl_off_t ut, curl_off_t un) {
        Transfer *t = userdata;

        (void) ut, (void) un;
        if (t->progress)
                t->progress(t->userdata, (uint64_t) (now + t->resumed_from), total ? (uint64_t) (total + t->resumed_from) : 0);
        return 0;
}

static int transfer(const char *url, Transfer *t, char *err, size_t errsz) {
        char errbuf[CURL_ERROR_SIZE] = "";
        long status = 0;
        CURLcode c;
        CURL *h = curl_easy_init();

        if (!h)
                return -ENOMEM;
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, t->resumed_from);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, t);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L); /* give up on a transfer stalled for a minute */
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http,file");
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
        curl_easy_setopt(h, CURLOPT_USERAGENT, "sluice/" SLUICE_VERSION);
        c = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(h);
        if (t->too_big) {
                snprintf(err, errsz, "%s is larger than the limit of %llu bytes", url, (unsigned long long) t->max_bytes);
                return -EFBIG;
        }
        if (c == CURLE_RANGE_ERROR || (c == CURLE_HTTP_RETURNED_ERROR && status == 416)) {
                snprintf(err, errsz, "the server cannot resume %s; remove the .part file and try again", url);
                return -EIO;
        }
        if (c == CURLE_COULDNT_RESOLVE_HOST || c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_PROXY) {
                snprintf(err, errsz, "cannot reach %s: %s (is this machine offline? copy the file here and use it directly)",
                         url, *errbuf ? errbuf : curl_easy_strerror(c));
                return -EHOSTUNREACH;
        }
        if (c != CURLE_OK) {
                snprintf(err, errsz, "cannot download %s: %s", url, *errbuf ? errbuf : curl_easy_strerror(c));
                return -EIO;
        }
        return 0;
}

int fetch_sha256_file(const char *path, char ret[65]) {
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
        for (unsigned i = 0; i < md_len; i++)
                snprintf(ret + 2 * i, 3, "%02x", md[i]);
        return 0;
}

int fetch_file(const char *url, const char *dest, const char *sha256, uint64_t max_bytes, FetchProgress progress,
               void *userdata, char ret_sha256[65], char *err, size_t errsz) {
        _cleanup_free_ char *part = NULL;
        _cleanup_fclose_ FILE *out = NULL;
        Transfer t = { .max_bytes = max_bytes, .progress = progress, .userdata = userdata };
        char got[65];
        struct stat st;
        int r;

        if (asprintf(&part, "%s.part", dest) < 0)
                return -ENOMEM;
        out = fopen(part, "ab");
        if (!out) {
                r = -errno;
                snprintf(err, errsz, "cannot write %s: %s", part, strerror(errno));
                return r;
        }
        if (fstat(fileno(out), &st) == 0)
                t.resumed_from = st.st_size;
        t.out = out;
        r = transfer(url, &t, err, errsz);
        if (fflush(out) != 0 && r >= 0) {
                snprintf(err, errsz, "cannot write %s: %s", part, strerror(errno));
                r = -EIO;
        }
        out = safe_fclose(TAKE_PTR(out));
        if (r < 0)
                return r; /* the .part stays, for the next attempt to resume */
        r = fetch_sha256_file(part, got);
        if (r < 0) {
                snprintf(err, errsz, "cannot read %s: %s", part, strerror(-r));
                return r;
        }
        if (sha256 && strcasecmp(sha256, got) != 0) {
                snprintf(err, errsz, "%s: sha256 is %s, expected %s; the download is corrupt or not the file meant (removed)",
                         url, got, sha256);
                (void) unlink(part);
                return -EBADMSG;
        }
        if (rename(part, dest) < 0) {
                r = -errno;
                snprintf(err, errsz, "cannot rename %s to %s: %s", part, dest, strerror(errno));
                return r;
        }
        if (ret_sha256)
                memcpy(ret_sha256, got, 65);
        return 0;
}
