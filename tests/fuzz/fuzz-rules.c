/* fuzz-rules.c: rules_parse on arbitrary bytes; a document that parses is then evaluated with
 * counts drawn from the input, and the guarantees are checked: sensitive is served privately only,
 * the verdict's zones are the class's zones, a named rule exists, and the custom scan of the input
 * itself fails only with the errors rules.h allows. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint32_t counts[RULES_ENTITIES_MAX];
        RuleSet *rs = NULL;
        char err[512];
        uint64_t seed = 0x9E3779B97F4A7C15ULL ^ size;
        int r;

        if (rules_parse((const char *) data, size, &rs, err, sizeof err) < 0) {
                if (strnlen(err, sizeof err) == 0 || strnlen(err, sizeof err) == sizeof err)
                        abort(); /* every refusal says why */
                return 0;
        }
        if (rules_zones(rs, POLICY_SENSITIVE) != POLICY_ZONE_PRIVATE || rules_entity_count(rs) > RULES_ENTITIES_MAX ||
            rules_spill_queue_depth(rs) > 4096)
                abort();
        for (size_t i = 0; i < size; i++)
                seed = (seed ^ data[i]) * 0x100000001B3ULL;
        for (int round = 0; round < 16; round++) {
                RulesInput in = { .counts = counts, .model = round & 1 ? "m1" : NULL };
                RulesVerdict v;

                for (size_t i = 0; i < RULES_ENTITIES_MAX; i++) {
                        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                        counts[i] = (seed >> 60) < 12 ? 0 : (uint32_t) (seed >> 33) % (round + 2);
                }
                rules_evaluate(rs, &in, &v);
                if ((unsigned) v.cls >= _POLICY_CLASS_MAX || v.zones != rules_zones(rs, v.cls) || v.zones == 0 ||
                    (v.cls == POLICY_SENSITIVE && v.zones != POLICY_ZONE_PRIVATE) || (v.cls != POLICY_PUBLIC && !v.rule_id))
                        abort();
        }
        memset(counts, 0, sizeof counts);
        r = rules_scan_custom(rs, (const char *) data, size, counts);
        if (r < 0 && r != -ERANGE && r != -ENOMEM)
                abort();
        rules_free(rs);
        return 0;
}
