#!/usr/bin/env python3
"""check-examples.py: every schema in schemas/ is a valid 2020-12 schema, and its examples in
schemas/examples/<name>/ validate (valid-*.json) or fail (invalid-*.json) under both
python3-jsonschema and sluice's own C validator (jsonschema-check). Prints TAP.

Usage: check-examples.py SCHEMA_ROOT JSONSCHEMA_CHECK
"""
import glob
import json
import os
import subprocess
import sys

if os.path.exists("/usr/bin/python3") and sys.executable != "/usr/bin/python3" and not os.environ.get("SLUICE_REEXEC"):
    os.environ["SLUICE_REEXEC"] = "1"  # Debian's python3-jsonschema is the reference
    os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)

import jsonschema  # noqa: E402


def main():
    root, checker = sys.argv[1], sys.argv[2]
    results = []
    schemas = sorted(glob.glob(os.path.join(root, "**", "*.schema.json"), recursive=True))
    for path in schemas:
        name = os.path.relpath(path, root)[: -len(".schema.json")]
        with open(path) as f:
            schema = json.load(f)
        problems = []
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            problems.append("not a valid 2020-12 schema: %s" % e.message)
        examples = sorted(glob.glob(os.path.join(root, "examples", name, "*.json")))
        if not examples:
            problems.append("no examples in schemas/examples/%s/" % name)
        validator = jsonschema.Draft202012Validator(schema)
        if examples:
            out = subprocess.run([checker, path] + examples, capture_output=True, text=True).stdout.splitlines()
            for ex, c_verdict in zip(examples, out):
                want_valid = os.path.basename(ex).startswith("valid-")
                with open(ex) as f:
                    py_valid = validator.is_valid(json.load(f))
                c_valid = c_verdict == "valid"
                if py_valid != want_valid:
                    problems.append("%s: python-jsonschema says %s" % (os.path.basename(ex), "valid" if py_valid else "invalid"))
                if c_valid != want_valid:
                    problems.append("%s: sluice says %s" % (os.path.basename(ex), c_verdict))
            if len(out) != len(examples):
                problems.append("jsonschema-check answered %d of %d examples" % (len(out), len(examples)))
        results.append((name, len(examples), problems))
    print("1..%d" % len(results))
    failed = 0
    for i, (name, n, problems) in enumerate(results, 1):
        for p in problems:
            print("# %s: %s" % (name, p))
        print("%s %d - %s (%d examples)" % ("not ok" if problems else "ok", i, name, n))
        failed += bool(problems)
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
