#!/usr/bin/env python3
"""The sync figures: what `changes` costs, and what the change log adds to `createTodo`.

    bench/sync.py changes BINARY --backend postgres|sqlite [--todos 10000] [--changes 100]
    bench/sync.py writes BASE_BINARY SYNC_BINARY --backend postgres|sqlite [--rounds 3]

`changes`: one account with --todos todos (created through the API, so each has its place
in the change log), a full resync to a cursor, then --changes updates of distinct todos;
then `changes(since: cursor)` (every field, first 500) is timed over HTTP, and on
PostgreSQL the statements it runs are counted (pg_stat_database.xact_commit: each
autocommit statement is one transaction).

`writes`: the same wrk `write` workload as bench/run (64 connections, createTodo), against
a release binary built before the change log and one built after, each on its own fresh
database, alternating for --rounds rounds so both see the same machine; the ratio of the
medians is the change log's overhead.

Needs wrk, psql, the release binaries, and PostgreSQL as bench/run finds it. Python 3
standard library only.
"""

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
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "bench-only-jwt-secret-0123456789abcdef-not-for-production"
PG = dict(
    host=os.environ.get("BENCH_PG_HOST", "127.0.0.1"),
    port=os.environ.get("BENCH_PG_PORT", "5432"),
    user=os.environ.get("BENCH_PG_USER", "root"),
    admin=os.environ.get("BENCH_PG_ADMIN_DB", "test"),
)
FIELDS = "id title notes completed completedAt priority dueAt createdAt updatedAt version clientId"


def psql(db, sql):
    out = subprocess.run(
        ["psql", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-d", db,
         "-qAt", "-c", sql],
        check=True, capture_output=True, text=True)
    return out.stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A release binary on a fresh database."""

    def __init__(self, binary, backend, tag):
        self.dir = tempfile.mkdtemp(prefix=f"sync-bench-{tag}-")
        self.db = None
        if backend == "postgres":
            self.db = f"bench_sync_{tag}_{os.getpid()}"
            psql(PG["admin"], f'CREATE DATABASE "{self.db}"')
            url = f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{self.db}"
        else:
            url = f"sqlite://{self.dir}/bench.db"
        self.port = free_port()
        env = dict(os.environ, DATABASE_URL=url, JWT_SECRET=SECRET, DATA_DIR=self.dir,
                   LISTEN_ADDR=f"127.0.0.1:{self.port}", RUST_LOG="warn",
                   ACCESS_TOKEN_TTL="24h", AUTH_RATE_LIMIT_IP="off",
                   AUTH_RATE_LIMIT_ACCOUNT="off", WRITE_RATE_LIMIT="off",
                   MAX_TODOS_PER_USER="1000000")
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen([binary], env=env, stdout=self.log, stderr=self.log)
        for _ in range(300):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"the server did not start: see {self.dir}/server.log")

    def client(self):
        return Client(self.port)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()
        if self.db:
            psql(PG["admin"], f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
        shutil.rmtree(self.dir, ignore_errors=True)


class Client:
    """One keep-alive connection."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def gql(self, query, variables=None, token=None):
        body = json.dumps({"query": query, "variables": variables or {}})
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self.conn.request("POST", "/graphql", body, headers)
        answer = json.loads(self.conn.getresponse().read())
        if answer.get("errors"):
            raise SystemExit(f"GraphQL error: {answer['errors']}")
        return answer["data"]

    def signup(self, email):
        q = "mutation($i: SignupInput!) { signup(input: $i) { accessToken } }"
        data = self.gql(q, {"i": {"email": email, "password": "correct horse battery staple"}})
        return data["signup"]["accessToken"]


def parallel(server, jobs, threads=8):
    """Runs the callables of `jobs` (each given a Client) on `threads` connections."""
    jobs = list(jobs)
    lock = threading.Lock()

    def worker():
        client = server.client()
        while True:
            with lock:
                if not jobs:
                    return
                job = jobs.pop()
            job(client)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


CHANGES = ("query($since: String, $first: Int) { changes(since: $since, first: $first) { "
           f"upserted {{ {FIELDS} }} deletedIds cursor hasMore fullResync }} }}")
CREATE = "mutation($i: CreateTodoInput!) { createTodo(input: $i) { id } }"
UPDATE = "mutation($id: ID!, $i: UpdateTodoInput!) { updateTodo(id: $id, input: $i) { id version } }"


def xacts(db):
    return int(psql(db, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"))


def changes_cost(args):
    server = Server(args.binary, args.backend, "changes")
    try:
        client = server.client()
        token = client.signup("sync@example.com")
        ids = []
        lock = threading.Lock()

        def create(i):
            def job(c):
                todo = c.gql(CREATE, {"i": {"title": f"todo {i}", "notes": "n" * (i % 50),
                                             "clientId": str(uuid.uuid4())}}, token)
                with lock:
                    ids.append(todo["createTodo"]["id"])
            return job

        t0 = time.perf_counter()
        parallel(server, (create(i) for i in range(args.todos)))
        seed_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        since, pages = None, 0
        while True:
            page = client.gql(CHANGES, {"since": since, "first": 500}, token)["changes"]
            since, pages = page["cursor"], pages + 1
            if not page["hasMore"]:
                break
        full_s = time.perf_counter() - t0

        for n, todo in enumerate(ids[:: max(1, len(ids) // args.changes)][: args.changes]):
            client.gql(UPDATE, {"id": todo, "i": {"title": f"changed {n}"}}, token)

        for _ in range(20):  # warm-up
            client.gql(CHANGES, {"since": since, "first": 500}, token)
        if server.db:
            time.sleep(11)
            before = xacts(server.db)
        samples = []
        for _ in range(args.samples):
            t0 = time.perf_counter()
            page = client.gql(CHANGES, {"since": since, "first": 500}, token)["changes"]
            samples.append((time.perf_counter() - t0) * 1000)
            assert len(page["upserted"]) == args.changes and not page["hasMore"], page
        statements = None
        if server.db:
            time.sleep(11)
            statements = (xacts(server.db) - before) / args.samples
        samples.sort()
        print(json.dumps({
            "backend": args.backend, "todos": args.todos, "changes": args.changes,
            "seed_seconds": round(seed_s, 1),
            "full_resync_seconds": round(full_s, 3), "full_resync_pages": pages,
            "changes_ms_p50": round(statistics.median(samples), 2),
            "changes_ms_p95": round(samples[int(len(samples) * 0.95) - 1], 2),
            "changes_ms_min": round(samples[0], 2),
            "statements_per_call": statements,
        }, indent=2))
    finally:
        server.stop()


def wrk_write(server, tokens_file, duration):
    out = subprocess.run(
        ["wrk", "-t2", "-c64", f"-d{duration}", "--timeout", "10s",
         "-s", os.path.join(HERE, "wrk", "graphql.lua"),
         f"http://127.0.0.1:{server.port}/graphql", "--", "write", tokens_file],
        check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("BENCH_RESULT "):
            result = json.loads(line[len("BENCH_RESULT "):])
            return result
    raise SystemExit(f"no BENCH_RESULT from wrk:\n{out}")


def write_overhead(args):
    servers = {"base": Server(args.base, args.backend, "base"),
               "sync": Server(args.sync, args.backend, "sync")}
    try:
        files = {}
        for name, server in servers.items():
            tokens = []
            parallel(server, [lambda c, i=i: tokens.append(c.signup(f"w{i}@example.com"))
                              for i in range(args.users)], threads=4)
            path = os.path.join(server.dir, "tokens.txt")
            with open(path, "w") as f:
                f.write("\n".join(tokens) + "\n")
            files[name] = path
            wrk_write(server, path, "3s")  # warm-up
        rates = {"base": [], "sync": []}
        for _ in range(args.rounds):
            for name in ("base", "sync"):
                result = wrk_write(servers[name], files[name], args.duration)
                errors = {k: v for k, v in result.items()
                          if k in ("non200", "graphql_errors", "no_data", "timeouts") and v}
                rates[name].append(round(result["requests"] / (result["duration_us"] / 1e6), 1))
                print(f"{name}: {json.dumps(result)}", file=sys.stderr)
                if errors:
                    print(f"  errors: {errors}", file=sys.stderr)
        base, sync = statistics.median(rates["base"]), statistics.median(rates["sync"])
        print(json.dumps({"backend": args.backend, "base_rps": rates["base"],
                          "sync_rps": rates["sync"], "ratio_sync_over_base": round(sync / base, 3)},
                         indent=2))
    finally:
        for server in servers.values():
            server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("changes")
    c.add_argument("binary")
    c.add_argument("--backend", default="postgres")
    c.add_argument("--todos", type=int, default=10000)
    c.add_argument("--changes", type=int, default=100)
    c.add_argument("--samples", type=int, default=200)
    w = sub.add_parser("writes")
    w.add_argument("base")
    w.add_argument("sync")
    w.add_argument("--backend", default="postgres")
    w.add_argument("--rounds", type=int, default=3)
    w.add_argument("--duration", default="10s")
    w.add_argument("--users", type=int, default=50)
    args = parser.parse_args()
    {"changes": changes_cost, "writes": write_overhead}[args.cmd](args)


if __name__ == "__main__":
    main()
