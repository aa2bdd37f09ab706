/* test-fileio.c: bounded reads and atomic writes, including their failures. */
#include <stdio.h>
#include <sys/stat.h>
#include <dirent.h>

#include "fileio.h"
#include "test.h"

static void path_in_tmp(char *buf, size_t size, const char *name) {
        snprintf(buf, size, "%s/%s", test_tmpdir(), name);
}

TEST(write_then_read) {
        char path[512];
        _cleanup_free_ char *data = NULL;
        struct stat st;
        size_t n;

        path_in_tmp(path, sizeof path, "secret");
        ASSERT_OK(file_write_atomic(path, "key\0bytes", 9, 0600));
        ASSERT_TRUE(stat(path, &st) == 0);
        ASSERT_EQ(st.st_mode & 0777, 0600);
        ASSERT_OK(file_read_all(path, 100, &data, &n));
        ASSERT_UEQ(n, 9);
        ASSERT_MEMEQ(data, "key\0bytes", 9);
        ASSERT_EQ(data[9], '\0');
}

TEST(atomic_replace_leaves_no_temp_files) {
        char path[512];
        _cleanup_free_ char *data = NULL;
        size_t n, entries = 0;
        DIR *d;
        struct dirent *de;

        path_in_tmp(path, sizeof path, "replace");
        ASSERT_OK(file_write_atomic(path, "one", 3, 0644));
        ASSERT_OK(file_write_atomic(path, "two!", 4, 0644));
        ASSERT_OK(file_read_all(path, 100, &data, &n));
        ASSERT_STREQ(data, "two!");
        d = opendir(test_tmpdir());
        ASSERT_NOT_NULL(d);
        while ((de = readdir(d)))
                if (strstr(de->d_name, ".tmp-"))
                        entries++;
        closedir(d);
        ASSERT_UEQ(entries, 0);
}

TEST(read_limits_and_errors) {
        char path[512];
        char *data = (char *) 1;
        size_t n = 5;

        path_in_tmp(path, sizeof path, "big");
        ASSERT_OK(file_write_atomic(path, "0123456789", 10, 0644));
        ASSERT_ERROR(file_read_all(path, 9, &data, &n), -EFBIG);
        ASSERT_ERROR(file_read_all("/nonexistent/x", 9, &data, &n), -ENOENT);
        ASSERT_ERROR(file_read_all(test_tmpdir(), 9, &data, &n), -EISDIR);
        ASSERT_TRUE(data == (char *) 1);
        ASSERT_UEQ(n, 5);
}

TEST(read_limit_applies_to_streams) {
        char *data = NULL;
        size_t n;

        /* /dev/zero never ends: the limit must stop it */
        ASSERT_ERROR(file_read_all("/dev/zero", 4096, &data, &n), -EFBIG);
        ASSERT_OK(file_read_all("/dev/null", 4096, &data, &n));
        ASSERT_UEQ(n, 0);
        free(data);
}

TEST(write_into_missing_dir_fails_cleanly) {
        ASSERT_ERROR(file_write_atomic("/nonexistent-dir/x", "a", 1, 0600), -ENOENT);
}
