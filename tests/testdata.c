/* testdata.c: locates shared test data (see testdata.h); the table below mirrors shared/testdata/README.md. */
#include "testdata.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"

#define LLAMA_CPP_MODELS_URL                                                                                          \
        "https://raw.githubusercontent.com/ggml-org/llama.cpp/d8a24ccee207a1ff24c513fe1c7d3222b3ccd837/models/"

typedef struct KnownFile {
        const char *name;
        const char *sha256;
        const char *url;
} KnownFile;

static const KnownFile known_files[] = {
        { "llama.cpp-vocab/ggml-vocab-llama-spm.gguf",
          "16c3724582d59aa8bf84711894e833f916ee46a31d80e21312759c48bf8d0e69",
          LLAMA_CPP_MODELS_URL "ggml-vocab-llama-spm.gguf" },
        { "llama.cpp-vocab/ggml-vocab-gpt-2.gguf", "cedc56ca6e2e89f63e781696d1fd76b4b1d49e6720dee86463e915f6e90016ac",
          LLAMA_CPP_MODELS_URL "ggml-vocab-gpt-2.gguf" },
        { "llama.cpp-vocab/ggml-vocab-deepseek-coder.gguf",
          "91cb1379f2e33af1c4866b194622b7a0e12e8f0c9dba7ba2f10d55978730bec1",
          LLAMA_CPP_MODELS_URL "ggml-vocab-deepseek-coder.gguf" },
};

/* Tries dir/name: 1 if it exists (path in buf), 0 if not, -ENAMETOOLONG. */
static int try_dir(const char *dir, const char *name, char *buf, size_t size) {
        int n;

        if (isempty(dir))
                return 0;
        n = snprintf(buf, size, "%s/%s", dir, name);
        if (n < 0 || (size_t) n >= size)
                return -ENAMETOOLONG;
        return access(buf, R_OK) == 0;
}

static void report_missing(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(known_files); i++)
                if (streq(known_files[i].name, name)) {
                        printf("# testdata: missing shared/testdata/%s (sha256 %s); download it from %s "
                               "(scripts/fetch-testdata does, checking the sha256; then point SLUICE_SHARED_DIR at what it prints)\n",
                               name, known_files[i].sha256, known_files[i].url);
                        return;
                }
        printf("# testdata: missing shared/testdata/%s (see shared/testdata/README.md for where it comes from; "
               "or point SLUICE_SHARED_DIR at a shared/ folder that has it)\n",
               name);
}

int testdata_path(const char *name, char *buf, size_t size) {
        const char *shared = getenv("SLUICE_SHARED_DIR"), *root = getenv("SLUICE_SOURCE_ROOT");
        char dir[4096];
        int r;

#ifdef SOURCE_ROOT
        if (isempty(root))
                root = SOURCE_ROOT;
#endif
        if (!isempty(shared)) {
                snprintf(dir, sizeof dir, "%s/testdata", shared);
                r = try_dir(dir, name, buf, size);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        if (!isempty(root)) {
                snprintf(dir, sizeof dir, "%s/../shared/testdata", root);
                r = try_dir(dir, name, buf, size);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        r = try_dir("../shared/testdata", name, buf, size);
        if (r != 0)
                return r < 0 ? r : 0;
        report_missing(name);
        return -ENOENT;
}
