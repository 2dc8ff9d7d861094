#!/usr/bin/env python3
"""What the shared rate limits cost and what they hold, on PostgreSQL (Python 3.11, standard
library only; traffic to 127.0.0.1 only).

Cost: two servers of one build, each on a fresh database, one with RATE_LIMIT_STORE=memory
and one with RATE_LIMIT_STORE=postgres, every limit set so high that nothing is refused.
Rounds of sequential `login`s and `createTodo`s alternate between the two (the order flips
each round), so machine noise hits both alike; each side's median and p99, and the ratio of
the medians (postgres / memory).

Limits: two replicas on one database with the default limits (30 auth attempts per IP and
10 failed logins per account per 5 minutes, 1000 writes per account per minute), requests
alternating between them as fast as one client goes until both refuse; how many were let
through, with the shared store and with the memory store.

  cargo build --release
  python3 bench/limits.py [--rounds 7] [--logins 20] [--creates 300] [--out bench/results/limits.md]

Environment: BENCH_PG_HOST / BENCH_PG_PORT / BENCH_PG_USER (127.0.0.1, 5432, root; trust),
BENCH_PG_ADMIN_DB (postgres), BENCH_BIN (target/release/todo-graphql).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Quartz-tangerine-violin-8472"
SECRET = "bench-only-jwt-secret-0123456789abcdef-not-for-production"
PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("BENCH_PG_PORT", "5432")
PG_USER = os.environ.get("BENCH_PG_USER", "root")
PG_ADMIN_DB = os.environ.get("BENCH_PG_ADMIN_DB", "postgres")
HIGH = ["--auth-rate-limit-ip", "1000000/1m", "--auth-rate-limit-account", "1000000/1m",
        "--write-rate-limit", "100000000/1m"]
LOGIN = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }"
SIGNUP = "mutation($i: SignupInput!) { signup(input: $i) { accessToken } }"
CREATE = "mutation($i: CreateTodoInput!) { createTodo(input: $i) { id } }"


def psql(sql: str) -> None:
    subprocess.run(["psql", "-q", "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER, "-d", PG_ADMIN_DB,
                    "-c", sql], check=True, stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One release server on `database`, with `extra` flags."""

    def __init__(self, binary: str, database: str, extra: list[str], work: Path):
        self.port = free_port()
        data = work / f"data-{self.port}"
        data.mkdir()
        url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"
        args = [binary, "--listen-addr", f"127.0.0.1:{self.port}", "--database-url", url,
                "--data-dir", str(data), "--jwt-secret", SECRET, *extra]
        env = dict(os.environ, RUST_LOG="warn")
        self.log = open(work / f"server-{self.port}.log", "w")
        self.proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        for _ in range(300):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit(f"the server on {database} did not start; see {self.log.name}")
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def gql(self, query: str, variables: dict, token: str | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.conn.request("POST", "/graphql", json.dumps({"query": query, "variables": variables}),
                          headers)
        return json.loads(self.conn.getresponse().read())

    def ok(self, query: str, variables: dict, token: str | None = None) -> dict:
        body = self.gql(query, variables, token)
        if "errors" in body:
            raise SystemExit(f"unexpected error: {body}")
        return body["data"]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


def code(body: dict) -> str:
    errors = body.get("errors")
    return errors[0]["extensions"]["code"] if errors else "OK"


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def p99(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.99))]


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cost(binary: str, work: Path, databases: list[str], args) -> dict:
    sides = {}
    for store in ("memory", "postgres"):
        database = new_database(databases)
        server = Server(binary, database, ["--rate-limit-store", store, *HIGH], work)
        email = f"{store}@example.com"
        token = server.ok(SIGNUP, {"i": {"email": email, "password": PASSWORD}})["signup"]["accessToken"]
        sides[store] = {"server": server, "email": email, "token": token, "login": [], "create": [],
                        "rounds": {"login": [], "create": []}}
    try:
        for rnd in range(args.rounds + 1):
            note(f"cost: round {rnd} of {args.rounds}")
            order = list(sides) if rnd % 2 == 0 else list(reversed(sides))
            for name in order:
                side, server = sides[name], sides[name]["server"]
                login = {"i": {"email": side["email"], "password": PASSWORD}}
                logins = [timed(lambda: server.ok(LOGIN, login)) for _ in range(args.logins)]
                creates = [timed(lambda: server.ok(CREATE, {"i": {"title": "bench"}}, side["token"]))
                           for _ in range(args.creates)]
                if rnd > 0:  # round 0 warms up
                    side["login"] += logins
                    side["create"] += creates
                    side["rounds"]["login"].append(statistics.median(logins))
                    side["rounds"]["create"].append(statistics.median(creates))
    finally:
        for side in sides.values():
            side["server"].stop()
    return {name: {"login": s["login"], "create": s["create"], "rounds": s["rounds"]}
            for name, s in sides.items()}


def new_database(databases: list[str]) -> str:
    name = f"bench_limits_{uuid.uuid4().hex[:12]}"
    psql(f'CREATE DATABASE "{name}"')
    databases.append(name)
    return name


def held(binary: str, work: Path, databases: list[str], store: str) -> dict:
    """Two replicas with the default limits on one database: what each limit lets through."""
    flags = ["--rate-limit-store", store]
    note(f"limits with the {store} store")
    out = {}
    pair = pair_on(binary, work, databases, flags)
    try:
        a = pair[0]
        # Failed logins per account: wrong passwords until both refuse.
        a.ok(SIGNUP, {"i": {"email": "victim@example.com", "password": PASSWORD}})
        wrong = {"i": {"email": "victim@example.com", "password": "not the password at all"}}
        out["account"] = let_through(pair, lambda s: s.gql(LOGIN, wrong), "INVALID_CREDENTIALS")
        # Writes per account, as fast as one client goes.
        signed = a.ok(SIGNUP, {"i": {"email": "writer@example.com", "password": PASSWORD}})
        token = signed["signup"]["accessToken"]
        out["write"] = let_through(pair, lambda s: s.gql(CREATE, {"i": {"title": "w"}}, token), "OK")
    finally:
        for server in pair:
            server.stop()
    # Attempts per IP on a fresh pair: one signup, then good logins until both refuse.
    pair = pair_on(binary, work, databases, flags)
    try:
        pair[0].ok(SIGNUP, {"i": {"email": "ip@example.com", "password": PASSWORD}})
        right = {"i": {"email": "ip@example.com", "password": PASSWORD}}
        through, seconds = let_through(pair, lambda s: s.gql(LOGIN, right), "OK")
        out["ip"] = (through + 1, seconds)
    finally:
        for server in pair:
            server.stop()
    return out


def pair_on(binary: str, work: Path, databases: list[str], flags: list[str]) -> list[Server]:
    database = new_database(databases)
    return [Server(binary, database, flags, work), Server(binary, database, flags, work)]


def let_through(replicas: list[Server], call, allowed: str) -> tuple[int, float]:
    """Alternates `call` between the replicas until both answered RATE_LIMITED; how many
    answered `allowed`, and in how many seconds."""
    through, refused, started = 0, set(), time.monotonic()
    for attempt in range(100_000):
        server = replicas[attempt % len(replicas)]
        got = code(call(server))
        if got == allowed:
            through += 1
        elif got == "RATE_LIMITED":
            refused.add(server.port)
            if len(refused) == len(replicas):
                return through, time.monotonic() - started
        else:
            raise SystemExit(f"unexpected {got}")
    raise SystemExit("never refused")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--logins", type=int, default=20)
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--out", default=str(ROOT / "bench/results/limits.md"))
    args = parser.parse_args()
    source = os.environ.get("BENCH_BIN", str(ROOT / "target/release/todo-graphql"))
    work = Path(tempfile.mkdtemp(prefix="bench-limits-"))
    binary = str(work / "todo-graphql")
    shutil.copy(source, binary)  # a concurrent rebuild cannot swap it mid-run
    databases: list[str] = []
    try:
        measured = cost(binary, work, databases, args)
        limits = {store: held(binary, work, databases, store) for store in ("postgres", "memory")}
    finally:
        for name in databases:
            psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)
    report = render(measured, limits, args)
    print(report)
    Path(args.out).write_text(report)
    return 0


def render(measured: dict, limits: dict, args) -> str:
    ms = lambda x: f"{x * 1e3:.2f} ms"
    lines = [
        "# Shared rate limits: cost and hold (`bench/limits.py`)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, release build, PostgreSQL on "
        f"{PG_HOST}:{PG_PORT}, {os.cpu_count()} cores shared with other work. {args.rounds} rounds "
        f"(after one warm-up) alternating between the two stores, each round {args.logins} "
        f"sequential logins and {args.creates} sequential creates on one connection.",
        "",
        "| request | memory median | memory p99 | postgres median | postgres p99 | ratio of medians | median of per-round ratios |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for request in ("login", "create"):
        mem, pg = measured["memory"][request], measured["postgres"][request]
        ratio = statistics.median(pg) / statistics.median(mem)
        per_round = statistics.median(
            p / m for p, m in zip(measured["postgres"]["rounds"][request],
                                  measured["memory"]["rounds"][request]))
        name = "login" if request == "login" else "createTodo"
        lines.append(f"| {name} (n={len(pg)}) | {ms(statistics.median(mem))} | {ms(p99(mem))} | "
                     f"{ms(statistics.median(pg))} | {ms(p99(pg))} | {ratio:.3f} | {per_round:.3f} |")
    lines += [
        "",
        "Let through by two replicas on one database, default limits, one client alternating "
        "between them as fast as it goes until both refuse:",
        "",
        "| limit | rate | RATE_LIMIT_STORE=postgres | RATE_LIMIT_STORE=memory |",
        "| --- | --- | --- | --- |",
    ]
    rows = [("failed logins per account", "account", 10, 300), ("auth attempts per IP", "ip", 30, 300),
            ("writes per account", "write", 1000, 60)]
    for label, key, count, period in rows:
        cells = []
        for store in ("postgres", "memory"):
            through, seconds = limits[store][key]
            refill = seconds * count / period
            cells.append(f"{through} in {seconds:.1f} s (the rate refills {refill:.0f} meanwhile)")
        lines.append(f"| {label} | {count} / {period // 60}m | {cells[0]} | {cells[1]} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
