/* classify.c: see classify.h. Every way out of classify_run() that is not a clean scan goes through
 * fail_closed(), whose reason names the budget or the error and never the text. */
#include "classify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "detect.h"
#include "macro.h"
#include "timeutil.h"

#define CLASSIFY_CLOCK_STRIDE (64 * 1024) /* the clock is read each time a scan advances this far */

static int collect_one(ClassifyRequest *req, const cJSON *s) {
        if (!cJSON_IsString(s))
                return -EINVAL;
        if (req->n_texts == CLASSIFY_TEXTS_MAX)
                return -E2BIG;
        req->texts[req->n_texts] = s->valuestring;
        req->lens[req->n_texts++] = strlen(s->valuestring);
        return 0;
}

int classify_collect(const cJSON *frame, ClassifyRequest *req) {
        const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(frame, "prompt"),
                    *messages = cJSON_GetObjectItemCaseSensitive(frame, "messages"), *m;
        int r;

        req->n_texts = 0;
        if (prompt && (r = collect_one(req, prompt)) < 0)
                return r;
        if (messages) {
                if (!cJSON_IsArray(messages))
                        return -EINVAL;
                cJSON_ArrayForEach(m, messages)
                        if ((r = collect_one(req, cJSON_GetObjectItemCaseSensitive(m, "content"))) < 0)
                                return r;
        }
        /* the stop strings travel to the node too */
        const cJSON *stop = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(frame, "params"), "stop");
        if (stop && !cJSON_IsArray(stop))
                return -EINVAL;
        cJSON_ArrayForEach(m, stop)
                if ((r = collect_one(req, m)) < 0)
                        return r;
        return 0;
}

static void fail_closed(Classification *c, const char *fmt, ...) _printf_(2, 3);
static void fail_closed(Classification *c, const char *fmt, ...) {
        va_list ap;

        c->cls = POLICY_SENSITIVE;
        c->zones = POLICY_ZONE_PRIVATE;
        c->rule_id = "fail_closed";
        c->fail_closed = true;
        va_start(ap, fmt);
        (void) vsnprintf(c->reason, sizeof c->reason, fmt, ap);
        va_end(ap);
}

typedef struct Scan {
        uint32_t *counts;
        uint64_t deadline_usec; /* 0: none */
        size_t checked;         /* offset of the last clock reading in the text */
} Scan;

static bool past(uint64_t deadline_usec) {
        return deadline_usec > 0 && time_mono_usec() > deadline_usec;
}

static int on_hit(const DetectHit *hit, void *userdata) {
        Scan *s = userdata;

        if (s->counts[hit->type] < UINT32_MAX)
                s->counts[hit->type]++;
        if (hit->end - s->checked >= CLASSIFY_CLOCK_STRIDE) {
                if (past(s->deadline_usec))
                        return -ETIME;
                s->checked = hit->end;
        }
        return 0;
}

/* Normalises one text into nt and counts its entities. 0, -ETIME past the deadline, or the error. */
static int scan_text(const RuleSet *rs, NormText *nt, const char *text, size_t len, Scan *s) {
        int r;

        r = normalize_text(nt, text, len);
        if (r < 0)
                return r;
        if (past(s->deadline_usec))
                return -ETIME;
        s->checked = 0;
        r = detect_scan(nt->buf, nt->len, on_hit, s);
        if (r < 0)
                return r;
        if (past(s->deadline_usec))
                return -ETIME;
        return rules_scan_custom_until(rs, nt->buf, nt->len, s->counts, s->deadline_usec);
}

static void fail_scan(Classification *c, const ClassifyRequest *req, int r) {
        switch (r) {
        case -ETIME:
                fail_closed(c, "the scan passed the classifier's time budget of %" PRIu64 " us", req->budget_usec);
                break;
        case -ENOMEM:
                fail_closed(c, "the classifier ran out of memory");
                break;
        case -ERANGE:
                fail_closed(c, "a keyword list or regex of the rule set hit PCRE2's match limit");
                break;
        case -E2BIG:
                fail_closed(c, "a text is too large for the normaliser");
                break;
        default:
                fail_closed(c, "classifier error: %s", strerror(-r));
        }
}

static size_t total_bytes(const ClassifyRequest *req) {
        size_t total = 0;

        for (size_t i = 0; i < MIN(req->n_texts, (size_t) CLASSIFY_TEXTS_MAX); i++)
                if (!size_add(total, req->lens[i], &total))
                        return SIZE_MAX;
        return total;
}

void classify_run(const RuleSet *rs, const ClassifyRequest *req, NormText *scratch, Classification *ret) {
        Classification c = {
                .n_entities = rules_entity_count(rs),
                .spill_queue_depth = rules_spill_queue_depth(rs),
        };
        NormText local = {};
        NormText *nt = scratch ?: &local;
        Scan s = { .counts = c.counts };
        size_t total = total_bytes(req);
        int r = 0;

        if (req->budget_usec > 0)
                s.deadline_usec = time_mono_usec() + req->budget_usec;
        if (!rs)
                fail_closed(&c, "no rule set to classify with");
        else if (req->n_texts > CLASSIFY_TEXTS_MAX)
                fail_closed(&c, "more than %d texts", CLASSIFY_TEXTS_MAX);
        else if (req->max_bytes > 0 && total > req->max_bytes)
                fail_closed(&c, "the texts are %zu bytes, over the classifier's size budget of %zu bytes", total,
                            req->max_bytes);
        for (size_t i = 0; !c.fail_closed && i < req->n_texts; i++) {
                r = past(s.deadline_usec) ? -ETIME : scan_text(rs, nt, req->texts[i], req->lens[i], &s);
                if (r < 0)
                        fail_scan(&c, req, r);
                else
                        c.bytes += req->lens[i];
        }
        normtext_done(&local);
        if (!c.fail_closed) {
                RulesInput in = { .counts = c.counts, .key_labels = req->key_labels, .model = req->model };
                RulesVerdict v;

                rules_evaluate(rs, &in, &v);
                c.cls = v.cls;
                c.rule_id = v.rule_id ?: "default";
                c.zones = v.zones;
                if ((unsigned) req->client_class < _POLICY_CLASS_MAX && req->client_class > c.cls) {
                        c.cls = req->client_class;
                        c.rule_id = "client_header";
                        c.zones = rules_zones(rs, c.cls);
                }
        }
        *ret = c;
}

char *classify_entities_format(const RuleSet *rs, const Classification *c, char *buf, size_t size) {
        size_t len = 0;

        if (size == 0)
                return buf;
        buf[0] = '\0';
        for (size_t i = 0; i < c->n_entities && i < RULES_ENTITIES_MAX; i++) {
                const char *name = rules_entity_name(rs, i);
                int n;

                if (c->counts[i] == 0 || !name)
                        continue;
                n = snprintf(buf + len, size - len, "%s%s:%" PRIu32, len ? "," : "", name, c->counts[i]);
                if (n < 0 || (size_t) n >= size - len) { /* does not fit: stop before it, never half of it */
                        buf[len] = '\0';
                        break;
                }
                len += (size_t) n;
        }
        return buf;
}

int classify_entities_to_json(const RuleSet *rs, const Classification *c, cJSON *obj, const char *name) {
        cJSON *o = cJSON_CreateObject();

        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_entities && i < RULES_ENTITIES_MAX; i++) {
                const char *entity = rules_entity_name(rs, i);

                if (c->counts[i] > 0 && entity && !cJSON_AddNumberToObject(o, entity, (double) c->counts[i])) {
                        cJSON_Delete(o);
                        return -ENOMEM;
                }
        }
        if (!cJSON_AddItemToObject(obj, name, o)) {
                cJSON_Delete(o);
                return -ENOMEM;
        }
        return 0;
}
