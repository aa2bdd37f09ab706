/* cli-pull.c: `sluice model pull URL -o FILE [--sha256 H]`: download with resume, progress and a
 * checksum; the file appears under its name only once it is complete and verified. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fetch.h"
#include "timeutil.h"

/* A progress bar on a terminal, redrawn at most five times a second. */
static void draw_progress(void *userdata, uint64_t now, uint64_t total) {
        uint64_t *last = userdata, t = time_mono_msec();

        if (t - *last < 200 && now != total)
                return;
        *last = t;
        if (total > 0) {
                int width = 40, filled = (int) (width * now / total);
                fprintf(stderr, "\r[%.*s%*s] %5.1f%% %8.1f MB", filled, "========================================",
                        width - filled, "", 100.0 * (double) now / (double) total, (double) now / 1e6);
        } else
                fprintf(stderr, "\r%8.1f MB", (double) now / 1e6);
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
        uint64_t last_draw = 0;
        char got[65], err[1024];
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
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return CLI_EXIT_FAILURE;
        r = fetch_file(url, out, want, 0, isatty(STDERR_FILENO) ? draw_progress : NULL, &last_draw, got, err, sizeof err);
        curl_global_cleanup();
        if (isatty(STDERR_FILENO))
                fprintf(stderr, "\n");
        if (r < 0) {
                fprintf(stderr, "sluice: %s\n", err);
                return CLI_EXIT_FAILURE;
        }
        printf("%s  %s\n", got, out);
        return CLI_EXIT_OK;
}
