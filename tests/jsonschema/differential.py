#!/usr/bin/python3
"""differential.py: checks jsonschema-check's valid/invalid verdicts against Debian's python3-jsonschema.

Usage: differential.py PATH/TO/jsonschema-check [--seed N] [--per-schema N] [--schemas DIR]

For every schema in tests/jsonschema/schemas/ it generates instances with a fixed-seed generator
(instances built from the schema, then mutated, plus random junk), writes them to a temporary
directory, runs jsonschema-check once per batch, and compares each verdict with
jsonschema.Draft202012Validator. Exits 1 on any disagreement (showing the first few), 2 on a
broken setup, 0 otherwise.

The oracle is Debian's python3-jsonschema: run under another python3 (meson may find a pyenv one),
the script re-executes itself with /usr/bin/python3 when that exists.

The oracle's "pattern" keyword is made ECMA-262-like, as common/jsonschema.c documents: "$" matches
only at the very end (Python's also matches before a final newline) and \\d, \\w, \\s are ASCII.
"""

import argparse
import copy
import json
import os
import random
import re
import subprocess
import sys
import tempfile

DEBIAN_PYTHON = "/usr/bin/python3"
if os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON) and os.access(DEBIAN_PYTHON, os.X_OK):
    os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON, os.path.abspath(__file__), *sys.argv[1:]])

import jsonschema  # noqa: E402  (after the re-exec on purpose)
from importlib import metadata  # noqa: E402
from jsonschema import Draft202012Validator  # noqa: E402
from jsonschema.exceptions import ValidationError  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 400
SHOW = 5

# ---- the oracle ----------------------------------------------------------------------------------


def ecma_pattern(pattern):
    # The test schemas only use "$" as an end anchor, never escaped or inside a class.
    return re.compile(pattern.replace("$", r"\Z"), re.ASCII)


def pattern_keyword(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not ecma_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


Oracle = jsonschema.validators.extend(Draft202012Validator, {"pattern": pattern_keyword})


# ---- the generator -------------------------------------------------------------------------------

CHARS = ["a", "b", "x", "z", "A", "0", "7", "-", "_", ".", " ", "\n", "\t", '"', "\\", "/",
         "é", "中", "😀", "٣"]
STRINGS = ["", "a", "ab", "abc", "abcd", "abcdef", "x", "xyz", "hello", "heartbeat", "token", "bye",
           "private", "public", "aws", "gcp", "red", "é", "éa", "éab", "中文", "😀", "a\n", "abc\n",
           "12", "1234", "12345", "٣٣", "a-b", "a_b-c", "-a", "node-1", "Node", "n1", "x-y",
           "head", "email", "iban", "sensitive", "normal", "llama-3.1", "Llama", "1.3", "info"]
NUMBERS = [0, 1, -1, 2, 3, 5, 6, 7, 9, 10, 11, 15, 20, 21, 100, 101, 65535, 65536, -5, -6,
           0.0, 1.0, 2.5, -1.5, -1.4999, 2.4999, 0.1, 0.3, 0.5, 0.7, 1.5, 7.5, 10.5, 99.9, 1e-9,
           1e15, 1e20, 1000000000000, 1000000000500, 1000000001000, 2.0, -0.0, 12.5, 97.5]


class Generator:
    def __init__(self, rng, root, keys):
        self.rng = rng
        self.root = root
        self.keys = keys

    def junk(self, depth=2):
        r = self.rng
        kind = r.randrange(7 if depth > 0 else 5)
        if kind == 0:
            return None
        if kind == 1:
            return r.random() < 0.5
        if kind == 2:
            return r.choice(NUMBERS)
        if kind == 3:
            return r.choice([r.randint(-100, 100), round(r.uniform(-100, 100), r.randrange(4))])
        if kind == 4:
            return self.string(0, 6)
        if kind == 5:
            return [self.junk(depth - 1) for _ in range(r.randrange(4))]
        return {r.choice(self.keys): self.junk(depth - 1) for _ in range(r.randrange(4))}

    def string(self, lo, hi):
        r = self.rng
        if r.random() < 0.6:
            return r.choice(STRINGS)
        return "".join(r.choice(CHARS) for _ in range(r.randint(lo, hi)))

    def resolve(self, ref):
        node = self.root
        for token in ref.lstrip("#").split("/")[1:]:
            node = node[token.replace("~1", "/").replace("~0", "~")]
        return node

    def merged(self, schema, extra):
        """schema with a subschema's keywords folded in (enough to generate from)."""
        if not isinstance(extra, dict):
            return schema
        out = dict(schema)
        for k, v in extra.items():
            if k == "properties" and "properties" in out:
                out["properties"] = {**out["properties"], **v}
            elif k == "required" and "required" in out:
                out["required"] = sorted(set(out["required"]) | set(v))
            else:
                out[k] = v
        return out

    def flatten(self, s, hops=0):
        r = self.rng
        if not isinstance(s, dict) or hops > 8:
            return s
        s = dict(s)
        if "$ref" in s:
            target = self.flatten(self.resolve(s.pop("$ref")), hops + 1)
            s = self.merged(target, s) if isinstance(target, dict) else s
        for key in ("allOf",):
            for sub in s.pop(key, []):
                s = self.merged(s, self.flatten(sub, hops + 1))
        for key in ("oneOf", "anyOf"):
            if key in s:
                branches = s.pop(key)
                if r.random() < 0.9:
                    s = self.merged(s, self.flatten(r.choice(branches), hops + 1))
        if "if" in s:
            cond = s.pop("if")
            pick = s.pop("then", None) if r.random() < 0.5 else s.pop("else", None)
            s.pop("then", None), s.pop("else", None)
            if r.random() < 0.5:
                s = self.merged(s, self.flatten(cond, hops + 1))
            s = self.merged(s, self.flatten(pick, hops + 1))
        return s

    def gen(self, schema, depth=0):
        r = self.rng
        if depth > 5 or schema is True or schema is False or r.random() < 0.015:
            return self.junk(1 if depth > 5 else 2)
        s = self.flatten(schema)
        if not isinstance(s, dict):
            return self.junk()
        if "const" in s and r.random() < 0.95:
            return copy.deepcopy(s["const"])
        if "enum" in s and r.random() < 0.95:
            return copy.deepcopy(r.choice(s["enum"])) if s["enum"] else self.junk()
        types = s.get("type")
        if isinstance(types, str):
            types = [types]
        if not types:
            types = [t for t, keys in (("object", ("properties", "required", "patternProperties",
                                                   "additionalProperties", "minProperties")),
                                       ("array", ("items", "prefixItems", "minItems", "maxItems", "uniqueItems")),
                                       ("string", ("pattern", "minLength", "maxLength")),
                                       ("number", ("minimum", "maximum", "exclusiveMinimum",
                                                   "exclusiveMaximum", "multipleOf")))
                     if any(k in s for k in keys)] or ["junk"]
        t = r.choice(types)
        if t == "object":
            return self.gen_object(s, depth)
        if t == "array":
            return self.gen_array(s, depth)
        if t == "string":
            return self.gen_string(s)
        if t in ("number", "integer"):
            return self.gen_number(s, t == "integer")
        if t == "boolean":
            return r.random() < 0.5
        if t == "null":
            return None
        return self.junk()

    def gen_string(self, s):
        r = self.rng
        lo, hi = s.get("minLength", 0), s.get("maxLength", 8)
        if r.random() < 0.9:
            fits = [x for x in STRINGS if lo <= len(x) <= hi and
                    ("pattern" not in s or ecma_pattern(s["pattern"]).search(x))]
            if fits:
                return r.choice(fits)
        return self.string(max(0, lo - 1), min(hi + 1, 8))

    def gen_number(self, s, integer):
        r = self.rng
        if r.random() < 0.85:
            lo = max(s.get("minimum", -50), s.get("exclusiveMinimum", -51) + 0.25)
            hi = min(s.get("maximum", 50), s.get("exclusiveMaximum", 51) - 0.25)
            m = s.get("multipleOf", 1 if integer else None)
            if lo <= hi and m is None:
                return round(r.uniform(lo, hi), r.randrange(4))
            if lo <= hi and -(-lo // m) <= hi // m:
                return r.randint(int(-(-lo // m)), int(hi // m)) * m
        picks = list(NUMBERS)
        for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if k in s:
                b = s[k]
                picks += [b, b + 1, b - 1, b + 0.5, b - 0.5, float(b)]
        if "multipleOf" in s:
            m = s["multipleOf"]
            picks += [m * r.randint(-4, 40) for _ in range(6)] + [m * 1.5, m + 1]
        x = r.choice(picks)
        if integer and r.random() < 0.7 and isinstance(x, float) and x.is_integer():
            x = int(x)
        return x

    def gen_object(self, s, depth):
        r = self.rng
        props = s.get("properties", {})
        required = set(s.get("required", []))
        out = {}
        for name, sub in props.items():
            if r.random() < (0.95 if name in required else 0.5):
                out[name] = self.gen(sub, depth + 1)
        for pattern, sub in s.get("patternProperties", {}).items():
            if r.random() < 0.4:
                name = {"^x-": "x-" + self.string(0, 2), "^n[0-9]": "n" + str(r.randrange(20))}.get(
                    pattern, r.choice(["id", "uid", "idx", "x-id"]))
                out[name] = self.gen(sub, depth + 1)
        if r.random() < (0.03 if s.get("additionalProperties", True) is False else 0.2):
            out[r.choice(self.keys)] = self.gen(s.get("additionalProperties", True), depth + 1)
        return out

    def gen_array(self, s, depth):
        r = self.rng
        prefix = s.get("prefixItems", [])
        lo, hi = s.get("minItems", 0), s.get("maxItems", 4)
        n = r.randint(lo, min(hi, 4)) if r.random() < 0.8 else r.randint(max(0, lo - 1), min(hi + 1, 6))
        items = s.get("items", True)
        out = [self.gen(prefix[i] if i < len(prefix) else items, depth + 1) for i in range(n)]
        if out and r.random() < 0.1:
            out.append(copy.deepcopy(r.choice(out)))  # a duplicate, for uniqueItems
        return out

    def mutate(self, value):
        """Replaces, removes or adds one random part of value."""
        r = self.rng
        spots = []

        def walk(v, parent, key):
            spots.append((v, parent, key))
            if isinstance(v, dict):
                for k, c in v.items():
                    walk(c, v, k)
            elif isinstance(v, list):
                for i, c in enumerate(v):
                    walk(c, v, i)

        walk(value, None, None)
        v, parent, key = r.choice(spots)
        action = r.randrange(4)
        if parent is None:
            return self.junk()
        if action == 0:
            parent[key] = self.junk()
        elif action == 1 and isinstance(parent, dict):
            del parent[key]
        elif action == 2 and isinstance(v, dict):
            v[r.choice(self.keys)] = self.junk(1)
        elif action == 3 and isinstance(v, list):
            v.append(copy.deepcopy(v[0]) if v and r.random() < 0.5 else self.junk(1))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            parent[key] = r.choice([v + 1, v - 1, v + 0.5, -v, float(v), str(v)])
        elif isinstance(v, str):
            parent[key] = r.choice([v + "x", v[:-1], v.upper(), v + "\n", ""])
        else:
            parent[key] = self.junk()
        return value

    def instance(self):
        r = self.rng
        roll = r.random()
        if roll < 0.15:
            return self.junk(3)
        value = self.gen(self.root)
        if roll < 0.55:
            value = self.mutate(value)
        return value


def property_names(schema, out):
    if isinstance(schema, dict):
        for k, v in schema.items():
            if k in ("properties", "$defs"):
                out.update(v.keys())
            property_names(v, out)
    elif isinstance(schema, list):
        for v in schema:
            property_names(v, out)
    return out


# ---- running ---------------------------------------------------------------------------------------


def run_checker(checker, schema_path, paths):
    proc = subprocess.run([checker, schema_path, *paths], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"differential.py: {checker} exited {proc.returncode}: {proc.stderr.strip()}")
    lines = proc.stdout.splitlines()
    if len(lines) != len(paths):
        sys.exit(f"differential.py: {checker} printed {len(lines)} lines for {len(paths)} instances")
    return lines


def check_schema(checker, schema_path, count, rng, tmp):
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    Oracle.check_schema(schema)
    oracle = Oracle(schema, format_checker=None)
    keys = sorted(property_names(schema, {"type", "zone", "listn_api", "extra", "x-q", "n5", "id", "a b"}))
    gen = Generator(rng, schema, keys)
    name = os.path.basename(schema_path)
    instances, paths = [], []
    for i in range(count):
        value = gen.instance()
        path = os.path.join(tmp, f"{name[:-5]}-{i}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(value, f, ensure_ascii=rng.random() < 0.5)
        instances.append(value)
        paths.append(path)
    verdicts = []
    for start in range(0, count, BATCH):
        verdicts += run_checker(checker, schema_path, paths[start:start + BATCH])

    disagreements, n_valid = [], 0
    for value, verdict in zip(instances, verdicts):
        expected = oracle.is_valid(value)
        n_valid += expected
        if verdict != "valid" and (not verdict.startswith("invalid: ") or len(verdict) == len("invalid: ")):
            disagreements.append((name, value, verdict, "a line 'valid' or 'invalid: <message>'"))
        elif (verdict == "valid") != expected:
            why = "valid" if expected else "invalid: " + next(oracle.iter_errors(value)).message
            disagreements.append((name, value, verdict, why))
    return n_valid, disagreements


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checker", help="path to the jsonschema-check binary")
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument("--per-schema", type=int, default=400)
    parser.add_argument("--schemas", default=os.path.join(HERE, "schemas"))
    args = parser.parse_args()

    if not os.access(args.checker, os.X_OK):
        sys.exit(f"differential.py: {args.checker} is not an executable")
    schemas = sorted(os.path.join(args.schemas, f) for f in os.listdir(args.schemas) if f.endswith(".json"))
    if not schemas:
        sys.exit(f"differential.py: no schemas in {args.schemas}")

    rng = random.Random(args.seed)
    total, disagreements, lopsided = 0, [], []
    with tempfile.TemporaryDirectory(prefix="sluice-differential-") as tmp:
        for path in schemas:
            n_valid, bad = check_schema(args.checker, path, args.per_schema, rng, tmp)
            total += args.per_schema
            disagreements += bad
            name = os.path.basename(path)
            print(f"{name:20} {args.per_schema:5} instances, {n_valid:4} valid, "
                  f"{args.per_schema - n_valid:4} invalid, {len(bad)} disagreements")
            # A generator that only ever makes one kind of instance would test little.
            if min(n_valid, args.per_schema - n_valid) < args.per_schema // 20:
                lopsided.append(name)

    for name, value, got, expected in disagreements[:SHOW]:
        print(f"\nDISAGREEMENT in {name}\n  instance: {json.dumps(value, ensure_ascii=False)}\n"
              f"  jsonschema-check: {got}\n  python jsonschema: {expected}")
    if lopsided:
        print(f"\nFAIL: fewer than 5% valid or invalid instances for {', '.join(lopsided)}")
    print(f"\n{total} instances, {len(schemas)} schemas, {len(disagreements)} disagreements (seed {args.seed}; "
          f"oracle: python-jsonschema {metadata.version('jsonschema')} under {sys.executable})")
    return 1 if disagreements or lopsided else 0


if __name__ == "__main__":
    sys.exit(main())
