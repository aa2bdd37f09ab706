import sys, time, os
sys.path.insert(0, "/work/main/tests/e2e")
from test_serving import *  # noqa

def test_explore(cluster):
    cl = cluster
    print(cl.ctl.log_tail(40))
    print(cl.agents[PRIVATE].tail(20))
    print(json.dumps(cl.nodes(), indent=1)[:3000])
    t = time.monotonic()
    r = cl.open_stream()
    print("zone", r.headers.get("x-sluice-zone"), r.headers.get("x-request-id"), time.monotonic() - t)
    n = 0
    last = None
    for ev in sse_events(r):
        n += 1
        last = ev
    print("events", n, time.monotonic() - t, last)
    r = cl.chat(max_tokens=50)
    print(r.status_code, r.headers, r.text)
