"""test_routing.py: the routing guarantee through the real controller and agents (docs/ROUTING.md):
POST /api/v1/route/explain, X-Sluice-Data-Class, the decision in the log (never the text),
sensitive requests and jobs only on the private node, 503 no_private_capacity once it is gone,
and the classifier's size and time budgets failing closed."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_harness import PRIVATE, PUBLIC, error_of, kill, restart_and_reload, running_cluster  # noqa: E402
from harness import Controller  # noqa: E402

RESIDENT_ID = "110105199003071239"  # GB 11643 check character 9: valid, and fake
SENSITIVE = f"患者身份证号 {RESIDENT_ID}，请安排复诊。"
ORDINARY = "Write a haiku about the sea."


def chat_body(content, model="tiny", max_tokens=2):
    return {"model": model, "max_tokens": max_tokens, "temperature": 0,
            "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": content}]}


def explain(cl, content, headers=None, key=None):
    r = cl.ctl.request("POST", "/api/v1/route/explain", key=key or cl.dev_key, json=chat_body(content),
                       headers=headers or {})
    assert r.status_code == 200, r.text
    assert RESIDENT_ID not in r.text, "explain echoed the matched text"
    return r.json()


def test_explain_routes_and_fails_closed(tmp_path):
    with running_cluster(tmp_path) as cl:
        d = explain(cl, ORDINARY)
        assert (d["class"], d["rule"], d["fail_closed"], d["entities"]) == ("public", "default", False, {}), d
        assert d["zones"] == ["private", "public"] and d["outcome"] == "route", d
        assert d["node"] == PRIVATE, "an idle private node is preferred"
        assert {n["name"] for n in d["eligible_nodes"]} == {PRIVATE, PUBLIC}, d
        assert d["rules_version"] >= 1

        d = explain(cl, SENSITIVE)
        assert d["class"] == "sensitive" and d["entities"] == {"cn_resident_id": 1}, d
        assert d["zones"] == ["private"] and [n["name"] for n in d["eligible_nodes"]] == [PRIVATE], d
        assert d["node"] == PRIVATE and d["rule"] not in ("default", "client_header", "fail_closed"), d
        # obfuscated: full-width digits and a zero-width space inside
        fw = "".join(chr(0xFF10 + int(c)) if c.isdigit() else c for c in RESIDENT_ID[:9]) + "\u200b" + RESIDENT_ID[9:]
        assert explain(cl, f"ID: {fw}")["class"] == "sensitive"

        d = explain(cl, ORDINARY, headers={"X-Sluice-Data-Class": "Sensitive"})
        assert (d["class"], d["rule"], d["zones"]) == ("sensitive", "client_header", ["private"]), d
        # the header raises, never lowers
        assert explain(cl, SENSITIVE, headers={"X-Sluice-Data-Class": "public"})["class"] == "sensitive"
        r = cl.ctl.request("POST", "/api/v1/route/explain", key=cl.dev_key, json=chat_body(ORDINARY),
                           headers={"X-Sluice-Data-Class": "secret"})
        assert r.status_code == 400 and error_of(r)["code"] == "invalid_data_class", r.text
        r = cl.ctl.request("POST", "/v1/chat/completions", key=cl.dev_key, json=chat_body(ORDINARY),
                           headers={"X-Sluice-Data-Class": "top"})
        assert r.status_code == 400 and error_of(r)["code"] == "invalid_data_class", r.text

        # served: the sensitive one on the private node, the decision in the log, never the text
        r = cl.ctl.request("POST", "/v1/chat/completions", key=cl.dev_key, json=chat_body(SENSITIVE),
                           headers={"X-Request-Id": "sens-1"})
        assert r.status_code == 200 and r.headers["x-sluice-zone"] == "private", r.text
        assert cl.routed("sens-1") == [PRIVATE]
        line = next(ln for ln in cl.ctl.log().splitlines() if "routed sens-1." in ln)
        assert '"data_class":"sensitive"' in line and '"entities":"cn_resident_id:1"' in line, line
        assert RESIDENT_ID not in cl.ctl.log(), "the controller logged the prompt's ID"

        # the private node goes away: ordinary requests spill to public, sensitive ones fail closed
        kill(cl.agents[PRIVATE])
        cl.wait_node(PRIVATE, lambda n: not n["connected"], "disconnected")
        r = cl.ctl.request("POST", "/v1/chat/completions", key=cl.dev_key, json=chat_body(ORDINARY))
        assert r.status_code == 200 and r.headers["x-sluice-zone"] == "public", r.text
        for headers, content in (({}, SENSITIVE), ({"X-Sluice-Data-Class": "sensitive"}, ORDINARY)):
            r = cl.ctl.request("POST", "/v1/chat/completions", key=cl.dev_key, json=chat_body(content),
                               headers=headers)
            assert r.status_code == 503, r.text
            e = error_of(r)
            assert e["code"] == "no_private_capacity" and "private" in e["message"], e
            assert RESIDENT_ID not in r.text
        d = explain(cl, SENSITIVE)
        assert d["outcome"] == "no_private_capacity" and d["node"] is None and d["eligible_nodes"] == [], d

        # a sensitive job waits for a private node instead of running on the public one
        r = cl.ctl.request("POST", "/v1/jobs", key=cl.dev_key,
                           json={"model": "tiny", "prompt": SENSITIVE, "max_tokens": 2})
        assert r.status_code == 202, r.text
        job = r.json()["id"]
        time.sleep(2.5)  # two passes of the queue pump
        assert cl.dev("GET", f"/v1/jobs/{job}").json()["state"] == "queued"
        restart_and_reload(cl, PRIVATE)
        done = cl.wait("the sensitive job done", lambda: (lambda j: j if j["state"] == "done" else None)(
            cl.dev("GET", f"/v1/jobs/{job}").json()), 30)
        assert done["zone"] == "private", done
        assert RESIDENT_ID not in cl.ctl.log()


def test_classifier_budgets_fail_closed(tmp_path):
    """Over classify_max_bytes, or over classify_timeout_ms, a request is sensitive (no agents needed:
    explain answers the decision; the model need not be deployed)."""
    with Controller(tmp_path / "size", config={"classify_max_bytes": 1024}) as ctl:
        key = ctl.create_key("dev", "developer")
        big = ORDINARY * 60  # 1 680 bytes of ordinary text
        r = ctl.request("POST", "/api/v1/route/explain", key=key, json=chat_body(big))
        assert r.status_code == 200, r.text
        d = r.json()
        assert (d["class"], d["rule"], d["fail_closed"], d["zones"]) == ("sensitive", "fail_closed", True, ["private"]), d
        assert "classify_max_bytes" in d["reason"] or "1024" in d["reason"], d
        assert d["outcome"] == "model_not_found"
        small = ctl.request("POST", "/api/v1/route/explain", key=key, json=chat_body(ORDINARY)).json()
        assert small["class"] == "public" and not small["fail_closed"], small
    with Controller(tmp_path / "time", config={"classify_timeout_ms": 1}) as ctl:
        key = ctl.create_key("dev", "developer")
        huge = ("订单号 2024061512345678 已发货。 The build passed at 12:30:45. " * 40000)[:3 * 1024 * 1024]
        r = ctl.request("POST", "/api/v1/route/explain", key=key, json=chat_body(huge), timeout=60)
        assert r.status_code == 200, r.text
        d = r.json()
        assert (d["class"], d["fail_closed"]) == ("sensitive", True), d
        assert "time" in d["reason"] or "classify_timeout_ms" in d["reason"], d
