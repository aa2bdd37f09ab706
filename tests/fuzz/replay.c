/* replay.c: runs a libFuzzer target over corpus files without libFuzzer, so that every build
 * (gcc included) compiles the fuzz targets and replays their seeds under the sanitizers. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path) {
        _cleanup_free_ char *data = NULL;
        size_t n;
        int r = file_read_all(path, (size_t) 16 << 20, &data, &n);

        if (r < 0) {
                fprintf(stderr, "replay: %s: %s\n", path, strerror(-r));
                return r;
        }
        /* a copy of exactly n bytes, so that ASan sees reads past the end */
        _cleanup_free_ uint8_t *copy = malloc(n ? n : 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, data, n);
        (void) LLVMFuzzerTestOneInput(copy, n);
        return 0;
}

int main(int argc, char **argv) {
        unsigned n = 0;

        for (int i = 1; i < argc; i++) {
                DIR *d = opendir(argv[i]);
                struct dirent *de;

                if (!d) {
                        if (replay_file(argv[i]) < 0)
                                return EXIT_FAILURE;
                        n++;
                        continue;
                }
                while ((de = readdir(d))) {
                        char path[4096];

                        if (de->d_name[0] == '.')
                                continue;
                        snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
                        if (replay_file(path) < 0) {
                                closedir(d);
                                return EXIT_FAILURE;
                        }
                        n++;
                }
                closedir(d);
        }
        if (n == 0) {
                fprintf(stderr, "replay: no corpus files found\n");
                return EXIT_FAILURE;
        }
        printf("replayed %u inputs\n", n);
        return EXIT_SUCCESS;
}
