"""test_permissions.py: the permission matrix of docs/API.md, walked against a real controller.

Every route in the controller's route table (`sluice-controller --print-routes`) must have a row in
the matrix, and every row must have a route. So an endpoint added without a row fails here, and so
does a row left behind for a removed endpoint. Each row is one test case. The case checks the row
against the route table's `allowed` roles. It then makes the request as each of the seven callers
(admin, developer and auditor keys, a node's client certificate, an expired key, a revoked key, no
credentials) and compares the outcome with the cell: `allow` (authenticated and authorised: any
status but 401/403), `401` or `403`. A refusal must also give the expected reason: an expired key
is refused because it expired, not because it is unknown. A case reports all the cells of its row
that differ at once.

No cell can harm another. POSTs send an empty JSON object, which every handler refuses with 400.
DELETE and revoke routes act on a throwaway target made for each request. The keys and the
certificate that the callers use are never targets.

Run: SLUICE_BUILD_DIR=build /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e/test_permissions.py
"""

import itertools
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import controller  # noqa: E402,F401 (pytest fixture)

API_MD = harness.SOURCE_ROOT / "docs" / "API.md"
COLUMNS = ("admin", "developer", "auditor", "agent cert", "expired key", "revoked key", "none")
CELLS = ("allow", "401", "403")
ROUTE_CELL = re.compile(r"^`(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/\S*)`$")
BODY_METHODS = ("POST", "PUT", "PATCH")


# --- the two sides: the matrix in docs/API.md and the controller's route table ---

def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse_matrix(text, where="docs/API.md"):
    """The table under the "Permission matrix" heading as {(method, path): {column: cell}}, and
    a list of problems, each naming its line."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(r"^#+\s+Permission matrix\s*$", line)), None)
    if start is None:
        return {}, [f"{where}: no \"Permission matrix\" heading"]
    table = []
    for no, line in enumerate(lines[start + 1:], start + 2):
        if line.startswith("#") or (table and not line.lstrip().startswith("|")):
            break
        if line.lstrip().startswith("|"):
            table.append((no, line))
    if len(table) < 3:
        return {}, [f"{where}:{start + 1}: no table with rows under the \"Permission matrix\" heading"]
    header_no, header = table[0]
    if _cells(header) != ["route", *COLUMNS]:
        return {}, [f"{where}:{header_no}: the matrix header must be | route | {' | '.join(COLUMNS)} |, "
                    f"not {header.strip()}"]
    rows, problems = {}, []
    for no, line in table[2:]:
        cells = _cells(line)
        m = ROUTE_CELL.match(cells[0])
        if not m or len(cells) != len(COLUMNS) + 1:
            problems.append(f"{where}:{no}: expected | `METHOD /path` | and {len(COLUMNS)} cells, got {line.strip()}")
            continue
        bad = [c for c in cells[1:] if c not in CELLS]
        if bad:
            problems.append(f"{where}:{no}: cells must be one of {', '.join(CELLS)}, not {', '.join(bad)}")
            continue
        route = (m.group(1), m.group(2))
        if route in rows:
            problems.append(f"{where}:{no}: a second row for {route[0]} {route[1]}")
            continue
        rows[route] = dict(zip(COLUMNS, cells[1:]))
    return rows, problems


def read_routes(program):
    """The route table of sluice-controller as {(method, path): {"allowed": [...], ...}}."""
    out = subprocess.run([str(program), "--print-routes"], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    return {(r["method"], r["path"]): r for r in json.loads(out)}


def _routes_at_collection():
    """The route table if the controller is built; else {} (the routes fixture then fails each case,
    naming the missing binary)."""
    try:
        return read_routes(harness.build_dir() / "controller" / "sluice-controller")
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}


try:
    MATRIX, MATRIX_PROBLEMS = parse_matrix(API_MD.read_text(), "docs/API.md")
except FileNotFoundError:
    MATRIX, MATRIX_PROBLEMS = {}, [f"{API_MD} does not exist"]
# one case per route that either side names: the matrix's order, then routes it lacks
CASES = list(MATRIX) + [r for r in _routes_at_collection() if r not in MATRIX]


def expected_row(allowed):
    """The cells the route table's `allowed` list implies (controller/protocol_http.c: public routes
    skip authentication; otherwise a bad, expired or revoked key or none is 401, and a valid key of
    another role or an agent certificate is 403)."""
    if "public" in allowed:
        return dict.fromkeys(COLUMNS, "allow")

    def role(who):
        return "allow" if who in allowed else "403"

    return {"admin": role("admin"), "developer": role("developer"), "auditor": role("auditor"),
            "agent cert": role("agent"), "expired key": "401", "revoked key": "401", "none": "401"}


# --- the callers, and targets that no cell shares ---

@dataclass
class Caller:
    headers: dict = field(default_factory=dict)
    cert: tuple = None
    refusal: str = ""  # what the error message of a 401/403 must contain for this caller


@pytest.fixture(scope="module")
def routes():
    return read_routes(harness.binary("controller/sluice-controller"))


@pytest.fixture(scope="module")
def callers(controller, tmp_path_factory):
    """One caller per matrix column. The expired and revoked keys have role admin, so if a check
    were missing they would be let in everywhere."""
    def bearer(secret):
        return {"Authorization": f"Bearer {secret}"}

    expired = controller.create_key("perm-expired", "admin", ttl="1s")
    expires_by = time.monotonic() + 1.0  # the controller starts the second before create_key returns
    revoked = controller.request("POST", "/api/v1/keys", json={"name": "perm-revoked", "role": "admin"})
    assert revoked.status_code == 201, revoked.text
    r = controller.request("DELETE", f"/api/v1/keys/{revoked.json()['id']}")
    assert r.status_code == 200, r.text
    cert = controller.enroll_node("perm-agent", tmp_path_factory.mktemp("perm-agent"))
    role_refusal = "may not call"
    callers = {
        "admin": Caller(bearer(controller.create_key("perm-admin", "admin")), refusal=role_refusal),
        "developer": Caller(bearer(controller.create_key("perm-developer", "developer")), refusal=role_refusal),
        "auditor": Caller(bearer(controller.create_key("perm-auditor", "auditor")), refusal=role_refusal),
        "agent cert": Caller(cert=cert, refusal="agent certificate"),
        "expired key": Caller(bearer(expired), refusal="expired at"),
        "revoked key": Caller(bearer(revoked.json()["key"]), refusal="revoked at"),
        "none": Caller(refusal="no API key"),
    }
    time.sleep(max(0.0, expires_by + 0.2 - time.monotonic()))
    return callers


class Targets:
    """Fills a route's {param}s. A route that changes its target gets a throwaway target made for
    each request. Any other parameter gets a well-formed value that names nothing, and a handler
    that is reached answers it with 404."""

    ABSENT = {("/v1/jobs/{id}", "id"): "job-" + "0" * 24, ("/api/v1/deployments/{id}", "id"): "0" * 16}

    def __init__(self, controller, workdir):
        self.controller, self.workdir, self.n = controller, workdir, itertools.count(1)

    def throwaway_key(self):
        r = self.controller.request("POST", "/api/v1/keys",
                                    json={"name": f"perm-throwaway-{next(self.n)}", "role": "developer"})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def throwaway_node(self):
        name = f"perm-throwaway-{next(self.n)}"
        self.controller.enroll_node(name, self.workdir)
        return name

    def value(self, method, pattern, param):
        if (method, pattern) == ("DELETE", "/api/v1/keys/{id}"):
            return self.throwaway_key()
        if (method, pattern) == ("POST", "/api/v1/nodes/{name}/revoke"):
            return self.throwaway_node()
        return self.ABSENT.get((pattern, param), f"perm-absent-{next(self.n)}")

    def fill(self, method, pattern):
        return re.sub(r"\{(\w+)\}", lambda m: self.value(method, pattern, m.group(1)), pattern)


@pytest.fixture(scope="module")
def targets(controller, tmp_path_factory):
    return Targets(controller, tmp_path_factory.mktemp("perm-targets"))


def call(controller, method, path, caller):
    kwargs = {"json": {}} if method in BODY_METHODS else {}
    return requests.request(method, controller.url + path, headers=caller.headers, cert=caller.cert,
                            verify=str(controller.ca_file), timeout=30, **kwargs)


def outcome(resp):
    return str(resp.status_code) if resp.status_code in (401, 403) else "allow"


def describe(resp):
    try:
        e = resp.json()["error"]
        return f"{resp.status_code} {e.get('code')}: {e.get('message')}"
    except (ValueError, KeyError, TypeError):
        return f"{resp.status_code} {resp.text[:200]!r}"


# --- the tests ---

def test_matrix_is_well_formed():
    assert not MATRIX_PROBLEMS, "\n".join(MATRIX_PROBLEMS)


@pytest.mark.parametrize("route", CASES, ids=[f"{m} {p}" for m, p in CASES])
def test_permission_row(route, routes, callers, targets, controller):
    method, pattern = route
    row, entry = MATRIX.get(route), routes.get(route)
    assert entry is not None, (f"docs/API.md has a matrix row for {method} {pattern}, but the controller has no such "
                               "route (sluice-controller --print-routes)")
    assert row is not None, (f"{method} {pattern} (allowed: {', '.join(entry['allowed'])}) has no row in the "
                             "permission matrix of docs/API.md: add one")
    diffs = []
    for column, want in expected_row(entry["allowed"]).items():
        if row[column] != want:
            diffs.append(f"{column}: the matrix says {row[column]}, the route table "
                         f"(allowed: {', '.join(entry['allowed'])}) means {want}")
    for column in COLUMNS:
        caller = callers[column]
        path = targets.fill(method, pattern)
        resp = call(controller, method, path, caller)
        got = outcome(resp)
        if got != row[column]:
            diffs.append(f"{column}: expected {row[column]}, got {describe(resp)} ({method} {path})")
        elif got != "allow" and caller.refusal not in describe(resp):
            diffs.append(f"{column}: {got} as expected, but the refusal should mention \"{caller.refusal}\": "
                         f"{describe(resp)}")
    assert not diffs, f"{method} {pattern}: {len(diffs)} cell(s) differ:\n  " + "\n  ".join(diffs)
