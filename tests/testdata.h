/* testdata.h: finds shared test data files (shared/testdata/), or says how to fetch a missing one. */
#pragma once

#include <stddef.h>

/* Writes to buf the path of the shared test data file name (relative to shared/testdata/, e.g.
 * "llama.cpp-vocab/ggml-vocab-gpt-2.gguf"). Looks in $SLUICE_SHARED_DIR/testdata, then in
 * ../shared/testdata beside the source root ($SLUICE_SOURCE_ROOT at run time, else the SOURCE_ROOT
 * the build passed), then in ../shared/testdata from the current directory. Returns 0, or -ENOENT
 * after printing (as a TAP diagnostic) which file is missing, its sha256 and where to download it
 * from; -ENAMETOOLONG when buf is too small. Never skips silently: a test treats -ENOENT as failure. */
int testdata_path(const char *name, char *buf, size_t size);
