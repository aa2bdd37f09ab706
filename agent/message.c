/* message.c: the frames the agent sends (hello, heartbeat, rules.ack), built as cJSON trees. */
#include "message.h"

#include <errno.h>
#include <string.h>

#include "json.h"
#include "macro.h"

static double clamp_int(uint64_t v) {
        return (double) MIN(v, MESSAGE_INT_MAX);
}

int message_hello_new(const MessageHello *h, cJSON **ret) {
        _cleanup_json_ cJSON *f = cJSON_CreateObject();
        cJSON *models, *cap;

        if (!f || !cJSON_AddStringToObject(f, "type", "hello") ||
            !cJSON_AddStringToObject(f, "agent_version", h->agent_version) ||
            !cJSON_AddStringToObject(f, "backend", h->backend))
                return -ENOMEM;
        if (h->max_sequences > 0) {
                cap = cJSON_AddObjectToObject(f, "capacity");
                if (!cap || !cJSON_AddNumberToObject(cap, "max_sequences", h->max_sequences))
                        return -ENOMEM;
        }
        models = cJSON_AddArrayToObject(f, "models");
        if (!models)
                return -ENOMEM;
        for (size_t i = 0; h->stats && i < h->stats->n_models; i++)
                if (streq(h->stats->models[i].state, "ready"))
                        cJSON_AddItemToArray(models, cJSON_CreateString(h->stats->models[i].name));
        if (h->have_rules_version && !cJSON_AddNumberToObject(f, "rules_version", clamp_int(h->rules_version)))
                return -ENOMEM;
        *ret = TAKE_PTR(f);
        return 0;
}

int message_heartbeat_new(const MessageHeartbeat *h, cJSON **ret) {
        _cleanup_json_ cJSON *f = cJSON_CreateObject();
        const Telemetry *t = h->telemetry;

        if (!f || !cJSON_AddStringToObject(f, "type", "heartbeat") ||
            !cJSON_AddNumberToObject(f, "seq", clamp_int(h->seq)))
                return -ENOMEM;
        if (t && (t->cores > 0 || t->have_load)) {
                cJSON *cpu = cJSON_AddObjectToObject(f, "cpu");

                if (!cpu || (t->cores > 0 && !cJSON_AddNumberToObject(cpu, "cores", t->cores)) ||
                    (t->have_load && !cJSON_AddNumberToObject(cpu, "load1", t->load1)))
                        return -ENOMEM;
        }
        if (t && t->have_memory) {
                cJSON *mem = cJSON_AddObjectToObject(f, "memory");

                if (!mem || !cJSON_AddNumberToObject(mem, "total_bytes", clamp_int(t->memory_total)) ||
                    !cJSON_AddNumberToObject(mem, "used_bytes", clamp_int(t->memory_used)))
                        return -ENOMEM;
        }
        const RunnerStats *st = h->stats;
        cJSON *models = cJSON_AddArrayToObject(f, "models");
        if (!cJSON_AddStringToObject(f, "backend", h->backend) || !models ||
            !cJSON_AddNumberToObject(f, "queue_depth", st ? st->queue_depth : 0) ||
            !cJSON_AddNumberToObject(f, "active_sequences", st ? st->active_sequences : 0) ||
            !cJSON_AddNumberToObject(f, "tokens_per_second", st ? st->tokens_per_second : 0))
                return -ENOMEM;
        for (size_t i = 0; st && i < st->n_models; i++) {
                const char *state = st->models[i].state;
                if (!streq(state, "loading") && !streq(state, "ready") && !streq(state, "failed"))
                        continue; /* unloaded ones are not reported */
                cJSON *m = cJSON_CreateObject();
                cJSON_AddStringToObject(m, "name", st->models[i].name);
                cJSON_AddStringToObject(m, "state", state);
                cJSON_AddItemToArray(models, m);
        }
        *ret = TAKE_PTR(f);
        return 0;
}

int message_rules_ack_new(uint64_t version, cJSON **ret) {
        _cleanup_json_ cJSON *f = cJSON_CreateObject();

        if (!f || !cJSON_AddStringToObject(f, "type", "rules.ack") ||
            !cJSON_AddNumberToObject(f, "version", clamp_int(version)))
                return -ENOMEM;
        *ret = TAKE_PTR(f);
        return 0;
}

const char *message_frame_id(const cJSON *frame) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(frame, "id");
        size_t n;

        if (!cJSON_IsString(id))
                return NULL;
        n = strlen(id->valuestring);
        if (n < 1 || n > 128 ||
            strspn(id->valuestring, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") != n)
                return NULL;
        return id->valuestring;
}
