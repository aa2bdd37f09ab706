/* test.c: the harness behind test.h: registration, TAP output, a scratch directory per run. */
#include "test.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#define TEST_MAX 512

static TestCase tests[TEST_MAX];
static size_t n_tests;
static bool current_failed;
static char tmpdir[256];

void test_register(const char *name, TestFunc func) {
        if (n_tests >= TEST_MAX) {
                fprintf(stderr, "test.c: more than %d tests in one file\n", TEST_MAX);
                abort();
        }
        tests[n_tests++] = (TestCase){ name, func };
}

void test_fail(const char *file, int line, const char *fmt, ...) {
        va_list ap;

        current_failed = true;
        printf("# %s:%d: ", file, line);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
}

const char *test_tmpdir(void) {
        if (!tmpdir[0]) {
                const char *base = getenv("TMPDIR");
                snprintf(tmpdir, sizeof tmpdir, "%s/sluice-test-XXXXXX", base ? base : "/tmp");
                if (!mkdtemp(tmpdir)) {
                        perror("mkdtemp");
                        abort();
                }
        }
        return tmpdir;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st, (void) flag, (void) ftw;
        return remove(path);
}

int main(int argc, char **argv) {
        const char *filter = argc > 1 ? argv[1] : NULL;
        unsigned n_run = 0, n_failed = 0;

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (test_skip_all) {
                const char *why = test_skip_all();
                if (why) {
                        printf("1..0 # SKIP %s\n", why);
                        return EXIT_SUCCESS;
                }
        }
        for (size_t i = 0; i < n_tests; i++)
                if (!filter || strstr(tests[i].name, filter))
                        n_run++;
        printf("1..%u\n", n_run);
        n_run = 0;
        for (size_t i = 0; i < n_tests; i++) {
                if (filter && !strstr(tests[i].name, filter))
                        continue;
                current_failed = false;
                tests[i].func();
                n_run++;
                printf("%s %u - %s\n", current_failed ? "not ok" : "ok", n_run, tests[i].name);
                n_failed += current_failed;
        }
        if (tmpdir[0])
                (void) nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        return n_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
