"""Hot path benchmark: `todos(first: 20)` with a token, three servers in one run, rounds
interleaved so machine noise hits all three alike:

- `check`: the sessions branch, its in-memory revoked set holding 10,000 sessions;
- `no-check`: the same build with the `is_revoked` call in `Tokens::verify` compiled out;
- `main`: the code before sessions (no sid, no kid lookup, no revoked set).

Build the three binaries first (debug is fine; the ratio is what matters):
  /tmp/bench-bin-sessions  cargo build --bin todo-graphql on this branch
  /tmp/bench-bin-nocheck   the same with `if false && self.inner.revocations.is_revoked(..)`
  /tmp/bench-bin-main      cargo build --bin todo-graphql on main before the merge
then: python3 bench/revocation_hot_path.py [rounds]
"""
import http.client, json, os, sqlite3, statistics, subprocess, sys, time, uuid, datetime

SECRET = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz"

def start(binary, name, port):
    d = f"/tmp/bench/{name}"
    os.makedirs("/tmp/bench", exist_ok=True)
    subprocess.run(["rm", "-rf", d]); os.makedirs(d)
    args = [binary, "--listen-addr", f"127.0.0.1:{port}", "--database-url", f"sqlite://{d}/t.db",
            "--data-dir", d, "--jwt-secret", SECRET, "--auth-rate-limit-ip", "off"]
    env = dict(os.environ, RUST_LOG="warn")
    p = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=open(f"{d}/log", "w"))
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port); c.request("GET", "/healthz"); c.getresponse().read(); return p, d
        except OSError: time.sleep(0.1)
    raise SystemExit(f"{name} did not start")

def gql(conn, query, variables=None, token=None):
    h = {"Content-Type": "application/json"}
    if token: h["Authorization"] = f"Bearer {token}"
    conn.request("POST", "/graphql", json.dumps({"query": query, "variables": variables or {}}), h)
    r = conn.getresponse(); body = json.loads(r.read())
    assert r.status == 200 and "errors" not in body, body
    return body["data"]

def prepare(port):
    c = http.client.HTTPConnection("127.0.0.1", port)
    d = gql(c, "mutation($i: SignupInput!) { signup(input: $i) { accessToken } }",
            {"i": {"email": "bench@example.com", "password": "correct horse battery staple"}})
    token = d["signup"]["accessToken"]
    for i in range(20):
        gql(c, "mutation($i: CreateTodoInput!) { createTodo(input: $i) { id } }", {"i": {"title": f"todo {i}"}}, token)
    return c, token

HOT = "{ todos(first: 20) { totalCount nodes { id title completed priority dueAt updatedAt version } } }"

def round_(conn, token, n):
    out = []
    for _ in range(n):
        t = time.perf_counter(); gql(conn, HOT, None, token); out.append(time.perf_counter() - t)
    return out

def with_tombstones(binary, name, port):
    p, d = start(binary, name, port)
    p.terminate(); p.wait()
    db = sqlite3.connect(f"{d}/t.db")
    until = (datetime.datetime.utcnow() + datetime.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    db.executemany("INSERT INTO revoked_sessions (session_id, until) VALUES (?, ?)",
                   [(str(uuid.uuid4()), until) for _ in range(10000)])
    db.commit(); db.close()
    return start(binary, name, port)[0]

procs = {
    "main": start("/tmp/bench-bin-main", "main", 18101)[0],
    "no-check": with_tombstones("/tmp/bench-bin-nocheck", "nocheck", 18103),
    "check": with_tombstones("/tmp/bench-bin-sessions", "sessions", 18102),
}
ports = {"main": 18101, "check": 18102, "no-check": 18103}
try:
    clients = {name: prepare(port) for name, port in ports.items()}
    for c in clients.values(): round_(*c, 200)  # warm up
    res = {name: [] for name in clients}
    rounds, n = int(sys.argv[1]) if len(sys.argv) > 1 else 10, 300
    names = list(clients)
    for r in range(rounds):
        order = names[r % 3:] + names[:r % 3]
        for name in order:
            res[name] += round_(*clients[name], n)
    for name, xs in res.items():
        xs.sort()
        print(f"{name:9} n={len(xs)} mean={statistics.mean(xs)*1e3:.3f}ms median={xs[len(xs)//2]*1e3:.3f}ms p95={xs[int(len(xs)*.95)]*1e3:.3f}ms")
    for base in ["no-check", "main"]:
        m = statistics.median(res["check"]) / statistics.median(res[base])
        mm = statistics.mean(res["check"]) / statistics.mean(res[base])
        print(f"ratio check/{base}: median {m:.3f}, mean {mm:.3f}")
finally:
    for p in procs.values(): p.terminate()
