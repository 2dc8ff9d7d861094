#!/usr/bin/env python3
"""Helpers for bench/run (Python 3.11, standard library only).

Subcommands:
  freeport                       print a free TCP port on 127.0.0.1
  wait-ready URL SECONDS         wait until URL/healthz and URL/readyz answer 200
  seed ...                       sign users up through the API, insert their todos directly
  summarize ...                  read the run's files, print the markdown summary

Every request goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import datetime as dt
import json
import os
import platform
import random
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

PASSWORD = "Quartz-tangerine-violin-8472"  # passes the zxcvbn policy
SIGNUP = (
    "mutation Signup($input: SignupInput!) "
    "{ signup(input: $input) { accessToken user { id } } }"
)
TODO_COLUMNS = (
    "id", "owner_id", "title", "notes", "completed", "completed_at",
    "priority", "due_at", "version", "created_at", "updated_at",
)
WORDS = (
    "buy milk call mum write report fix bug review pull request water plants book flight "
    "pay rent plan sprint read paper clean desk renew passport walk dog update docs"
).split()


def loopback_only(url: str) -> None:
    host = urllib.request.urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"refusing to send traffic to {host}: loopback only")


# --------------------------------------------------------------------------- small commands

def cmd_freeport(_args) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])
    return 0


def cmd_wait_ready(args) -> int:
    loopback_only(args.url)
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        try:
            ok = all(
                urllib.request.urlopen(args.url + path, timeout=2).status == 200
                for path in ("/healthz", "/readyz")
            )
            if ok:
                return 0
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.2)
    print(f"server at {args.url} not ready after {args.seconds}s", file=sys.stderr)
    return 1


# --------------------------------------------------------------------------- seeding

def post_json(url: str, body: dict, timeout: float = 60) -> tuple[int, str]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def signup(url: str, i: int) -> tuple[str, str, str]:
    email = f"bench{i:05d}@bench.test"
    variables = {"input": {"email": email, "password": PASSWORD, "displayName": f"Bench {i}"}}
    status, text = post_json(url, {"query": SIGNUP, "variables": variables})
    try:
        payload = json.loads(text)
        data = payload["data"]["signup"]
        if status != 200 or payload.get("errors"):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise RuntimeError(f"signup of {email} failed: HTTP {status} {text}") from None
    raw = base64.urlsafe_b64decode(data["user"]["id"] + "=" * (-len(data["user"]["id"]) % 4))
    kind, _, user_id = raw.decode().partition(":")
    if kind != "User":
        raise RuntimeError(f"unexpected user id {data['user']['id']!r} ({raw!r})")
    return email, user_id, data["accessToken"]


def global_todo_id(raw: str) -> str:
    return base64.urlsafe_b64encode(f"Todo:{raw}".encode()).decode().rstrip("=")


def ts(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


def make_todos(user_ids: list[str], per_user: int, rng: random.Random):
    """Rows in TODO_COLUMNS order; Python values (None, bool, int, str)."""
    base = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=1)
    for owner in user_ids:
        for j in range(per_user):
            created = base - dt.timedelta(seconds=j * 600 + rng.randrange(600),
                                          microseconds=rng.randrange(1_000_000))
            updated = created + dt.timedelta(seconds=rng.randrange(3600))
            completed = rng.random() < 0.3
            completed_at = updated if completed else None
            due = None if rng.random() < 0.4 else created + dt.timedelta(
                days=rng.randrange(1, 60), seconds=rng.randrange(86400))
            title = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(2, 6))).capitalize()
            notes = None if rng.random() < 0.5 else f"seeded note {j}: " + " ".join(
                rng.choice(WORDS) for _ in range(rng.randrange(3, 15)))
            yield (
                str(uuid.UUID(int=rng.getrandbits(128), version=4)), owner, f"{title} #{j}", notes,
                completed, ts(completed_at) if completed_at else None, rng.randrange(4),
                ts(due) if due else None, rng.randrange(1, 4) if completed else 1,
                ts(created), ts(updated),
            )


def psql(args, sql: str | None = None, extra: list[str] | None = None) -> str:
    cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At",
           "-h", args.pg_host, "-p", str(args.pg_port), "-U", args.pg_user, "-d", args.pg_db]
    if sql is not None:
        cmd += ["-c", sql]
    cmd += extra or []
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def copy_escape(v) -> str:
    if v is None:
        return r"\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    s = str(v)
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


# Todos written straight into the database bypass the per-account quota counter; this
# sets it to what the API would have counted.
QUOTA_COUNTS = ("UPDATE users SET todo_count = "
                "(SELECT count(*) FROM todos WHERE todos.owner_id = users.id)")


def cmd_seed(args) -> int:
    loopback_only(args.url)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)

    # 1. Sign every user up through the API, a few at a time (argon2 is CPU-bound).
    t0 = time.monotonic()
    users: list[tuple[str, str, str]] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        for k, result in enumerate(pool.map(lambda i: signup(args.url, i), range(1, args.users + 1)), 1):
            users.append(result)
            if k % 100 == 0 or k == args.users:
                print(f"  signed up {k}/{args.users}", file=sys.stderr, flush=True)
    signup_s = time.monotonic() - t0

    # 2. Their todos, straight into the database.
    t1 = time.monotonic()
    user_ids = [u[1] for u in users]
    per_user_ids: dict[str, list[str]] = {uid: [] for uid in user_ids}
    rows_written = 0
    if args.backend == "postgres":
        tsv = out / "todos.tsv"
        with tsv.open("w") as f:
            for row in make_todos(user_ids, args.todos, rng):
                if len(per_user_ids[row[1]]) < args.ids_per_user:
                    per_user_ids[row[1]].append(row[0])
                f.write("\t".join(copy_escape(v) for v in row) + "\n")
                rows_written += 1
        psql(args, f"\\copy todos ({', '.join(TODO_COLUMNS)}) FROM '{tsv}'")
        tsv.unlink()
        psql(args, QUOTA_COUNTS)
        psql(args, "ANALYZE users; ANALYZE todos;")
        # A numbered copy of the seeded users, for pgbench's random owner.
        psql(args, "DROP TABLE IF EXISTS bench_owners; "
                   "CREATE TABLE bench_owners AS SELECT row_number() OVER (ORDER BY id)::int AS n, id "
                   "FROM users; CREATE UNIQUE INDEX ON bench_owners (n); ANALYZE bench_owners;")
    else:
        conn = sqlite3.connect(args.sqlite_path, timeout=60)
        try:
            conn.execute("PRAGMA busy_timeout = 60000")
            batch = []

            def flush():
                conn.executemany(
                    f"INSERT INTO todos ({', '.join(TODO_COLUMNS)}) VALUES ({', '.join('?' * len(TODO_COLUMNS))})",
                    batch)
                batch.clear()

            with conn:
                for row in make_todos(user_ids, args.todos, rng):
                    if len(per_user_ids[row[1]]) < args.ids_per_user:
                        per_user_ids[row[1]].append(row[0])
                    batch.append(tuple(int(v) if isinstance(v, bool) else v for v in row))
                    rows_written += 1
                    if len(batch) >= 10_000:
                        flush()
                if batch:
                    flush()
                conn.execute(QUOTA_COUNTS)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    insert_s = time.monotonic() - t1

    # 3. Data files for wrk.
    with (out / "tokens.txt").open("w") as f:
        for _, _, token in users:
            f.write(token + "\n")
    with (out / "token_ids.tsv").open("w") as f:
        for _, uid, token in users:
            for raw in per_user_ids[uid]:
                f.write(f"{token}\t{global_todo_id(raw)}\n")
    if not any(per_user_ids.values()):
        # No todos seeded: point reads have nothing to read; fall back to the token file.
        (out / "token_ids.tsv").write_text("")
    with (out / "logins.tsv").open("w") as f:
        for email, _, _ in users:
            f.write(f"{email}\t{PASSWORD}\n")
    seed = {
        "users": len(users), "todos_per_user": args.todos, "todos": rows_written,
        "signup_seconds": round(signup_s, 2),
        "signups_per_second": round(len(users) / signup_s, 1) if signup_s else None,
        "signup_concurrency": args.concurrency,
        "insert_seconds": round(insert_s, 2),
    }
    (out / "seed.json").write_text(json.dumps(seed, indent=2))
    print(f"  seeded {len(users)} users in {signup_s:.1f}s ({seed['signups_per_second']}/s), "
          f"{rows_written} todos in {insert_s:.1f}s", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- summary

def read_wrk(path: Path):
    result, samples = None, []
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("BENCH_RESULT "):
                result = json.loads(line[len("BENCH_RESULT "):])
            elif line.startswith("BENCH_SAMPLE "):
                samples.append(line[len("BENCH_SAMPLE "):])
    return result, samples


def read_ints(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [int(x) for x in path.read_text().split() if x.strip().isdigit()]


def read_pg(path: Path):
    """Two lines 'xacts|users_scans|todos_scans' (before, after) -> deltas."""
    if not path.exists():
        return None
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    if len(lines) < 2:
        return None
    before = [int(x or 0) for x in lines[0].split("|")]
    after = [int(x or 0) for x in lines[1].split("|")]
    # The psql probe that reads the "after" line is itself one transaction; the "before"
    # probe's is flushed when its backend exits, so it lands in the window too.
    d = [a - b for a, b in zip(after, before)]
    d[0] -= 1
    return d


def read_pgbench(path: Path):
    if not path.exists():
        return None
    text = path.read_text(errors="replace")
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", text)
    lat = re.search(r"latency average = ([0-9.]+) ms", text)
    failed = re.search(r"number of failed transactions: (\d+)", text)
    if not m:
        return {"error": text.strip().splitlines()[-1] if text.strip() else "no output"}
    return {
        "tps": float(m.group(1)),
        "latency_ms": float(lat.group(1)) if lat else None,
        "failed": int(failed.group(1)) if failed else 0,
    }


def read_cpu(path: Path):
    """Two snapshots 'procs irq_steal total server pg load1 client' -> cores used, by whom."""
    if not path.exists():
        return None
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    if len(lines) < 2 or len(lines[0]) < 7 or len(lines[1]) < 7:
        return None
    b, a = lines[0], lines[1]
    tck = float(os.environ.get("BENCH_CLK_TCK", "100"))
    ncpu = os.cpu_count() or 1

    def delta(i):
        return (int(a[i]) - int(b[i])) / tck

    total = delta(2)
    if total <= 0:
        return None
    wall = total / ncpu
    procs, irq, server, pg, client = delta(0), delta(1), delta(3), delta(4), delta(6)
    return {
        "wall": wall, "busy": (procs + irq) / wall, "irq": irq / wall, "server": server / wall,
        "pg": pg / wall, "client": client / wall,
        "other": max(0.0, (procs - server - pg - client) / wall), "load1": float(b[5]),
    }


def machine() -> dict:
    info = {"cores": os.cpu_count(), "kernel": platform.release()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
        info["os"] = next((ln.split("=", 1)[1].strip('"') for ln in
                           Path("/etc/os-release").read_text().splitlines()
                           if ln.startswith("PRETTY_NAME=")), "")
    except OSError:
        pass
    return info


def mib(kib: int | None) -> str:
    return "–" if not kib else f"{kib / 1024:.1f}"


def ms(us) -> str:
    return "–" if us is None else f"{us / 1000:.2f}"


def mark(ok: bool | None) -> str:
    return "–" if ok is None else ("met" if ok else "**MISSED**")


def cmd_summarize(args) -> int:
    w = Path(args.work_dir)
    env = os.environ
    backend = args.backend
    seed = json.loads((w / "seed.json").read_text()) if (w / "seed.json").exists() else {}
    workloads = [x.split(":") for x in args.workloads.split()]
    lines: list[str] = []
    add = lines.append
    any_errors = False
    rows = {}

    add(f"# todo-graphql benchmark: {backend}")
    add("")
    m = machine()
    add(f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    add(f"- commit: {env.get('BENCH_COMMIT', '?')}")
    add(f"- machine: {m.get('cores')} cores ({m.get('cpu', '?')}), {m.get('memory_gib', '?')} GiB, "
        f"{m.get('os', '?')}, kernel {m.get('kernel')}; wrk, server and database share the cores")
    add(f"- database: {env.get('BENCH_DB_DESC', backend)}; server pool size "
        f"{env.get('DATABASE_POOL_SIZE') or 'default (16 on PostgreSQL, 8 on SQLite)'}")
    add(f"- data: {seed.get('users', '?')} users x {seed.get('todos_per_user', '?')} todos "
        f"({seed.get('todos', '?')} rows); signup through the API: {seed.get('signups_per_second', '?')}/s "
        f"at concurrency {seed.get('signup_concurrency', '?')} ({seed.get('signup_seconds', '?')} s); "
        f"todo insert {seed.get('insert_seconds', '?')} s")
    add(f"- wrk: {env.get('BENCH_WRK_THREADS', '2')} threads, {env.get('BENCH_DURATION', '?')} per workload, "
        f"--timeout {env.get('BENCH_WRK_TIMEOUT', '?')}, every response checked")
    add("")
    add("## Workloads")
    add("")
    pg = backend == "postgres"
    header = "| workload | conns | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | peak RSS MiB |"
    sep = "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    if pg:
        header += " DB xacts/req | users reads/req |"
        sep += " ---: | ---: |"
    header += " responses |"
    sep += " --- |"
    add(header)
    add(sep)
    samples_out = []
    for name, conns in workloads:
        res, samples = read_wrk(w / "wl" / f"{name}.wrk")
        rss = read_ints(w / "wl" / f"{name}.rss")
        peak = max(rss) if rss else None
        if res is None:
            any_errors = True
            rows[name] = None
            cells = [name, conns] + ["–"] * 7 + (["–", "–"] if pg else []) + ["**FAILED: no wrk result**"]
            add("| " + " | ".join(cells) + " |")
            continue
        secs = res["duration_us"] / 1e6
        rps = res["requests"] / secs if secs else 0
        res["rps"] = rps
        res["peak_rss_kib"] = peak
        rows[name] = res
        problems = []
        for key, label in (("non200", "non-200"), ("graphql_errors", "with errors"),
                           ("no_data", "without data"), ("null_todo", "todo null"),
                           ("connect_errors", "connect errors"), ("read_errors", "read errors"),
                           ("write_errors", "write errors"), ("timeouts", "timeouts")):
            if res.get(key):
                problems.append(f"{res[key]} {label}")
        if problems:
            any_errors = True
            verdict = "**ERRORS: " + ", ".join(problems) + "**"
        else:
            verdict = f"ok ({res['checked']} checked)"
        cells = [name, conns, str(res["requests"]), f"{rps:.0f}", ms(res["p50_us"]), ms(res["p90_us"]),
                 ms(res["p99_us"]), ms(res["max_us"]), mib(peak)]
        if pg:
            d = read_pg(w / "wl" / f"{name}.pg")
            if d and res["requests"]:
                cells += [f"{d[0] / res['requests']:.2f}", f"{d[1] / res['requests']:.2f}"]
            else:
                cells += ["–", "–"]
        cells.append(verdict)
        add("| " + " | ".join(cells) + " |")
        for s in dict.fromkeys(samples):  # distinct bodies, in order
            samples_out.append(f"- {name}: `{s}`")
    add("")
    add("Workloads: **list** `todos(first: 20)` with edges and pageInfo; **point** `todo(id)` of one of "
        "the caller's own todos; **write** `createTodo` (random priority, some notes and dueAt); **mix** "
        "45% list, 45% point, 10% createTodo; **login** `login` (argon2 verify, fewer connections). "
        "Each request uses a random seeded user's token. req/s = completed responses / duration. "
        "Latencies are wrk's (coordinated omission not corrected). Peak RSS = highest VmRSS sampled "
        "every 0.2 s during the workload.")
    if pg:
        add("DB xacts/req = (xact_commit + xact_rollback) of the bench database over the workload / "
            "requests (a statement outside a transaction is one; BEGIN..COMMIT is one): the round trips a "
            "request costs, a pool check-out query included. users reads/req = index + sequential scans of "
            "`users` / requests (an auth lookup, a login, or the foreign-key check of an insert). "
            + env.get("BENCH_PGSS_NOTE", ""))
    add("")

    # Ceilings
    ceil = {}
    if pg:
        add("## PostgreSQL ceilings (pgbench)")
        add("")
        add(f"pgbench `-M prepared -c {env.get('BENCH_CONNECTIONS')} -j 2 -T {env.get('BENCH_DURATION_S')}`, "
            "scripts in `bench/pgbench/`, a random seeded owner per transaction; the server is stopped "
            "while pgbench runs.")
        add("")
        add("| query | pgbench tps | pgbench avg latency ms | server workload | server req/s | fraction | target |")
        add("| --- | ---: | ---: | --- | ---: | ---: | --- |")
        for kind, wl, target in (("list", "list", 0.5), ("insert", "write", 0.3)):
            pb = read_pgbench(w / f"pgbench-{kind}.txt")
            srv = rows.get(wl)
            if not pb or "tps" not in pb:
                add(f"| {kind} | {(pb or {}).get('error', 'not run')} | – | {wl} | – | – | – |")
                continue
            if pb.get("failed"):
                any_errors = True
            frac = srv["rps"] / pb["tps"] if srv and pb["tps"] else None
            ceil[kind] = frac
            add(f"| {kind} | {pb['tps']:.0f} | {pb['latency_ms']:.2f} | {wl} | "
                f"{srv['rps']:.0f} | {frac:.0%} | >= {target:.0%}: {mark(frac >= target)} |"
                if srv and frac is not None else
                f"| {kind} | {pb['tps']:.0f} | {pb['latency_ms']:.2f} | {wl} | – | – | – |")
        add("")

    # CPU
    add("## CPU during each run (cores busy, out of %d)" % (os.cpu_count() or 0))
    add("")
    if pg:
        add("| run | server | server CPU ms/req | load client (wrk/pgbench) | postgres (all DBs) | postgres CPU ms/req | other processes | irq + steal | host busy |")
        add("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    else:
        add("| run | server | server CPU ms/req | load client (wrk) | other processes | irq + steal | host busy |")
        add("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    cpu_rows = [(name, w / "wl" / f"{name}.cpu", (rows.get(name) or {}).get("rps"))
                for name, _ in workloads]
    if pg:
        for k in ("list", "insert"):
            pb = read_pgbench(w / f"pgbench-{k}.txt") or {}
            cpu_rows.append((f"pgbench {k}", w / f"pgbench-{k}.cpu", pb.get("tps")))
    busy_others = []
    for name, path, rate in cpu_rows:
        c = read_cpu(path)
        if not c:
            continue
        # CPU over the steady window / the run's rate: the CPU one request costs.
        per_req = f"{c['server'] * 1000 / rate:.2f}" if rate and c["server"] else "–"
        pg_per_req = f"{c['pg'] * 1000 / rate:.2f}" if rate else "–"
        if c["other"] > 0.25:
            busy_others.append(f"{name} ({c['other']:.2f} cores)")
        cells = [name, f"{c['server']:.2f}", per_req, f"{c['client']:.2f}"]
        if pg:
            cells += [f"{c['pg']:.2f}", pg_per_req]
        cells += [f"{c['other']:.2f}", f"{c['irq']:.2f}", f"{c['busy']:.2f}"]
        add("| " + " | ".join(cells) + " |")
    add("")
    add("From /proc, over each run but its first and last second: the server's utime+stime, the "
        "load generator's (wrk or pgbench), every `postgres` process (other databases' too), the rest "
        "of the processes' time (user+nice+system), and the kernel's irq/softirq plus the time the "
        "hypervisor stole. CPU ms/req = cores / req/s (pgbench: / tps). \"other processes\" "
        "above ~0.25 cores means something else was running on the machine and the figures are low.")
    if busy_others:
        add("")
        add("**The machine was not idle** during: " + ", ".join(busy_others) + ".")
    add("")

    # Memory
    idle0 = read_ints(w / "rss-idle-start.txt")
    idle1 = read_ints(w / "rss-idle-seeded.txt")
    hwm = read_ints(w / "rss-hwm.txt")
    peak_all = max((r["peak_rss_kib"] or 0) for r in rows.values() if r) if any(rows.values()) else None
    peak_no_login = max(((r["peak_rss_kib"] or 0) for n, r in rows.items() if r and n != "login"),
                        default=None)
    add("## Memory (server process)")
    add("")
    add("| when | RSS MiB |")
    add("| --- | ---: |")
    add(f"| idle, just started (migrations applied) | {mib(idle0[0] if idle0 else None)} |")
    add(f"| idle, after seeding (signups done) | {mib(idle1[0] if idle1 else None)} |")
    add(f"| peak VmRSS sampled under load, all workloads | {mib(peak_all)} |")
    add(f"| VmHWM (high-water mark) at the end | {mib(hwm[0] if hwm else None)} |")
    add("")

    # Targets
    add("## Targets")
    add("")
    add("| target | measured | verdict |")
    add("| --- | --- | --- |")
    lst = rows.get("list")
    if pg:
        f = ceil.get("list")
        add(f"| list >= 50% of pgbench | {'–' if f is None else f'{f:.0%}'} | {mark(None if f is None else f >= 0.5)} |")
    if lst:
        p99 = lst["p99_us"] / 1000
        add(f"| list p99 < 20 ms at {env.get('BENCH_CONNECTIONS')} connections | {p99:.2f} ms | {mark(p99 < 20)} |")
    if pg:
        f = ceil.get("insert")
        add(f"| createTodo >= 30% of the insert ceiling | {'–' if f is None else f'{f:.0%}'} | {mark(None if f is None else f >= 0.3)} |")
    write = rows.get("write")
    if write and not pg:
        p99 = write["p99_us"] / 1000
        add(f"| createTodo p99 < 50 ms at {env.get('BENCH_CONNECTIONS')} connections | {p99:.2f} ms | {mark(p99 < 50)} |")
    if idle1:
        add(f"| idle RSS < 50 MiB (after seeding) | {mib(idle1[0])} MiB | {mark(idle1[0] < 50 * 1024)} |")
    if peak_all:
        add(f"| RSS under load < 150 MiB | {mib(peak_all)} MiB (without login: {mib(peak_no_login)}) | "
            f"{mark(peak_all < 150 * 1024)} |")
    add("")
    add("## Response check")
    add("")
    if samples_out:
        add("**The server answered with errors.** First bodies kept per wrk thread:")
        add("")
        lines.extend(samples_out)
        log_tail = w / "server-errors.txt"
        if log_tail.exists() and log_tail.read_text().strip():
            add("")
            add("Server log lines at WARN or above (first 20):")
            add("")
            add("```")
            lines.extend(log_tail.read_text().splitlines()[:20])
            add("```")
    elif any_errors:
        add("**Errors**: see the workload table (socket errors or timeouts carry no body).")
    else:
        add("Every response was HTTP 200 with a `data` object and no `errors`.")
    add("")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        # What `compare` reads back when both backends ran.
        figures = {name: None if r is None else {"rps": r["rps"], "p99_us": r["p99_us"]}
                   for name, r in rows.items()}
        Path(args.out).with_suffix(".json").write_text(json.dumps({
            "backend": backend, "commit": env.get("BENCH_COMMIT"), "seed": seed,
            "workloads": figures, "ceilings": ceil if pg else {},
            "idle_rss_kib": idle1[0] if idle1 else None, "peak_rss_kib": peak_all}, indent=1))
    return 3 if any_errors else 0


def cmd_compare(args) -> int:
    """The two backends of one run side by side: SQLite's throughput as a ratio of PostgreSQL's."""
    pg = json.loads(Path(args.postgres).read_text())
    lite = json.loads(Path(args.sqlite).read_text())
    lines: list[str] = []
    add = lines.append
    add("# todo-graphql benchmark: SQLite against PostgreSQL, same run, same seed")
    add("")
    add(f"- commit: {pg.get('commit')}; data: {pg['seed'].get('users', '?')} users x "
        f"{pg['seed'].get('todos_per_user', '?')} todos on each")
    add("")
    add("| workload | PostgreSQL req/s | SQLite req/s | SQLite / PostgreSQL | PostgreSQL p99 ms | SQLite p99 ms |")
    add("| --- | ---: | ---: | ---: | ---: | ---: |")
    ratios = {}
    for name in ("list", "point", "write", "mix", "login"):
        a, b = pg["workloads"].get(name), lite["workloads"].get(name)
        if not a or not b:
            add(f"| {name} | – | – | – | – | – |")
            continue
        ratios[name] = b["rps"] / a["rps"] if a["rps"] else None
        add(f"| {name} | {a['rps']:.0f} | {b['rps']:.0f} | {ratios[name]:.2f}x | "
            f"{a['p99_us'] / 1000:.2f} | {b['p99_us'] / 1000:.2f} |")
    add("")
    add("| target | measured | verdict |")
    add("| --- | --- | --- |")
    for name in ("list", "point"):
        r = ratios.get(name)
        add(f"| SQLite {name} req/s >= PostgreSQL's | {'–' if r is None else f'{r:.2f}x'} | "
            f"{mark(None if r is None else r >= 1)} |")
    add("")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("freeport").set_defaults(fn=cmd_freeport)
    s = sub.add_parser("wait-ready")
    s.add_argument("url")
    s.add_argument("seconds", type=float)
    s.set_defaults(fn=cmd_wait_ready)
    s = sub.add_parser("seed")
    s.add_argument("--url", required=True, help="the /graphql endpoint")
    s.add_argument("--backend", choices=("postgres", "sqlite"), required=True)
    s.add_argument("--users", type=int, required=True)
    s.add_argument("--todos", type=int, required=True)
    s.add_argument("--concurrency", type=int, default=4)
    s.add_argument("--ids-per-user", type=int, default=10)
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--out-dir", required=True)
    s.add_argument("--sqlite-path")
    s.add_argument("--pg-host", default="127.0.0.1")
    s.add_argument("--pg-port", default="5432")
    s.add_argument("--pg-user", default="root")
    s.add_argument("--pg-db")
    s.set_defaults(fn=cmd_seed)
    s = sub.add_parser("summarize")
    s.add_argument("--backend", required=True)
    s.add_argument("--work-dir", required=True)
    s.add_argument("--workloads", required=True, help='"name:conns name:conns ..."')
    s.add_argument("--out")
    s.set_defaults(fn=cmd_summarize)
    s = sub.add_parser("compare")
    s.add_argument("--postgres", required=True, help="latest-postgres.json")
    s.add_argument("--sqlite", required=True, help="latest-sqlite.json")
    s.add_argument("--out")
    s.set_defaults(fn=cmd_compare)
    args = p.parse_args()
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
