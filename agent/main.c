/* main.c: sluice-agent: enrolls the node once, then keeps a mutual-TLS websocket to the controller. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent-config.h"
#include "backoff.h"
#include "conn.h"
#include "runner.h"
#include "enrollment.h"
#include "log.h"
#include "notify.h"
#include "openssl-util.h"

#define EXIT_USAGE 2

static volatile sig_atomic_t stop_requested;
static Conn *volatile running;

static void on_signal(int sig) {
        Conn *c = running;

        (void) sig;
        stop_requested = 1;
        if (c)
                conn_request_stop(c);
}

static void help(FILE *f) {
        fprintf(f, "Usage: sluice-agent --config FILE [--enroll-only]\n\n"
                   "sluice-agent: enrolls this node with the sluice controller (once, with a join token),\n"
                   "then keeps a mutual-TLS websocket to it: hello, heartbeats, rules.\n\n"
                   "Options:\n"
                   "  -c, --config FILE   agent config file (schemas/config/agent.schema.json)\n"
                   "      --enroll-only   enroll if not enrolled yet, then exit\n"
                   "  -h, --help          show this help\n"
                   "      --version       show the version\n\n"
                   "Exit codes: 0 success or clean stop, 1 failure, 2 bad usage.\n");
}

static void sleep_usec(uint64_t usec) {
        uint64_t end = time_mono_usec() + usec;

        /* in short steps: the watchdog keeps being fed and a stop request is seen quickly */
        while (!stop_requested && time_mono_usec() < end) {
                uint64_t left = end - time_mono_usec(), step = MIN(left, 100 * USEC_PER_MSEC);
                struct timespec ts = { .tv_sec = (time_t) (step / USEC_PER_SEC),
                                       .tv_nsec = (long) (step % USEC_PER_SEC) * 1000 };

                (void) nanosleep(&ts, NULL);
                notify_watchdog_kick();
        }
}

static void log_identity(const char *what, const EnrollIdentity *e) {
        char until[TIME_RFC3339_MAX];

        log_with(LOG_NOTICE,
                 LOG_FIELDS(LOG_STR("node", e->id.name), LOG_STR("zone", e->id.zone),
                            LOG_STR("node_id", e->id.node_id),
                            LOG_STR("not_after", time_format_rfc3339((uint64_t) e->not_after * USEC_PER_SEC, until))),
                 "%s as node %s (zone %s, id %s); certificate valid until %s", what, e->id.name, e->id.zone,
                 e->id.node_id, until);
}

/* Makes sure data_dir holds a usable identity, enrolling when it does not. Transient failures are
 * retried with backoff unless once is set. Returns 0 or a negative errno (already logged). */
static int ensure_enrolled(const AgentConfig *cfg, X509 *ca, bool once, EnrollIdentity *ret) {
        EnrollOptions o = {
                .controller_url = cfg->controller_url,
                .ca_file = cfg->ca_file,
                .node_name = cfg->node_name,
                .join_token_file = cfg->join_token_file,
                .data_dir = cfg->data_dir,
                .cancel = &stop_requested,
        };
        char err[1024];
        int r;

        r = enroll_check(&o, ca, ret, err, sizeof err);
        if (r >= 0) {
                log_identity("enrolled", ret);
                return 0;
        }
        if (r == -EPERM || r == -ENOMEM)
                return log_error_errno(r, "%s", err);
        if (r != -ENOENT)
                log_warning("the stored certificate cannot be used (%s); enrolling again", err);

        for (unsigned attempt = 0;; attempt++) {
                uint64_t delay;

                notify_status("enrolling with %s", cfg->controller_url);
                log_info("enrolling node %s with %s", cfg->node_name, cfg->controller_url);
                r = enroll_run(&o, ca, ret, err, sizeof err);
                if (r >= 0)
                        break;
                if (r == -ECANCELED || stop_requested)
                        return log_info("enrollment interrupted"), -ECANCELED;
                if (once || !enroll_error_is_transient(r))
                        return log_error_errno(r, "enrollment failed: %s", err);
                if (backoff_delay_usec(attempt, &delay) < 0)
                        delay = backoff_ceiling_usec(attempt);
                log_warning_errno(r, "enrollment failed: %s; retrying in %.1f s", err, (double) delay / USEC_PER_SEC);
                notify_status("enrollment failed, retrying in %.1f s: %s", (double) delay / USEC_PER_SEC, err);
                sleep_usec(delay);
                if (stop_requested)
                        return log_info("enrollment interrupted"), -ECANCELED;
        }
        log_identity("enrolled", ret);
        return 0;
}

static int run(const AgentConfig *cfg, bool enroll_only) {
        _cleanup_(enroll_identity_done) EnrollIdentity id = {};
        _cleanup_(X509_freep) X509 *ca = NULL;
        _cleanup_(conn_freep) Conn *c = NULL;
        _cleanup_(runner_freep) Runner *runner = NULL;
        ConnOptions o;
        char err[1024];
        sigset_t mask, old;
        int r;

        r = enroll_load_ca(cfg->ca_file, &ca, err, sizeof err);
        if (r < 0)
                return log_error_errno(r, "%s", err);
        r = ensure_enrolled(cfg, ca, enroll_only, &id);
        if (r < 0)
                return r == -ECANCELED ? 0 : r;
        if (enroll_only || stop_requested)
                return 0;
        if (streq(cfg->device, "cuda"))
                log_warning("device \"cuda\": this build has no CUDA backend yet; serving on the CPU");

        o = (ConnOptions){
                .agent_url = cfg->agent_url,
                .ca_file = cfg->ca_file,
                .cert_file = id.cert_path,
                .key_file = id.key_path,
                .node_name = cfg->node_name,
                .backend = "cpu",
                .max_frame_bytes = cfg->max_frame_bytes,
                .max_sequences = cfg->max_sequences,
                .classify_timeout_ms = cfg->classify_timeout_ms,
                .cert_zone = id.id.zone,
        };
        r = conn_new(&o, &c, err, sizeof err);
        if (r < 0)
                return log_error_errno(r, "%s", err);
        RunnerOptions ro = {
                .data_dir = cfg->data_dir,
                .threads = cfg->threads,
                .max_sequences = cfg->max_sequences,
                .zone = id.id.zone,
                .wake = conn_wake,
                .userdata = c,
        };
        r = runner_new(&ro, &runner);
        if (r < 0)
                return log_error_errno(r, "cannot start the engine thread");
        c->runner = runner;
        running = c;
        if (stop_requested)
                conn_request_stop(c);
        r = conn_run(c);
        /* no signal handler may see c once it is freed */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, &old);
        running = NULL;
        sigprocmask(SIG_SETMASK, &old, NULL);
        c->runner = NULL;
        runner = runner_free(runner); /* before the connection: its wake callback points at c */
        log_info("stopped");
        return r;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "enroll-only", no_argument, NULL, 'E' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        _cleanup_(agent_config_done) AgentConfig cfg = {};
        struct sigaction sa = { .sa_handler = on_signal };
        const char *config = NULL;
        bool enroll_only = false;
        char err[1024];
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":c:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        config = optarg;
                        break;
                case 'E':
                        enroll_only = true;
                        break;
                case 'h':
                        help(stdout);
                        return 0;
                case 'V':
                        printf("sluice-agent %s\n", SLUICE_VERSION);
                        return 0;
                case ':':
                        fprintf(stderr, "sluice-agent: option %s needs a value (see --help)\n", argv[optind - 1]);
                        return EXIT_USAGE;
                default:
                        fprintf(stderr, "sluice-agent: unknown option %s (see --help)\n", argv[optind - 1]);
                        return EXIT_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "sluice-agent: unexpected argument \"%s\" (see --help)\n", argv[optind]);
                return EXIT_USAGE;
        }
        if (!config) {
                fprintf(stderr, "sluice-agent: --config FILE is required (see --help)\n");
                return EXIT_USAGE;
        }
        log_set_ident("sluice-agent");
        r = agent_config_load(config, &cfg, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "sluice-agent: %s\n", err);
                return 1;
        }
        log_set_max_level(cfg.log_level);

        sigemptyset(&sa.sa_mask);
        (void) sigaction(SIGTERM, &sa, NULL);
        (void) sigaction(SIGINT, &sa, NULL);
        (void) signal(SIGPIPE, SIG_IGN);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                log_error("cannot initialise libcurl");
                return 1;
        }
        log_info("sluice-agent %s starting: node %s, controller %s", SLUICE_VERSION, cfg.node_name, cfg.agent_url);
        r = run(&cfg, enroll_only);
        curl_global_cleanup();
        return r < 0 ? 1 : 0;
}
