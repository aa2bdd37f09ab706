/* cli-policy.h: sluice policy ...: the classifier and rule sets from the command line. */
#pragma once

#include "cli.h"

/* sluice policy (scan | check-rules | default-rules | eval) ... */
int cli_policy(const CliGlobals *g, int argc, char **argv);
/* sluice policy eval CORPUS.jsonl: per-detector precision, recall and F2 over a labeled corpus
 * (tests/data/pii/README.md), with --min-recall/--min-precision gates for CI. */
int cli_policy_eval(const CliGlobals *g, int argc, char **argv);
