/* store.c: opening the inventory database, its pragmas, transactions, and the helpers every table shares. */
#include "store.h"

#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "encode.h"
#include "json.h"
#include "random.h"
#include "store-internal.h"
#include "timeutil.h"

static const char *const zone_names[_STORE_ZONE_MAX] = {
        [STORE_ZONE_PRIVATE] = "private",
        [STORE_ZONE_PUBLIC] = "public",
};

const char *store_zone_to_string(StoreZone z) {
        return z >= 0 && z < _STORE_ZONE_MAX ? zone_names[z] : NULL;
}

StoreZone store_zone_from_string(const char *s) {
        return (StoreZone) string_table_lookup(zone_names, _STORE_ZONE_MAX, s);
}

static int errno_from_sqlite(sqlite3 *db, int rc) {
        switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
                return -EEXIST;
        case SQLITE_CONSTRAINT_FOREIGNKEY:
                return -EBUSY;
        default:
                break;
        }
        switch (rc & 0xff) {
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        case SQLITE_TOOBIG:
                return -E2BIG;
        case SQLITE_CONSTRAINT:
        case SQLITE_MISMATCH:
        case SQLITE_RANGE:
                return -EINVAL;
        case SQLITE_CANTOPEN:
        case SQLITE_IOERR: {
                int e = db ? sqlite3_system_errno(db) : 0;
                return e > 0 ? -e : -EIO;
        }
        default:
                return -EIO;
        }
}

int store_sqlite_error(sqlite3 *db, int rc, const char *what, char *err, size_t errsz) {
        /* sqlite3_errmsg describes the last call on db, which is the one that returned rc */
        return errorf(err, errsz, errno_from_sqlite(db, rc), "%s: %s", what,
                      db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

int store_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret, char *err, size_t errsz) {
        sqlite3_stmt *st = NULL;
        int rc;

        rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK) {
                (void) sqlite3_finalize(st);
                return store_sqlite_error(db, rc, "prepare", err, errsz);
        }
        *ret = st;
        return 0;
}

/* A short name for a statement in error lines: its first words. */
static const char *stmt_name(sqlite3_stmt *st, char buf[static 48]) {
        const char *sql = sqlite3_sql(st);

        snprintf(buf, 48, "%s", sql ? sql : "statement");
        for (char *p = buf; *p; p++)
                if (*p == '\n' || *p == '\t')
                        *p = ' ';
        return buf;
}

int store_vbind(sqlite3_stmt *st, char *err, size_t errsz, const char *fmt, va_list ap) {
        int rc = SQLITE_OK, i = 0;

        for (const char *f = fmt; *f && rc == SQLITE_OK; f++) {
                i++;
                switch (*f) {
                case 't': {
                        const char *v = va_arg(ap, const char *);
                        rc = v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
                        break;
                }
                case 'i':
                        rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
                        break;
                case 'o': {
                        uint64_t v = va_arg(ap, uint64_t);
                        if (v > INT64_MAX)
                                rc = SQLITE_RANGE;
                        else
                                rc = v ? sqlite3_bind_int64(st, i, (int64_t) v) : sqlite3_bind_null(st, i);
                        break;
                }
                case 'h':
                        rc = sqlite3_bind_blob(st, i, va_arg(ap, const uint8_t *), 32, SQLITE_TRANSIENT);
                        break;
                default:
                        rc = SQLITE_MISUSE;
                }
        }
        if (rc != SQLITE_OK) {
                char name[48];
                return store_sqlite_error(sqlite3_db_handle(st), rc, stmt_name(st, name), err, errsz);
        }
        return 0;
}

int store_bind(sqlite3_stmt *st, char *err, size_t errsz, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = store_vbind(st, err, errsz, fmt, ap);
        va_end(ap);
        return r;
}

/* store_prepare() and store_vbind() of one statement that is then stepped once. */
static int prepare_bound(Store *s, const char *sql, sqlite3_stmt **ret, char *err, size_t errsz, const char *fmt,
                         va_list ap) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s->db, sql, &st, err, errsz);

        if (r < 0 || (r = store_vbind(st, err, errsz, fmt, ap)) < 0)
                return r;
        *ret = TAKE_PTR(st);
        return 0;
}

int store_run(Store *s, const char *sql, char *err, size_t errsz, const char *fmt, ...) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = prepare_bound(s, sql, &st, err, errsz, fmt, ap);
        va_end(ap);
        if (r < 0)
                return r;
        r = store_step(st, err, errsz);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db);
}

int store_step(sqlite3_stmt *st, char *err, size_t errsz) {
        int rc = sqlite3_step(st);
        char name[48];

        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return store_sqlite_error(sqlite3_db_handle(st), rc, stmt_name(st, name), err, errsz);
}

int store_exec(sqlite3 *db, const char *sql, char *err, size_t errsz) {
        int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

        if (rc != SQLITE_OK) {
                char name[48];
                snprintf(name, sizeof name, "%s", sql);
                return store_sqlite_error(db, rc, name, err, errsz);
        }
        return 0;
}

int store_grow(void **array, size_t *allocated, size_t need, size_t elem_size) {
        size_t cap, bytes;
        void *p;

        if (need <= *allocated)
                return 0;
        cap = MAX(need, MAX(*allocated * 2, (size_t) 16));
        if (!size_mul(cap, elem_size, &bytes))
                return -ENOMEM;
        p = realloc(*array, bytes);
        if (!p)
                return -ENOMEM;
        memset((char *) p + *allocated * elem_size, 0, (cap - *allocated) * elem_size);
        *array = p;
        *allocated = cap;
        return 0;
}

int store_collect(sqlite3_stmt *st, size_t row_size, int (*read_row)(sqlite3_stmt *st, void *row, void *userdata),
                  void *userdata, void (*free_rows)(void *rows, size_t n), const char *what, void **ret, size_t *ret_n,
                  char *err, size_t errsz) {
        void *a = NULL;
        size_t n = 0, allocated = 0;
        int r;

        while ((r = store_step(st, err, errsz)) > 0) {
                r = store_grow(&a, &allocated, n + 1, row_size);
                if (r >= 0) /* counted before it is read: free_rows frees a row read in part */
                        r = read_row(st, (char *) a + n++ * row_size, userdata);
                if (r < 0) {
                        r = errorf(err, errsz, r, "%s: %s", what, r == -ENOMEM ? "out of memory" : "malformed row");
                        break;
                }
        }
        if (r < 0) {
                free_rows(a, n);
                return r;
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

int store_column_strdup(sqlite3_stmt *st, int i, char **ret) {
        const unsigned char *v = sqlite3_column_text(st, i);
        char *s;

        if (!v) {
                if (sqlite3_errcode(sqlite3_db_handle(st)) == SQLITE_NOMEM)
                        return -ENOMEM;
                *ret = NULL;
                return 0;
        }
        s = strdup((const char *) v);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

uint64_t store_column_u64(sqlite3_stmt *st, int i) {
        int64_t v = sqlite3_column_int64(st, i);
        return v > 0 ? (uint64_t) v : 0;
}

int store_count(Store *s, const char *sql, int64_t *ret, char *err, size_t errsz, const char *fmt, ...) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = prepare_bound(s, sql, &st, err, errsz, fmt, ap);
        va_end(ap);
        if (r < 0)
                return r;
        r = store_step(st, err, errsz);
        if (r < 0)
                return r;
        if (r == 0)
                return errorf(err, errsz, -EIO, "count: no row");
        *ret = sqlite3_column_int64(st, 0);
        return 0;
}

/* ---- transactions ---- */

int store_tx_begin(Store *s, StoreTx *tx, char *err, size_t errsz) {
        bool savepoint = !sqlite3_get_autocommit(s->db);
        int r;

        r = store_exec(s->db, savepoint ? "SAVEPOINT store_op" : "BEGIN IMMEDIATE", err, errsz);
        if (r < 0)
                return r;
        *tx = (StoreTx){ .store = s, .open = true, .savepoint = savepoint };
        return 0;
}

int store_tx_commit(StoreTx *tx, char *err, size_t errsz) {
        int r;

        if (!tx->open)
                return errorf(err, errsz, -EINVAL, "no transaction open");
        r = store_exec(tx->store->db, tx->savepoint ? "RELEASE store_op" : "COMMIT", err, errsz);
        if (r < 0)
                return r; /* still open: the cleanup rolls it back */
        tx->open = false;
        return 0;
}

void store_tx_abort(StoreTx *tx) {
        if (!tx->open)
                return;
        if (tx->savepoint)
                (void) sqlite3_exec(tx->store->db, "ROLLBACK TO store_op; RELEASE store_op", NULL, NULL, NULL);
        else if (!sqlite3_get_autocommit(tx->store->db))
                (void) sqlite3_exec(tx->store->db, "ROLLBACK", NULL, NULL, NULL);
        tx->open = false;
}

int store_begin(Store *s, char *err, size_t errsz) {
        if (!s)
                return -EINVAL;
        if (!sqlite3_get_autocommit(s->db))
                return errorf(err, errsz, -EBUSY, "a transaction is already open");
        return store_exec(s->db, "BEGIN IMMEDIATE", err, errsz);
}

int store_commit(Store *s, char *err, size_t errsz) {
        int r;

        if (!s)
                return -EINVAL;
        if (sqlite3_get_autocommit(s->db))
                return errorf(err, errsz, -EINVAL, "no transaction open");
        r = store_exec(s->db, "COMMIT", err, errsz);
        if (r < 0)
                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return r;
}

int store_rollback(Store *s) {
        if (!s)
                return -EINVAL;
        if (sqlite3_get_autocommit(s->db))
                return 0;
        return store_exec(s->db, "ROLLBACK", NULL, 0);
}

/* ---- value checks ---- */

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int store_check_name(const char *field, const char *v, bool model, char *err, size_t errsz) {
        size_t n;

        if (isempty(v))
                return errorf(err, errsz, -EINVAL, "%s: must not be empty", field);
        n = strnlen(v, STORE_NAME_MAX + 1);
        if (n > STORE_NAME_MAX)
                return errorf(err, errsz, -EINVAL, "%s: longer than %d bytes", field, STORE_NAME_MAX);
        if (!is_alnum(v[0]))
                return errorf(err, errsz, -EINVAL, "%s: must start with a letter or digit", field);
        for (size_t i = 1; i < n; i++) {
                char c = v[i];
                if (is_alnum(c) || c == '.' || c == '_' || c == '-')
                        continue;
                if (model && (c == ':' || c == '/' || c == '@' || c == '+'))
                        continue;
                if ((unsigned char) c < 0x20 || (unsigned char) c >= 0x7f)
                        return errorf(err, errsz, -EINVAL, "%s: byte 0x%02x at offset %zu is not allowed (%s)", field,
                                      (unsigned char) c, i, model ? "A-Z a-z 0-9 . _ - : / @ +" : "A-Z a-z 0-9 . _ -");
                return errorf(err, errsz, -EINVAL, "%s: character '%c' is not allowed (%s)", field, c,
                              model ? "A-Z a-z 0-9 . _ - : / @ +" : "A-Z a-z 0-9 . _ -");
        }
        return 0;
}

int store_check_text(const char *field, const char *v, size_t max, char *err, size_t errsz) {
        size_t n;

        if (isempty(v))
                return errorf(err, errsz, -EINVAL, "%s: must not be empty", field);
        n = strnlen(v, max + 1);
        if (n > max)
                return errorf(err, errsz, -E2BIG, "%s: longer than %zu bytes", field, max);
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) v[i] < 0x20 || v[i] == 0x7f)
                        return errorf(err, errsz, -EINVAL, "%s: control character at offset %zu", field, i);
        return 0;
}

int store_check_actor(const StoreActor *a, char *err, size_t errsz) {
        size_t n;

        if (!a || isempty(a->key_id))
                return errorf(err, errsz, -EINVAL, "actor: a key id is required to record the change");
        n = strnlen(a->key_id, STORE_ACTOR_MAX + 1);
        if (n > STORE_ACTOR_MAX)
                return errorf(err, errsz, -EINVAL, "actor: longer than %d bytes", STORE_ACTOR_MAX);
        for (size_t i = 0; i < n; i++) {
                char c = a->key_id[i];
                if (!is_alnum(c) && c != '.' && c != '_' && c != ':' && c != '-')
                        return errorf(err, errsz, -EINVAL, "actor: byte 0x%02x at offset %zu is not allowed",
                                      (unsigned char) c, i);
        }
        if (!a->request_id)
                return 0;
        n = strnlen(a->request_id, STORE_REQUEST_ID_MAX + 1);
        if (n == 0 || n > STORE_REQUEST_ID_MAX)
                return errorf(err, errsz, -EINVAL, "request id: must be 1..%d bytes", STORE_REQUEST_ID_MAX);
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) a->request_id[i] <= 0x20 || (unsigned char) a->request_id[i] >= 0x7f)
                        return errorf(err, errsz, -EINVAL, "request id: byte 0x%02x at offset %zu is not allowed",
                                      (unsigned char) a->request_id[i], i);
        return 0;
}

static int check_labels(const char *field, const cJSON *obj, char *err, size_t errsz) {
        const cJSON *item;
        unsigned n = 0;

        cJSON_ArrayForEach(item, obj) {
                const char *k = item->string;
                size_t klen = k ? strlen(k) : 0;

                if (++n > STORE_LABELS_MAX)
                        return errorf(err, errsz, -E2BIG, "%s: more than %d labels", field, STORE_LABELS_MAX);
                if (klen == 0 || klen > STORE_LABEL_KEY_MAX)
                        return errorf(err, errsz, -EINVAL, "%s: a label key must be 1..%d bytes", field,
                                      STORE_LABEL_KEY_MAX);
                if (!is_alnum(k[0]))
                        return errorf(err, errsz, -EINVAL, "%s.%s: a label key must start with a letter or digit",
                                      field, k);
                for (size_t i = 1; i < klen; i++)
                        if (!is_alnum(k[i]) && !strchr("._/-", k[i]))
                                return errorf(err, errsz, -EINVAL,
                                              "%s: label key \"%.*s\": character 0x%02x is not allowed "
                                              "(A-Z a-z 0-9 . _ / -)",
                                              field, (int) klen, k, (unsigned char) k[i]);
                for (const cJSON *prev = obj->child; prev != item; prev = prev->next)
                        if (streq(prev->string, k))
                                return errorf(err, errsz, -EINVAL, "%s.%s: duplicate label", field, k);
                if (!cJSON_IsString(item))
                        return errorf(err, errsz, -EINVAL, "%s.%s: expected string", field, k);
                if (strlen(item->valuestring) > STORE_LABEL_VALUE_MAX)
                        return errorf(err, errsz, -E2BIG, "%s.%s: value longer than %d bytes", field, k,
                                      STORE_LABEL_VALUE_MAX);
                for (const char *p = item->valuestring; *p; p++)
                        if ((unsigned char) *p < 0x20 || *p == 0x7f)
                                return errorf(err, errsz, -EINVAL, "%s.%s: control character in value", field, k);
        }
        return 0;
}

int store_canonical_object(const char *field, const char *json, size_t max, bool labels, char **ret, char *err,
                           size_t errsz) {
        _cleanup_(cJSON_Deletep) cJSON *obj = NULL;
        _cleanup_free_ char *out = NULL;
        char jerr[128];
        size_t n;
        int r;

        if (!json)
                return errorf(err, errsz, -EINVAL, "%s: missing", field);
        /* the compact form is rarely longer than the input; refuse huge input before parsing it */
        n = strnlen(json, 2 * max + 1);
        if (n > 2 * max)
                return errorf(err, errsz, -E2BIG, "%s: longer than %zu bytes", field, max);
        r = json_parse(json, n, &obj, jerr, sizeof jerr);
        if (r < 0)
                return errorf(err, errsz, r, "%s: %s", field, jerr);
        if (!cJSON_IsObject(obj))
                return errorf(err, errsz, -EINVAL, "%s: expected a JSON object", field);
        if (labels) {
                r = check_labels(field, obj, err, errsz);
                if (r < 0)
                        return r;
        }
        r = json_print(obj, &out);
        if (r < 0)
                return errorf(err, errsz, r, "%s: out of memory", field);
        if (strlen(out) > max)
                return errorf(err, errsz, -E2BIG, "%s: longer than %zu bytes", field, max);
        *ret = TAKE_PTR(out);
        return 0;
}

/* A token or key as presented: prefix + 43 base64url characters, else -EINVAL. */
int store_check_presented(const char *what, const char *v, const char *prefix, char *err, size_t errsz) {
        size_t n, plen = strlen(prefix);

        if (!v)
                return errorf(err, errsz, -EINVAL, "malformed %s", what);
        n = strnlen(v, STORE_TOKEN_MAX + 1);
        if (n > STORE_TOKEN_MAX || n != plen + 43 || !strneq(v, prefix, plen))
                return errorf(err, errsz, -EINVAL, "malformed %s", what);
        for (size_t i = plen; i < n; i++) {
                char c = v[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_'))
                        return errorf(err, errsz, -EINVAL, "malformed %s", what);
        }
        return 0;
}

/* ---- ids, secrets, hashes ---- */

int store_random_id(char buf[static 17]) {
        static const char hex[] = "0123456789abcdef";
        uint8_t b[8];
        int r;

        r = random_bytes(b, sizeof b);
        if (r < 0)
                return r;
        for (size_t i = 0; i < sizeof b; i++) {
                buf[2 * i] = hex[b[i] >> 4];
                buf[2 * i + 1] = hex[b[i] & 15];
        }
        buf[16] = '\0';
        return 0;
}

int store_random_uuid(char buf[static 37]) {
        uint8_t b[16];
        int r;

        r = random_bytes(b, sizeof b);
        if (r < 0)
                return r;
        b[6] = (uint8_t) ((b[6] & 0x0f) | 0x40); /* version 4 */
        b[8] = (uint8_t) ((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
        snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
        return 0;
}

int store_random_secret(const char *prefix, char **ret) {
        _cleanup_free_ char *b64 = NULL;
        uint8_t b[32]; /* 256 bits */
        char *s;
        int r;

        r = random_bytes(b, sizeof b);
        if (r < 0)
                return r;
        r = encode_base64(b, sizeof b, true, &b64);
        explicit_bzero(b, sizeof b);
        if (r < 0)
                return r;
        if (asprintf(&s, "%s%s", prefix, b64) < 0) {
                explicit_bzero(b64, strlen(b64));
                return -ENOMEM;
        }
        explicit_bzero(b64, strlen(b64));
        *ret = s;
        return 0;
}

int store_sha256(const void *data, size_t n, uint8_t ret[static 32]) {
        unsigned len = 0;

        if (EVP_Digest(data, n, ret, &len, EVP_sha256(), NULL) != 1 || len != 32)
                return -EIO;
        return 0;
}

static bool is_b64url(char c) {
        return is_alnum(c) || c == '-' || c == '_';
}

bool store_text_has_secret(const char *text) {
        static const char *const prefixes[] = { "sk-sluice-", "sjt-" };

        if (!text)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                for (const char *p = strstr(text, prefixes[i]); p; p = strstr(p + 1, prefixes[i])) {
                        const char *q = p + strlen(prefixes[i]);
                        size_t n = 0;
                        while (is_b64url(q[n]))
                                n++;
                        if (n >= 20) /* a display prefix is shorter; a secret has 43 */
                                return true;
                }
        return false;
}

/* ---- open, close ---- */

/* Creates path with mode 0600 when it does not exist, and syncs its directory, so that the
 * database (and the -wal/-shm files, which SQLite gives the same mode) is never world-readable. */
static int create_private_file(const char *path) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int fd = -EBADF, dfd = -EBADF;
        char *slash;

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return errno == EEXIST ? 0 : negative_errno();
        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash)
                strcpy(dir, ".");
        else if (slash == dir)
                slash[1] = '\0';
        else
                *slash = '\0';
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0)
                return negative_errno();
        return 0;
}

/* Runs a pragma that answers one row and returns its first column as text in buf. */
static int pragma_text(sqlite3 *db, const char *sql, char *buf, size_t size, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        const unsigned char *v;
        int r;

        r = store_prepare(db, sql, &st, err, errsz);
        if (r < 0)
                return r;
        r = store_step(st, err, errsz);
        if (r < 0)
                return r;
        v = r > 0 ? sqlite3_column_text(st, 0) : NULL;
        snprintf(buf, size, "%s", v ? (const char *) v : "");
        return 0;
}

static int configure(Store *s, char *err, size_t errsz) {
        char v[32];
        int r;

        (void) sqlite3_extended_result_codes(s->db, 1);
        (void) sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
        (void) sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
        (void) sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
        (void) sqlite3_busy_timeout(s->db, (int) MIN(s->limits.busy_timeout_ms, (unsigned) INT_MAX));

        /* the first read of the header: a file that is not SQLite fails here */
        r = pragma_text(s->db, "PRAGMA journal_mode=WAL", v, sizeof v, err, errsz);
        if (r == -EBADMSG)
                return errorf(err, errsz, r, "not an SQLite database (%s)", sqlite3_errmsg(s->db));
        if (r < 0)
                return r;
        if (!streq(v, "wal"))
                return errorf(err, errsz, -EIO, "journal_mode=WAL refused (got \"%s\")", v);
        r = store_exec(s->db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", err, errsz);
        if (r < 0)
                return r;
        r = pragma_text(s->db, "PRAGMA synchronous", v, sizeof v, err, errsz);
        if (r < 0)
                return r;
        if (!streq(v, "2"))
                return errorf(err, errsz, -EIO, "synchronous=FULL refused (got %s)", v);
        r = pragma_text(s->db, "PRAGMA foreign_keys", v, sizeof v, err, errsz);
        if (r < 0)
                return r;
        if (!streq(v, "1"))
                return errorf(err, errsz, -EIO, "this SQLite has no foreign key support");
        return 0;
}

int store_open(const char *path, Store **ret, char *err, size_t errsz) {
        _cleanup_store_ Store *s = NULL;
        char e[256];
        int rc, r;

        if (isempty(path) || !ret)
                return errorf(err, errsz, -EINVAL, "store: no database path");
        r = create_private_file(path);
        if (r < 0)
                return errorf(err, errsz, r, "%s: cannot create: %s", path, strerror(-r));

        s = calloc(1, sizeof *s);
        if (!s)
                return errorf(err, errsz, -ENOMEM, "%s: out of memory", path);
        s->limits = STORE_LIMITS_DEFAULT;
        rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
        if (rc != SQLITE_OK) {
                r = store_sqlite_error(s->db, rc, "open", e, sizeof e);
                return errorf(err, errsz, r, "%s: %s", path, e);
        }
        r = configure(s, e, sizeof e);
        if (r < 0)
                return errorf(err, errsz, r, "%s: %s", path, e);
        r = store_schema_migrate(s->db, STORE_SCHEMA_VERSION, NULL, e, sizeof e);
        if (r < 0)
                return errorf(err, errsz, r, "%s: %s", path, e);
        *ret = TAKE_PTR(s);
        return 0;
}

Store *store_close(Store *s) {
        if (!s)
                return NULL;
        if (s->db) {
                if (!sqlite3_get_autocommit(s->db))
                        (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
                (void) sqlite3_close_v2(s->db);
        }
        free(s);
        return NULL;
}

int store_integrity_check(Store *s, char *err, size_t errsz) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL, *fk = NULL;
        const unsigned char *v;
        int r;

        if (!s)
                return -EINVAL;
        r = store_prepare(s->db, "PRAGMA integrity_check(1)", &st, err, errsz);
        if (r < 0)
                return r;
        r = store_step(st, err, errsz);
        if (r < 0)
                return r;
        v = r > 0 ? sqlite3_column_text(st, 0) : NULL;
        if (!v || !streq((const char *) v, "ok"))
                return errorf(err, errsz, -EBADMSG, "integrity check failed: %s", v ? (const char *) v : "no answer");
        r = store_prepare(s->db, "PRAGMA foreign_key_check", &fk, err, errsz);
        if (r < 0)
                return r;
        r = store_step(fk, err, errsz);
        if (r < 0)
                return r;
        if (r > 0)
                return errorf(err, errsz, -EBADMSG, "foreign key check failed in table %s",
                              (const char *) sqlite3_column_text(fk, 0));
        return 0;
}

unsigned store_schema_version(Store *s) {
        unsigned v = 0;

        if (!s || store_schema_read_version(s->db, &v, NULL, 0) < 0)
                return 0;
        return v;
}

void store_set_limits(Store *s, const StoreLimits *limits) {
        if (!s || !limits)
                return;
        if (limits->max_nodes)
                s->limits.max_nodes = limits->max_nodes;
        if (limits->max_api_keys)
                s->limits.max_api_keys = limits->max_api_keys;
        if (limits->max_join_tokens)
                s->limits.max_join_tokens = limits->max_join_tokens;
        if (limits->max_models)
                s->limits.max_models = limits->max_models;
        if (limits->max_deployments)
                s->limits.max_deployments = limits->max_deployments;
        if (limits->busy_timeout_ms) {
                s->limits.busy_timeout_ms = limits->busy_timeout_ms;
                (void) sqlite3_busy_timeout(s->db, (int) MIN(limits->busy_timeout_ms, (unsigned) INT_MAX));
        }
}

void store_set_now(Store *s, uint64_t usec) {
        if (s)
                s->now = usec;
}

uint64_t store_now(Store *s) {
        return s && s->now ? s->now : time_real_usec();
}
