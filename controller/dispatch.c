/* dispatch.c: routing a generation to an agent and streaming its frames back to the client. */
#include "dispatch.h"

#include <ctype.h>
#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "hashmap.h"
#include "classify.h"
#include "jobs.h"
#include "json.h"
#include "log.h"
#include "store-jobs.h"
#include "store-keys.h"
#include "store-models.h"
#include "timeutil.h"

#define DISPATCH_ATTEMPTS 2 /* the first node, and one retry before the first token */

struct InferRequest {
        Controller *ctl;
        HttpRequest *http;     /* NULL once the client has gone, and for jobs */
        char job_id[STORE_JOB_ID_LEN + 1]; /* set: a job's attempt (jobs.c keeps the outcome) */
        char key_id[STORE_ACTOR_MAX + 1];  /* the caller's API key, for the stream limit */
        char id[HTTP_REQUEST_ID_MAX + 16]; /* the frames' id */
        char response_id[HTTP_REQUEST_ID_MAX + 16]; /* chatcmpl-... / cmpl-... */
        OpenAIKind kind;
        bool stream, include_usage;
        char model[AGENT_MODEL_NAME_MAX];
        uint64_t created;
        /* the routing decision (classify.h), copied: the rule set may be replaced while this runs */
        PolicyClass cls;
        unsigned zones;
        uint32_t spill_queue_depth;
        uint64_t rules_version;   /* of the rule set that classified it */
        char rule[RULES_NAME_MAX + 1];
        char entities[256];    /* "email:1,..." never the text */
        char fail_reason[192]; /* set when the classifier failed closed */
        cJSON *infer;          /* kept for a retry */
        char node[PKI_NODE_NAME_MAX], zone[PKI_ZONE_MAX];
        int attempts;
        bool first_token, finished, failed;
        char finish_reason[16];
        uint32_t prompt_tokens, completion_tokens;
        StrBuf text;           /* the whole answer (non-streaming) */
        StrBuf out;            /* SSE bytes not yet written (streaming) */
        bool done_sent;
};

static Hashmap *requests; /* id -> InferRequest; the service thread only */
static uint64_t counter;

int dispatch_init(Controller *c) {
        (void) c;
        return hashmap_new(NULL, &requests);
}

static void request_free(InferRequest *q) {
        if (!q)
                return;
        cJSON_Delete(q->infer);
        strbuf_done(&q->text);
        strbuf_done(&q->out);
        free(q);
}

void dispatch_done(Controller *c) {
        HashmapIter it = HASHMAP_ITER_INIT;
        void *v;

        (void) c;
        while (requests && hashmap_next(requests, &it, NULL, &v))
                request_free(v);
        requests = hashmap_free(requests);
}

static bool is_job(const InferRequest *q) {
        return q->job_id[0] != '\0';
}

static AgentConn *agent_of(InferRequest *q) {
        return q->node[0] ? inventory_find(q->ctl->inventory, q->node) : NULL;
}

/* The node placement picks for q now (placement.h), or NULL. */
static AgentConn *pick_node(InferRequest *q, const char *exclude) {
        PlacementRequest pr = {
                .zones = q->zones,
                .spill_queue_depth = q->spill_queue_depth,
                .rules_version = q->ctl->rules_version,
                .exclude = exclude,
        };
        InventorySnapshot snap;
        AgentConn *a = NULL;
        int i;

        if (inventory_snapshot(q->ctl->inventory, q->model, &snap) < 0)
                return NULL;
        if ((i = placement_pick(snap.nodes, snap.n, &pr)) >= 0)
                a = snap.conns[i];
        inventory_snapshot_done(&snap);
        return a;
}

static void request_set_class(InferRequest *q, const Classification *cl);

/* A retry after the rule set was replaced: classified again under the rules in force, with the
 * class it had as the floor (so it never goes down, key labels and header included). */
static void reclassify_if_stale(InferRequest *q) {
        Classification cl;

        if (q->rules_version == q->ctl->rules_version)
                return;
        dispatch_classify(q->ctl, q->infer, q->cls, NULL, q->model, &cl);
        request_set_class(q, &cl);
}

/* Sends the infer frame to the node placement picks (not the one that just failed). */
static int send_to_node(InferRequest *q, const char *exclude) {
        AgentConn *a;
        char err[512], *text;

        reclassify_if_stale(q);
        a = pick_node(q, exclude);

        if (!a)
                return -ENODEV;
        if (!placement_is_private(&(PlacementNode){ .zone = a->id.zone }) &&
            (q->cls == POLICY_SENSITIVE || !(q->zones & POLICY_ZONE_PUBLIC))) {
                /* placement cannot pick this; the check stays as the last word before the wire */
                log_error("refusing to send sensitive request %s to %s (%s zone)", q->id, a->id.name, a->id.zone);
                return -ENODEV;
        }
        cJSON_ReplaceItemInObjectCaseSensitive(q->infer, "rules_version", cJSON_CreateNumber((double) q->ctl->rules_version));
        if (frame_check(q->ctl->frames, q->infer, err, sizeof err) < 0) {
                log_error("refusing to send an invalid infer frame: %s", err);
                return -EINVAL;
        }
        text = cJSON_PrintUnformatted(q->infer);
        if (!text || agent_send(a, text) < 0)
                return -ENOBUFS;
        snprintf(q->node, sizeof q->node, "%s", a->id.name);
        snprintf(q->zone, sizeof q->zone, "%s", a->id.zone);
        a->inflight++;
        q->attempts++;
        log_with(LOG_INFO, LOG_FIELDS(LOG_STR("request_id", q->id), LOG_STR("model", q->model), LOG_STR("node", q->node),
                                      LOG_STR("zone", q->zone), LOG_INT("attempt", q->attempts),
                                      LOG_STR("data_class", policy_class_name(q->cls)), LOG_STR("rule", q->rule),
                                      LOG_STR("entities", q->entities), LOG_INT("rules_version", q->ctl->rules_version)),
                 "routed %s to %s (%s zone): %s by rule %s", q->id, q->node, q->zone, policy_class_name(q->cls), q->rule);
        return 0;
}

static void wake_http(InferRequest *q) {
        if (q->http)
                lws_callback_on_writable(q->http->wsi);
}

/* The HTTP status for an agent's error code: the request's own fault is 400 (a client must not
 * retry it), a node that cannot take it now 503, anything else 502. */
static int error_status(const char *code) {
        if (streq(code, "context_length_exceeded") || streq(code, "bad_prompt"))
                return 400;
        if (streq(code, "model_not_loaded") || streq(code, "overloaded") || streq(code, "sensitive_refused") ||
            streq(code, "stale_rules"))
                return 503;
        return 502;
}

/* Ends the generation with an error: before anything was sent it becomes a plain error response;
 * in the middle of a stream, an SSE error event. */
static void fail(InferRequest *q, int status, const char *code, const char *msg) {
        q->failed = q->finished = true;
        if (is_job(q))
                jobs_on_error(q->ctl, q->job_id, code, msg, status != 400);
        else if (q->http && (!q->stream || !q->first_token))
                http_reply_error(q->http, status, NULL, code, "%s", msg);
        else if (q->http) {
                /* built with cJSON: the agent's message is escaped, whatever it holds */
                cJSON *ev = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(ev, "error");
                char *json;
                cJSON_AddStringToObject(e, "message", msg);
                cJSON_AddStringToObject(e, "type", "server_error");
                cJSON_AddStringToObject(e, "code", code);
                json = cJSON_PrintUnformatted(ev);
                cJSON_Delete(ev);
                if (json && strbuf_printf(&q->out, "data: %s\n\n", json) < 0)
                        log_warning("cannot queue the error event of %s", q->id);
                free(json);
        }
        wake_http(q);
}

/* Generations in flight for the API key key_id, jobs not counted. */
static unsigned streams_of(const char *key_id) {
        HashmapIter it = HASHMAP_ITER_INIT;
        unsigned n = 0;
        void *v;

        while (hashmap_next(requests, &it, NULL, &v)) {
                InferRequest *q = v;
                n += !is_job(q) && !q->finished && streq(q->key_id, key_id);
        }
        return n;
}

/* Sets the frame's member name to value, replacing it when present. */
static void frame_set(cJSON *frame, const char *name, cJSON *value) {
        if (cJSON_GetObjectItemCaseSensitive(frame, name))
                cJSON_ReplaceItemInObjectCaseSensitive(frame, name, value);
        else
                cJSON_AddItemToObject(frame, name, value);
}

void dispatch_classify(Controller *c, cJSON *infer, PolicyClass floor, const cJSON *key_labels, const char *model,
                       Classification *ret) {
        static NormText scratch; /* the service thread's; kept between requests */
        ClassifyRequest req = {
                .client_class = floor,
                .key_labels = key_labels,
                .model = model,
                .max_bytes = c->config.classify_max_bytes,
                .budget_usec = (uint64_t) c->config.classify_timeout_ms * 1000,
        };

        if (classify_collect(infer, &req) < 0)
                classify_run(NULL, &req, &scratch, ret); /* texts that cannot be read: fail closed */
        else
                classify_run(c->rules, &req, &scratch, ret);
        if (scratch.cap > (size_t) 1 << 20)
                normtext_done(&scratch); /* do not keep a huge prompt's buffer */
        frame_set(infer, "data_class", cJSON_CreateString(policy_class_name(ret->cls)));
}

/* Copies the decision into q (the rule set may be replaced while q runs). */
static void request_set_class(InferRequest *q, const Classification *cl) {
        q->cls = cl->cls;
        q->zones = cl->zones;
        q->spill_queue_depth = cl->spill_queue_depth;
        q->rules_version = q->ctl->rules_version;
        snprintf(q->rule, sizeof q->rule, "%s", cl->rule_id);
        (void) classify_entities_format(q->ctl->rules, cl, q->entities, sizeof q->entities);
        snprintf(q->fail_reason, sizeof q->fail_reason, "%s", cl->fail_closed ? cl->reason : "");
        frame_set(q->infer, "data_class", cJSON_CreateString(policy_class_name(cl->cls)));
}

static InferRequest *request_new(Controller *c, OpenAIKind kind, const char *model, cJSON *infer, const char *id,
                                 const Classification *cl) {
        InferRequest *q = calloc(1, sizeof *q);

        if (!q) {
                cJSON_Delete(infer);
                return NULL;
        }
        *q = (InferRequest){ .ctl = c, .kind = kind, .infer = infer, .created = time_real_usec() / USEC_PER_SEC };
        request_set_class(q, cl);
        snprintf(q->model, sizeof q->model, "%s", model);
        snprintf(q->id, sizeof q->id, "%s.%llu", id, (unsigned long long) ++counter);
        cJSON_AddStringToObject(q->infer, "id", q->id);
        frame_set(q->infer, "rules_version", cJSON_CreateNumber(0));
        return q;
}

/* Sends q to a node and registers it: 0, or -ENODEV/-ENOMEM with q freed. */
static int request_launch(InferRequest *q) {
        int k = send_to_node(q, NULL);

        if (k >= 0 && hashmap_put(requests, q->id, q, NULL) >= 0)
                return 0;
        if (k >= 0 && agent_of(q))
                agent_of(q)->inflight--;
        request_free(q);
        return k < 0 ? k : -ENOMEM;
}

/* X-Sluice-Data-Class: the class the client asks for at least. 0, or -EINVAL with a 400 sent. */
static int client_class(HttpRequest *r, PolicyClass *ret) {
        char v[32];
        int n = lws_hdr_custom_copy(r->wsi, v, sizeof v, "x-sluice-data-class:", 20), k;

        *ret = POLICY_PUBLIC;
        if (n < 0 && lws_hdr_custom_length(r->wsi, "x-sluice-data-class:", 20) <= 0)
                return 0; /* absent */
        for (char *p = v; n > 0 && *p; p++)
                *p = (char) tolower((unsigned char) *p);
        if (n < 0 || (k = policy_class_from_name(v)) < 0) {
                http_reply_error(r, 400, NULL, "invalid_data_class",
                                 "X-Sluice-Data-Class: must be public, internal or sensitive");
                return -EINVAL;
        }
        *ret = (PolicyClass) k;
        return 0;
}

int dispatch_classify_http(HttpRequest *r, cJSON *infer, const char *model, Classification *ret) {
        _cleanup_json_ cJSON *labels = NULL;
        PolicyClass floor;

        if (client_class(r, &floor) < 0)
                return -EINVAL;
        if (r->key && r->key->labels_json)
                labels = cJSON_Parse(r->key->labels_json); /* NULL (no labels) when unreadable: labels only raise */
        dispatch_classify(r->ctl, infer, floor, labels, model, ret);
        return 0;
}

void dispatch_explain_unplaced(const Classification *cl, const char *model, char *buf, size_t size) {
        if (cl->zones & POLICY_ZONE_PUBLIC)
                snprintf(buf, size, "no ready node serves \"%.128s\" right now", model);
        else if (cl->fail_closed)
                snprintf(buf, size,
                         "this request is treated as sensitive because the classifier failed closed (%s), and no "
                         "private node serves \"%.128s\" right now; it is never sent to the public zone",
                         cl->reason, model);
        else
                snprintf(buf, size,
                         "this request is classified %s (rule %s) and may only be served in the private zone, but "
                         "no private node serves \"%.128s\" right now; it is never sent to the public zone",
                         policy_class_name(cl->cls), cl->rule_id, model);
}

void dispatch_start(HttpRequest *r, OpenAIRequest *oa) {
        InferRequest *q;
        const char *key_id = r->key ? r->key->id : "";
        unsigned limit = r->ctl->config.max_streams_per_key;
        Classification cl;

        if (!store_model_deployed(r->ctl->store, oa->model)) {
                http_reply_error(r, 404, "invalid_request_error", "model_not_found",
                                 "the model \"%.128s\" does not exist (GET /v1/models lists them)", oa->model);
                cJSON_Delete(oa->infer);
                return;
        }
        if (streams_of(key_id) >= limit) {
                http_reply_error(r, 429, NULL, "too_many_streams",
                                 "this API key already has %u generations in flight (limit max_streams_per_key = %u)",
                                 limit, limit);
                cJSON_Delete(oa->infer);
                return;
        }
        char model[AGENT_MODEL_NAME_MAX];
        snprintf(model, sizeof model, "%s", oa->model); /* oa->model may live in the infer frame q frees */
        if (dispatch_classify_http(r, oa->infer, model, &cl) < 0) {
                cJSON_Delete(oa->infer);
                return;
        }
        snprintf(r->data_class, sizeof r->data_class, "%s", policy_class_name(cl.cls));
        snprintf(r->rule, sizeof r->rule, "%s", cl.rule_id);
        q = request_new(r->ctl, oa->kind, model, oa->infer, r->request_id, &cl);
        if (!q) {
                http_reply_error(r, 500, NULL, "internal", "out of memory");
                return;
        }
        q->http = r;
        q->stream = oa->stream;
        q->include_usage = oa->include_usage || oa->kind == OPENAI_GENERATE;
        snprintf(q->key_id, sizeof q->key_id, "%s", key_id);
        snprintf(q->response_id, sizeof q->response_id, "%s-%s",
                 oa->kind == OPENAI_CHAT ? "chatcmpl" : oa->kind == OPENAI_GENERATE ? "gen" : "cmpl", r->request_id);
        if (request_launch(q) < 0) {
                char why[512];
                dispatch_explain_unplaced(&cl, model, why, sizeof why);
                log_with(LOG_NOTICE, LOG_FIELDS(LOG_STR("model", model), LOG_STR("data_class", policy_class_name(cl.cls)),
                                                LOG_STR("rule", cl.rule_id)),
                         "no node for %s: %s", r->request_id, why);
                http_reply_error(r, 503, "server_error",
                                 cl.zones & POLICY_ZONE_PUBLIC ? "no_capacity" : "no_private_capacity", "%s", why);
                return;
        }
        r->infer = q;
}

int dispatch_start_job(Controller *c, const char *job_id, const char *model, cJSON *infer, char *ret_node,
                       size_t node_size, char *ret_zone, size_t zone_size) {
        const cJSON *stored = cJSON_GetObjectItemCaseSensitive(infer, "data_class");
        int floor = cJSON_IsString(stored) ? policy_class_from_name(stored->valuestring) : -EINVAL;
        Classification cl;
        InferRequest *q;
        int k;

        /* the class given at submission (text, header, key labels) is the floor; the text is classified
         * again under the rules in force now. A job stored without a class is sensitive (fail closed).
         * A sensitive job with no private node for it waits without being scanned again on every
         * pass of the queue pump. */
        if ((floor < 0 || floor == POLICY_SENSITIVE) && !inventory_has_model_in(c->inventory, model, true)) {
                cJSON_Delete(infer);
                return -ENODEV;
        }
        dispatch_classify(c, infer, floor < 0 ? POLICY_SENSITIVE : (PolicyClass) floor, NULL, model, &cl);
        q = request_new(c, OPENAI_GENERATE, model, infer, job_id, &cl);
        if (!q)
                return -ENOMEM;
        snprintf(q->job_id, sizeof q->job_id, "%s", job_id);
        snprintf(q->response_id, sizeof q->response_id, "%s", job_id);
        k = request_launch(q);
        if (k < 0)
                return k;
        snprintf(ret_node, node_size, "%s", q->node);
        snprintf(ret_zone, zone_size, "%s", q->zone);
        return 0;
}

static void send_cancel(InferRequest *q, AgentConn *a) {
        cJSON *cancel = cJSON_CreateObject();
        char *text;

        cJSON_AddStringToObject(cancel, "type", "cancel");
        cJSON_AddStringToObject(cancel, "id", q->id);
        text = cJSON_PrintUnformatted(cancel);
        cJSON_Delete(cancel);
        if (text)
                (void) agent_send(a, text);
        a->inflight--;
}

void dispatch_cancel_job(Controller *c, const char *job_id) {
        HashmapIter it = HASHMAP_ITER_INIT;
        void *v;

        (void) c;
        while (hashmap_next(requests, &it, NULL, &v)) {
                InferRequest *q = v;
                AgentConn *a;
                if (!streq(q->job_id, job_id))
                        continue;
                if (!q->finished && (a = agent_of(q)))
                        send_cancel(q, a);
                hashmap_remove(requests, q->id);
                request_free(q);
                return;
        }
}

static void on_token(InferRequest *q, const cJSON *f) {
        const char *text = cJSON_GetObjectItemCaseSensitive(f, "text")->valuestring;
        char *chunk = NULL;

        if (!q->first_token && q->stream && q->kind == OPENAI_CHAT &&
            openai_stream_chunk(q->kind, q->response_id, q->model, q->created, NULL, NULL, &chunk) >= 0) {
                (void) strbuf_puts(&q->out, chunk); /* the role-only first chunk, as OpenAI sends it */
                chunk = mfree(chunk);
        }
        q->first_token = true;
        if (!q->stream)
                (void) strbuf_puts(&q->text, text);
        else if (openai_stream_chunk(q->kind, q->response_id, q->model, q->created, text, NULL, &chunk) >= 0)
                (void) strbuf_puts(&q->out, chunk);
        free(chunk);
        wake_http(q);
}

static void finish_stream(InferRequest *q) {
        char *chunk = NULL;

        /* the native stream ends with one chunk holding the finish reason and the usage */
        if (q->kind != OPENAI_GENERATE &&
            openai_stream_chunk(q->kind, q->response_id, q->model, q->created, NULL, q->finish_reason, &chunk) >= 0)
                (void) strbuf_puts(&q->out, chunk);
        chunk = mfree(chunk);
        if (q->include_usage &&
            openai_stream_usage(q->kind, q->response_id, q->model, q->created, q->finish_reason, q->prompt_tokens,
                                q->completion_tokens, &chunk) >= 0)
                (void) strbuf_puts(&q->out, chunk);
        free(chunk);
        (void) strbuf_puts(&q->out, "data: [DONE]\n\n");
}

static void on_done(InferRequest *q, const cJSON *f) {
        const cJSON *usage = cJSON_GetObjectItemCaseSensitive(f, "usage");
        const char *reason = cJSON_GetObjectItemCaseSensitive(f, "finish_reason")->valuestring;

        snprintf(q->finish_reason, sizeof q->finish_reason, "%s", streq(reason, "cancelled") ? "stop" : reason);
        q->prompt_tokens = (uint32_t) cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens")->valuedouble;
        q->completion_tokens = (uint32_t) cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens")->valuedouble;
        q->finished = true;
        q->first_token = true;
        if (is_job(q))
                jobs_on_done(q->ctl, q->job_id, strbuf_str(&q->text), q->finish_reason, q->prompt_tokens,
                             q->completion_tokens);
        if (!q->http)
                return;
        if (q->stream)
                finish_stream(q);
        else {
                snprintf(q->http->zone, sizeof q->http->zone, "%s", q->zone);
                http_reply_json(q->http, 200,
                                openai_response(q->kind, q->response_id, q->model, q->created, strbuf_str(&q->text),
                                                q->finish_reason, q->prompt_tokens, q->completion_tokens));
        }
        wake_http(q);
}

/* An agent's own check refused q (defence in depth, docs/ROUTING.md): a public node that finds it
 * sensitive makes it sensitive here too, and a node with stale rules is passed over; either way it
 * goes to another eligible node before its first token. Whether it was sent again. */
static bool reroute_refused(InferRequest *q, AgentConn *a, const char *code) {
        char why[512];

        if (streq(code, "stale_rules"))
                return !q->first_token && q->attempts < DISPATCH_ATTEMPTS && send_to_node(q, a->id.name) >= 0;
        if (!streq(code, "sensitive_refused") || q->first_token)
                return false;
        /* narrowing to private happens once, so it does not spend the retry of a lost node */
        q->cls = POLICY_SENSITIVE;
        q->zones = POLICY_ZONE_PRIVATE;
        snprintf(q->rule, sizeof q->rule, "%s", "agent_refused");
        frame_set(q->infer, "data_class", cJSON_CreateString(policy_class_name(q->cls)));
        if (send_to_node(q, a->id.name) >= 0)
                return true;
        snprintf(why, sizeof why,
                 "a public node found this request sensitive, and no private node serves \"%.128s\" right now; it "
                 "is never sent to the public zone",
                 q->model);
        fail(q, 503, "no_private_capacity", why);
        return true;
}

void dispatch_on_frame(Controller *c, AgentConn *a, const char *type, const cJSON *f) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(f, "id");
        InferRequest *q = cJSON_IsString(id) ? hashmap_get(requests, id->valuestring) : NULL;

        (void) c;
        if (!q && streq(type, "error") && !cJSON_IsString(id)) {
                /* not about a request: e.g. bad_rules, which keeps the node out of public placement */
                log_with(LOG_WARNING, LOG_FIELDS(LOG_STR("node", a->id.name),
                                                 LOG_STR("code", cJSON_GetObjectItemCaseSensitive(f, "code")->valuestring)),
                         "%s reports an error: %s", a->id.name,
                         cJSON_GetObjectItemCaseSensitive(f, "message")->valuestring);
                return;
        }
        if (!q || !streq(q->node, a->id.name) || q->finished)
                return; /* a late frame of a cancelled or retried generation */
        const char *prev_id = log_set_request_id(q->id);
        if (streq(type, "token"))
                on_token(q, f);
        else if (streq(type, "done")) {
                a->inflight--;
                on_done(q, f);
        } else if (streq(type, "error")) {
                const char *msg = cJSON_GetObjectItemCaseSensitive(f, "message")->valuestring;
                const char *code = cJSON_GetObjectItemCaseSensitive(f, "code")->valuestring;
                a->inflight--;
                log_warning("%s failed on %s: %s", q->id, a->id.name, msg);
                if (!reroute_refused(q, a, code))
                        fail(q, error_status(code), code, msg);
        }
        if (q->finished && !q->http) {
                hashmap_remove(requests, q->id);
                request_free(q);
        }
        log_set_request_id(prev_id);
}

void dispatch_agent_gone(Controller *c, AgentConn *a) {
        HashmapIter it = HASHMAP_ITER_INIT;
        void *v;

        (void) c;
        while (requests && hashmap_next(requests, &it, NULL, &v)) {
                InferRequest *q = v;
                if (q->finished || !streq(q->node, a->id.name))
                        continue;
                if (!is_job(q) && !q->first_token && q->attempts < DISPATCH_ATTEMPTS && send_to_node(q, a->id.name) >= 0)
                        continue; /* retried on another node */
                fail(q, 502, "node_lost", "the node serving this request went away");
                if (!q->http) {
                        hashmap_remove(requests, q->id);
                        request_free(q);
                }
        }
}

void dispatch_http_closed(HttpRequest *r) {
        InferRequest *q = r->infer;
        AgentConn *a;

        if (!q)
                return;
        r->infer = NULL;
        q->http = NULL;
        if (!q->finished && (a = agent_of(q))) {
                send_cancel(q, a);
                log_with(LOG_INFO, LOG_FIELDS(LOG_STR("request_id", q->id), LOG_STR("node", q->node)),
                         "client went away: cancelled %s on %s", q->id, q->node);
        }
        hashmap_remove(requests, q->id);
        request_free(q);
}

static int write_stream_headers(HttpRequest *r, InferRequest *q) {
        uint8_t buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
        static const char no_cache[] = "no-cache", close_[] = "close";

        if (lws_add_http_common_headers(r->wsi, 200, "text/event-stream", LWS_ILLEGAL_HTTP_CONTENT_LEN, &p, end) ||
            lws_add_http_header_by_name(r->wsi, (const uint8_t *) "cache-control:", (const uint8_t *) no_cache,
                                        (int) strlen(no_cache), &p, end) ||
            lws_add_http_header_by_name(r->wsi, (const uint8_t *) "connection:", (const uint8_t *) close_,
                                        (int) strlen(close_), &p, end) ||
            lws_add_http_header_by_name(r->wsi, (const uint8_t *) "x-request-id:", (const uint8_t *) r->request_id,
                                        (int) strlen(r->request_id), &p, end) ||
            lws_add_http_header_by_name(r->wsi, (const uint8_t *) "x-sluice-zone:", (const uint8_t *) q->zone,
                                        (int) strlen(q->zone), &p, end) ||
            lws_finalize_write_http_header(r->wsi, start, &p, end))
                return -1;
        snprintf(r->zone, sizeof r->zone, "%s", q->zone);
        r->headers_sent = true;
        r->streaming = true;
        r->status = 200;
        return 0;
}

int dispatch_http_writeable(HttpRequest *r) {
        InferRequest *q = r->infer;

        if (!q->stream || !q->first_token)
                return 0; /* nothing yet, or a plain response the normal path writes */
        if (!r->headers_sent) {
                if (write_stream_headers(r, q) < 0)
                        return -1;
                lws_callback_on_writable(r->wsi);
                return 0;
        }
        if (q->out.len > 0) {
                size_t n = q->out.len;
                _cleanup_free_ uint8_t *buf = malloc(LWS_PRE + n);
                if (!buf)
                        return -1;
                memcpy(buf + LWS_PRE, strbuf_str(&q->out), n);
                strbuf_truncate(&q->out, 0);
                if (lws_write(r->wsi, buf + LWS_PRE, n, q->finished ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int) n)
                        return -1;
                if (q->finished)
                        return -1; /* the stream is complete: close, as the response has no length */
        }
        return 0;
}
