#!/usr/bin/env python3
"""test-summary.py: sums meson test logs into one line "N passed, N failed[, N skipped]".

TAP tests count one per test case (ok / not ok lines); other tests count one each. A TAP test that
died without reporting a failing case counts one extra failure, so a crash is never hidden.
Usage: test-summary.py TESTLOG.json...   (exit status 1 when anything failed)
"""
import json
import re
import sys

TAP = re.compile(r"^(not ok|ok)\b[^#]*(#\s*(SKIP|TODO)\b)?", re.I)


def count(entry):
    passed = failed = skipped = 0
    out = entry.get("stdout") or ""
    is_tap = re.search(r"^1\.\.\d+\s*$", out, re.M) is not None  # a TAP plan line
    lines = [m for m in (TAP.match(l) for l in out.splitlines()) if m] if is_tap else []
    ok = entry.get("result") in ("OK", "EXPECTEDFAIL")
    if entry.get("result") == "SKIP":
        return 0, 0, 1
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
                if line.strip():
                    for i, n in enumerate(count(json.loads(line))):
                        total[i] += n
    line = "%d passed, %d failed" % (total[0], total[1])
    if total[2]:
        line += ", %d skipped" % total[2]
    print(line)
    return 1 if total[1] else 0


if __name__ == "__main__":
    sys.exit(main())
