#!/bin/sh
# run-fuzz.sh FUZZER SEED_DIR WORK_DIR: runs libFuzzer for $SLUICE_FUZZ_SECONDS (default 30) seconds,
# new inputs going to WORK_DIR (the committed seeds are only read). A crash fails the test and
# leaves the reproducer in WORK_DIR/crashes/. libFuzzer's own exit code for a crash is 77, which
# meson reads as "skipped": -error_exitcode and -timeout_exitcode make every finding a failure.
set -eu
fuzzer=$1 seeds=$2 work=$3
seconds=${SLUICE_FUZZ_SECONDS:-30}
mkdir -p "$work/corpus" "$work/crashes"
exec "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -error_exitcode=1 -timeout_exitcode=1 \
        -artifact_prefix="$work/crashes/" "$work/corpus" "$seeds"
