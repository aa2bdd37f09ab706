/* fetch.h: downloads a file (https, http or file URL) with resume, a size limit and a sha256 check;
 * the file appears under its name only once complete and verified. Shared by the agent (model
 * cache) and the CLI (`sluice model pull`). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Called now and then with the bytes so far and the total (0 when unknown). */
typedef void (*FetchProgress)(void *userdata, uint64_t done, uint64_t total);

/* Downloads url to dest: into dest + ".part" (resuming what an earlier attempt left there), then,
 * when sha256 (64 hex digits) is given and matches, renames it to dest. Refuses more than max_bytes
 * (0: no limit). On success ret_sha256 (may be NULL; 65 bytes) gets the file's digest. Errors, with
 * one line in err: -EHOSTUNREACH when the host cannot be resolved or reached (offline?), -EIO for
 * other transfer failures (naming curl's reason and the HTTP status), -EBADMSG for a sha256
 * mismatch (the .part is removed), -EFBIG past max_bytes, or the errno of a file operation. */
int fetch_file(const char *url, const char *dest, const char *sha256, uint64_t max_bytes, FetchProgress progress,
               void *userdata, char ret_sha256[65], char *err, size_t errsz);

/* SHA-256 of a whole file as 64 lower-case hex digits (ret: 65 bytes). */
int fetch_sha256_file(const char *path, char ret[65]);
