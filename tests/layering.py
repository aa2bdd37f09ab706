#!/usr/bin/env python3
"""layering.py: checks the layering rules of docs/ARCHITECTURE.md, printing TAP.

1. Source check: every #include in a layer's .c/.h/.cu files is allowed for that layer (no
   network or daemon headers in common/ and engine/, no engine headers in the controller, ...).
2. Binary check: the undefined symbols of each layer's static library (nm -u) name no function
   of a library the layer may not use (lws_*, SSL_*, curl_*, sqlite3_*, socket(), ...).
3. The checker itself must catch a planted violation (so this test can fail).

Usage: layering.py SOURCE_ROOT BUILD_ROOT
"""
import os
import re
import subprocess
import sys
import tempfile

NETWORK_HEADERS = [r"libwebsockets\.h", r"curl/", r"sys/socket\.h", r"netinet/", r"arpa/", r"netdb\.h",
                   r"hiredis/"]
DAEMON_HEADERS = [r"sqlite3\.h", r"systemd/sd-daemon\.h", r"systemd/sd-bus\.h", r"systemd/sd-event\.h"]

# layer -> (forbidden system-header patterns, layers whose headers it may include)
RULES = {
    "common": (NETWORK_HEADERS + DAEMON_HEADERS, {"common"}),
    "engine": (NETWORK_HEADERS + DAEMON_HEADERS + [r"openssl/", r"cjson/", r"systemd/"], {"common", "engine", "kernels"}),
    "kernels": (NETWORK_HEADERS + DAEMON_HEADERS + [r"openssl/", r"cjson/", r"systemd/"], {"kernels"}),
    "policy": ([r"libwebsockets\.h", r"curl/", r"sqlite3\.h", r"sys/socket\.h"], {"common", "policy"}),
    "fetch": ([r"libwebsockets\.h", r"sqlite3\.h"], {"common", "fetch"}),
    "controller": ([], {"common", "policy", "controller"}),
    "agent": ([], {"common", "policy", "engine", "kernels", "fetch", "agent"}),
    "cli": ([], {"common", "policy", "engine", "kernels", "fetch", "cli"}),
}

# static library (file name) -> forbidden undefined-symbol patterns
FORBIDDEN_SYMBOLS = {
    "libsluice-common.a": [r"^lws_", r"^SSL_", r"^EVP_", r"^curl_", r"^sqlite3_", r"^cJSON_", r"^(socket|connect|bind|listen|accept4?)$"],
    "libsluice-engine.a": [r"^lws_", r"^SSL_", r"^EVP_", r"^curl_", r"^sqlite3_", r"^cJSON_", r"^sd_", r"^(socket|connect|bind|listen|accept4?)$"],
    "libsluice-kernels.a": [r"^lws_", r"^SSL_", r"^curl_", r"^sqlite3_", r"^cJSON_", r"^sd_", r"^(socket|connect|bind|listen|accept4?)$"],
    "libsluice-policy.a": [r"^lws_", r"^curl_", r"^sqlite3_", r"^(socket|connect|bind|listen|accept4?)$"],
}

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def sources(root, layer):
    for dirpath, _, files in os.walk(os.path.join(root, layer)):
        for f in files:
            if f.endswith((".c", ".h", ".cu", ".cuh")):
                yield os.path.join(dirpath, f)


def header_owners(root):
    """basename -> set of layers that define a header of that name."""
    owners = {}
    for layer in RULES:
        for path in sources(root, layer):
            if path.endswith((".h", ".cuh")):
                owners.setdefault(os.path.basename(path), set()).add(layer)
    return owners


def check_sources(root):
    problems = []
    owners = header_owners(root)
    for name, layers in owners.items():
        if len(layers) > 1:
            problems.append("header %s exists in several layers: %s" % (name, ", ".join(sorted(layers))))
    for layer, (forbidden, allowed) in RULES.items():
        for path in sources(root, layer):
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            for kind, inc in INCLUDE_RE.findall(text):
                rel = os.path.relpath(path, root)
                base = os.path.basename(inc)
                if base in owners and not (owners[base] & allowed):
                    problems.append("%s includes %s of layer %s" % (rel, inc, "/".join(sorted(owners[base]))))
                for pat in forbidden:
                    if re.match(pat, inc):
                        problems.append("%s includes <%s>, which layer %s may not use" % (rel, inc, layer))
    return problems


def check_symbols(build):
    problems, checked = [], []
    for dirpath, _, files in os.walk(build):
        for f in files:
            if f not in FORBIDDEN_SYMBOLS:
                continue
            path = os.path.join(dirpath, f)
            out = subprocess.run(["nm", "-u", "--no-sort", path], capture_output=True, text=True, check=True).stdout
            checked.append(f)
            for line in out.splitlines():
                sym = line.split()[-1] if line.split() else ""
                for pat in FORBIDDEN_SYMBOLS[f]:
                    if re.match(pat, sym):
                        problems.append("%s uses %s" % (f, sym))
    return problems, checked


def planted_violation_is_caught():
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "engine"))
        with open(os.path.join(tmp, "engine", "bad.c"), "w") as f:
            f.write("#include <libwebsockets.h>\n")
        return any("libwebsockets.h" in p for p in check_sources(tmp))


def main():
    root, build = sys.argv[1], sys.argv[2]
    results = []
    src_problems = check_sources(root)
    results.append(("sources follow the layering rules", src_problems))
    sym_problems, checked = check_symbols(build)
    results.append(("static libraries (%s) use no forbidden symbols" % ", ".join(sorted(checked)) if checked
                    else "static libraries: none built yet", sym_problems))
    results.append(("checker catches a planted violation", [] if planted_violation_is_caught() else ["not caught"]))
    print("1..%d" % len(results))
    failed = 0
    for i, (name, problems) in enumerate(results, 1):
        for p in problems:
            print("# " + p)
        print("%s %d - %s" % ("not ok" if problems else "ok", i, name))
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
