#!/usr/bin/env python3
"""The untrusted-input attacks against the release binary: how long each refusal takes.

    bench/attacks.py [--binary target/release/todo-graphql] [--repeat 20] [--out FILE]

Starts the binary on a fresh SQLite database in a temp dir, on a free loopback port, in its
default (development) mode, which is the more exposed one: introspection is on. Each attack
class is sent `--repeat` times, one after the other, then eight at once while `/healthz` is
timed. Prints a Markdown table of the slowest and median refusal, the slowest `/healthz`
during the burst, and the server's RSS after all of it. Exit status 1 when an attack was not
refused or the process stopped serving. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def doubling_chain(n: int) -> str:
    parts = ["{ ...F0 }"]
    parts += [f"fragment F{i} on Query{{...F{i + 1} ...F{i + 1}}}" for i in range(n)]
    parts.append(f"fragment F{n} on Query{{__typename}}")
    return " ".join(parts)


def type_lists(n: int) -> str:
    inner = "name"
    for i in range(n):
        inner = f"{'possibleTypes' if i % 2 == 0 else 'interfaces'} {{ {inner} }}"
    return f"{{ __schema {{ types {{ {inner} }} }} }}"


ATTACKS = [
    ("fragment cycle (self)", "{ ...A } fragment A on Query { ...A }", "FRAGMENT_CYCLE"),
    (
        "fragment cycle (pair, under a field)",
        "{ me { ...A } } fragment A on User { id ...B } fragment B on User { ...A }",
        "FRAGMENT_CYCLE",
    ),
    ("fragment bomb (2^150)", doubling_chain(150), "TOO_MANY_SELECTIONS"),
    ("introspection lists (3^8)", type_lists(8), "QUERY_TOO_DEEP"),
    ("brackets 900 deep", "{ todos(filter: { priorityIn: " + "[" * 900 + "HIGH" + "]" * 900 + " }) { totalCount } }", "QUERY_TOO_DEEP"),
    ("selections 300 deep", "{ " + "me { " * 300 + "id" + " }" * 300 + " }", "QUERY_TOO_DEEP"),
    ("600 aliases", "{" + " ".join(f"a{i}:__typename" for i in range(600)) + "}", "TOO_MANY_ALIASES"),
    (
        "the largest introspection allowed (15 aliases, lists two deep)",
        "{" + " ".join(f"s{i}: __schema {{ types {{ ...T }} }}" for i in range(15)) + "} "
        "fragment T on __Type { name kind description fields { name description "
        "args { name description type { name kind } } type { name kind description "
        "fields { name description args { name description type { name kind } } "
        "type { name kind ofType { name kind } } } } } }",
        None,
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, query: str, timeout: float = 30) -> tuple[float, dict]:
    body = json.dumps({"query": query}).encode()
    request = urllib.request.Request(url, body, {"content-type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
    except urllib.error.HTTPError as error:
        text = error.read()
    return time.perf_counter() - started, json.loads(text)


def healthz(base: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(base + "/healthz", timeout=30) as response:
        response.read()
    return time.perf_counter() - started


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=str(ROOT / "target/release/todo-graphql"))
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out", help="also write the table to this file")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="todo-attacks.")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        LISTEN_ADDR=f"127.0.0.1:{port}",
        DATABASE_URL=f"sqlite://{work}/todo.db",
        DATA_DIR=work,
        RUST_LOG="warn",
    )
    server = subprocess.Popen([args.binary], env=env, stderr=subprocess.DEVNULL)
    failed = False
    try:
        for _ in range(100):
            try:
                healthz(base)
                break
            except OSError:
                time.sleep(0.1)
        rows = []
        for name, query, reason in ATTACKS:
            times, outcome = [], ""
            for _ in range(args.repeat):
                took, body = post(base + "/graphql", query)
                outcome = (body.get("errors") or [{}])[0].get("extensions", {}).get(
                    "reason"
                ) or f"answered, {len(json.dumps(body))} bytes"
                got = (body.get("errors") or [{}])[0].get("extensions", {}).get("reason")
                # An accepted document must run, or be cut by the response limit.
                accepted = reason is None and got in (None, "RESPONSE_TOO_LARGE")
                if got != reason and not accepted:
                    print(f"{name}: expected {reason}, got {body}", file=sys.stderr)
                    failed = True
                times.append(took)
            with concurrent.futures.ThreadPoolExecutor(9) as pool:
                burst = [pool.submit(post, base + "/graphql", query) for _ in range(8)]
                health = [pool.submit(healthz, base) for _ in range(8)]
                burst_max = max(f.result()[0] for f in burst)
                health_max = max(f.result() for f in health)
            rows.append(
                (name, len(query), outcome, statistics.median(times), max(times), burst_max, health_max)
            )
        healthz(base)
        rss = rss_kib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)

    lines = [
        f"Release binary, SQLite, development mode, {os.cpu_count()} cores; each attack "
        f"{args.repeat} times in a row, then 8 at once while /healthz is timed.",
        "",
        "| attack | bytes | outcome | median | slowest | slowest of 8 at once | slowest /healthz meanwhile |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, size, outcome, median, slowest, burst, health in rows:
        lines.append(
            f"| {name} | {size} | {outcome} | {median * 1000:.2f} ms | {slowest * 1000:.2f} ms | "
            f"{burst * 1000:.2f} ms | {health * 1000:.2f} ms |"
        )
    lines += ["", f"Server RSS afterwards: {rss / 1024:.1f} MiB."]
    table = "\n".join(lines)
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
