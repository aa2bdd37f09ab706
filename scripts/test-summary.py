#!/usr/bin/env python3
"""test-summary.py: sums meson test logs into one line "N passed, N failed[, N skipped]".

TAP tests count one per test case (ok / not ok lines); other tests count one each. A TAP test that
died without reporting a failing case counts one extra failure, so a crash is never hidden.
Usage: test-summary.py TESTLOG.json...   (exit status 1 when anything failed)
"""
import json
import re
import sys

PYTEST = re.compile(r"^=*\s*((?:\d+ (?:passed|failed|skipped|errors?|xfailed|xpassed|warnings?)(?:, )?)+) in [\d.]+s", re.M)
PYTEST_PART = re.compile(r"(\d+) (passed|failed|skipped|errors?)")
TAP = re.compile(r"^(not ok|ok)\b[^#]*(#\s*(SKIP|TODO)\b)?", re.I)


def count(entry):
    passed = failed = skipped = 0
    out = entry.get("stdout") or ""
    is_tap = re.search(r"^1\.\.\d+\s*$", out, re.M) is not None  # a TAP plan line
    lines = [m for m in (TAP.match(l) for l in out.splitlines()) if m] if is_tap else []
    ok = entry.get("result") in ("OK", "EXPECTEDFAIL")
    if entry.get("result") == "SKIP":
        return 0, 0, 1
    pytest = PYTEST.findall(out) if not is_tap else []
    if pytest:
        # pytest's closing line: "3 passed, 1 failed, 2 skipped in 1.2s"
        counts = dict((word, int(n)) for n, word in PYTEST_PART.findall(pytest[-1]))
        passed, failed = counts.get("passed", 0), counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
        skipped = counts.get("skipped", 0)
        if not ok and failed == 0:
            failed = 1
        return passed, failed, skipped
    if lines:
        for m in lines:
            if m.group(3):
                skipped += 1
            elif m.group(1).lower() == "ok":
                passed += 1
            else:
                failed += 1
        if not ok and failed == 0:
            failed += 1
    elif ok:
        passed = 1
    else:
        failed = 1
    return passed, failed, skipped


def main():
    total = [0, 0, 0]
    for path in sys.argv[1:]:
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    # a damaged log (two runs writing it at once) must not pass: count it as a failure
                    print("test-summary: %s: a line is not JSON" % path, file=sys.stderr)
                    total[1] += 1
                    continue
                for i, n in enumerate(count(entry)):
                    total[i] += n
    line = "%d passed, %d failed" % (total[0], total[1])
    if total[2]:
        line += ", %d skipped" % total[2]
    print(line)
    return 1 if total[1] else 0


if __name__ == "__main__":
    sys.exit(main())
