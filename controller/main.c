/* main.c: sluice-controller: options, configuration, data directory, then the event loop. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "controller.h"
#include "dispatch.h"
#include "frame.h"
#include "inventory.h"
#include "log.h"
#include "ruleset.h"
#include "server.h"

static void help(void) {
        printf("Usage: sluice-controller [--config FILE] [--data-dir DIR] [--print-routes]\n\n"
               "The sluice control plane: the OpenAI-compatible API, the admin API, and the agents' endpoint.\n\n"
               "  -c, --config FILE   configuration (schema: schemas/config/controller.schema.json)\n"
               "  -d, --data-dir DIR  overrides data_dir (CA, certificates, database, bootstrap key)\n"
               "      --print-routes  print the route table with the roles allowed on each, and exit\n"
               "  -h, --help          this help\n"
               "      --version       the version\n");
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' }, { "data-dir", required_argument, NULL, 'd' },
                { "print-routes", no_argument, NULL, 'R' }, { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' }, {},
        };
        const char *config_path = NULL, *data_dir = NULL;
        Controller c = {};
        char err[1024] = "";
        int opt, r;

        log_set_ident("sluice-controller");
        while ((opt = getopt_long(argc, argv, "c:d:h", options, NULL)) >= 0)
                switch (opt) {
                case 'c': config_path = optarg; break;
                case 'd': data_dir = optarg; break;
                case 'R': return api_print_routes() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
                case 'h': help(); return EXIT_SUCCESS;
                case 'V': printf("sluice-controller %s\n", SLUICE_VERSION); return EXIT_SUCCESS;
                default: return 2;
                }
        if (optind != argc) {
                fprintf(stderr, "sluice-controller: unexpected argument \"%s\" (see --help)\n", argv[optind]);
                return 2;
        }
        r = controller_config_load(config_path, &c.config, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "sluice-controller: %s\n", err);
                return 1;
        }
        if (data_dir) {
                free(c.config.data_dir);
                c.config.data_dir = strdup(data_dir);
        }
        log_set_max_level(c.config.log_level);
        if ((r = controller_datadir_init(&c, err, sizeof err)) < 0 || (r = inventory_new(&c.inventory)) < 0 ||
            (r = frame_validator_new(&c.frames, err, sizeof err)) < 0 || (r = ruleset_load(&c, err, sizeof err)) < 0 ||
            (r = dispatch_init(&c)) < 0 || (r = server_run(&c, err, sizeof err)) < 0)
                log_error_errno(r, "%s", err[0] ? err : "cannot start");
        dispatch_done(&c);
        ruleset_done(&c);
        c.frames = frame_validator_free(c.frames);
        c.inventory = inventory_free(c.inventory);
        controller_datadir_done(&c);
        controller_config_done(&c.config);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
