/* cli-admin-nodes.c: `sluice admin node list|revoke`: the enrolled nodes. */
#include "cli-admin.h"

static int node_list(AdminCmd *cmd) {
        static const AdminColumn cols[] = {
                { "NAME", "name" },
                { "ZONE", "zone" },
                { "STATE", "state" },
                { "CONNECTED", "connected", ADMIN_BOOL },
                { "ENROLLED", "enrolled_at", ADMIN_TIME },
                { "LAST-SEEN", "last_seen_at", ADMIN_TIME },
                { "CERT-EXPIRES", "cert_not_after", ADMIN_TIME },
                { "ID", "id" },
        };
        return admin_list(cmd, cols, ELEMENTSOF(cols), "nodes");
}

static int node_revoke(AdminCmd *cmd) {
        _cleanup_(http_response_done) HttpResponse resp = {};
        int r;

        r = admin_fetch(cmd, &resp);
        if (r != ADMIN_PARSED)
                return r;
        return admin_print_message(cmd, &resp, "revoked node %s: its certificate is no longer accepted", cmd->args[0]);
}

const AdminGroup admin_group_nodes = {
        "node",
        "nodes (GPU machines running sluice-agent)",
        (const AdminVerb[]){
                { "list", "GET", "/api/v1/nodes", "", "list nodes",
                  "Lists the enrolled nodes, their zone and state, and whether their agent is\n"
                  "connected now.",
                  NULL, node_list },
                { "revoke", "POST", "/api/v1/nodes/{name}/revoke", "", "revoke a node's certificate, disconnect it",
                  "Revokes the certificate of node NAME and disconnects its agent; it must enroll\n"
                  "again with a new join token.",
                  NULL, node_revoke },
                {},
        },
};
