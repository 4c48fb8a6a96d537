"""A bounded load test of ``policy-qa serve`` on loopback: throughput, latency, shedding
and health under 1, 16 and 64 concurrent clients asking questions it has not seen.

    python -m eval.load                      # starts its own server on an empty home
    python -m eval.load --url http://127.0.0.1:7860 --clients 1,16,64 --seconds 20

Each level runs for ``--seconds`` (and at most ``--max-requests``): every client asks a
new question from the trap and gold sets (so no answer comes from a warm cache), waits
for the reply and asks the next. A prober in its own process GETs ``/healthz`` every 50 ms. Printed
per level: answers per second, p50/p95 latency of the answered ones, the share of 503s
(shed with Retry-After; a shed client waits as told, capped at 1 s), and the p99 and worst
``/healthz`` times. A benchmark run by hand, never a test; it only talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from urllib.parse import urlparse

import httpx

DATA = Path(__file__).parent / "data"


def questions() -> list[str]:
    """Distinct questions from the project's own sets, in a fixed order."""
    seen: dict[str, None] = {}
    for name in ("traps.jsonl", "gold.jsonl", "open.jsonl"):
        path = DATA / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                q = json.loads(line).get("question")
                if q:
                    seen.setdefault(q, None)
    return list(seen)


async def level(url: str, clients: int, seconds: float, max_requests: int, pool: list[str],
                offset: int) -> dict[str, float]:
    latencies: list[float] = []
    shed = errors = 0
    stop = time.monotonic() + seconds
    issued = 0
    limits = httpx.Limits(max_connections=clients + 2, max_keepalive_connections=clients + 2)

    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:

        async def client() -> None:
            nonlocal issued, shed, errors
            while time.monotonic() < stop and issued < max_requests:
                q = pool[(offset + issued) % len(pool)]
                issued += 1
                t0 = time.monotonic()
                try:
                    r = await http.post("/api/ask", json={"question": q})
                except httpx.HTTPError:
                    errors += 1
                    continue
                if r.status_code == 200:
                    latencies.append(time.monotonic() - t0)
                elif r.status_code == 503:
                    shed += 1
                    await asyncio.sleep(min(1.0, float(r.headers.get("retry-after", "1"))))
                else:
                    errors += 1

        # The prober is its own process: in this event loop its timings would include the
        # time 64 clients' replies take to parse here, which is the load generator's delay,
        # not the server's.
        ctx = multiprocessing.get_context("spawn")
        results, sink = ctx.Pipe(duplex=False)
        probe = ctx.Process(target=probe_health, args=(url, seconds, sink), daemon=True)
        probe.start()
        t0 = time.monotonic()
        await asyncio.gather(*(client() for _ in range(clients)))
        wall = time.monotonic() - t0
        health: list[float] = results.recv() if results.poll(seconds + 35) else [float("inf")]
        probe.join(timeout=5)
    done = len(latencies)
    total = done + shed + errors
    q = statistics.quantiles(latencies, n=20) if done >= 2 else [latencies[0] if latencies else 0.0] * 19
    return {"clients": clients, "requests": total, "answered": done, "per_s": done / wall,
            "p50_s": statistics.median(latencies) if latencies else 0.0, "p95_s": q[18],
            "shed_share": shed / total if total else 0.0, "errors": errors, "healthz_probes": len(health),
            "p99_healthz_s": statistics.quantiles(health, n=100)[98] if len(health) >= 2 else health[0],
            "worst_healthz_s": max(health)}


def probe_health(url: str, seconds: float, sink: Connection) -> None:
    """GET ``/healthz`` every 50 ms for ``seconds``; send back each response time (a
    timeout or a failure counts as its full wait: a liveness probe would have failed)."""
    times: list[float] = []
    stop = time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=30) as http:
        while time.monotonic() < stop:
            t0 = time.monotonic()
            try:
                http.get("/healthz").raise_for_status()
            except httpx.HTTPError:
                pass
            times.append(time.monotonic() - t0)
            time.sleep(0.05)
    sink.send(times)


def start_server(port: int) -> tuple[subprocess.Popen[bytes], tempfile.TemporaryDirectory[str]]:
    home = tempfile.TemporaryDirectory()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_QA_")}
    env.update({"POLICY_QA_HOME": home.name})
    if "POLICY_QA_CACHE_DIR" in os.environ:
        env["POLICY_QA_CACHE_DIR"] = os.environ["POLICY_QA_CACHE_DIR"]
    proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=Path(__file__).parent.parent)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc, home
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the server did not become ready within 300 s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.load", description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running server on 127.0.0.1 (default: start one on an empty home)")
    ap.add_argument("--port", type=int, default=7897)
    ap.add_argument("--clients", default="1,16,64")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--max-requests", type=int, default=2000, help="per level")
    ap.add_argument("--offset", type=int, default=0,
                    help="first question of the pool to ask (runs against one server: pass on the last run's total)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.url and urlparse(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("load tests target 127.0.0.1 only")
    proc = home = None
    url = args.url
    if not url:
        proc, home = start_server(args.port)
        url = f"http://127.0.0.1:{args.port}"
    pool = questions()
    rows = []
    try:
        offset = args.offset
        for n in (int(x) for x in args.clients.split(",")):
            row = asyncio.run(level(url, n, args.seconds, args.max_requests, pool, offset))
            offset += int(row["requests"])
            rows.append(row)
            if not args.json:
                print(f"{n:>3} clients: {row['per_s']:.1f} answers/s, p50 {row['p50_s'] * 1000:.0f} ms, "
                      f"p95 {row['p95_s'] * 1000:.0f} ms, shed {row['shed_share']:.0%} of {row['requests']}, "
                      f"errors {row['errors']}, /healthz p99 {row['p99_healthz_s'] * 1000:.0f} ms, "
                      f"worst {row['worst_healthz_s'] * 1000:.0f} ms of {row['healthz_probes']}", flush=True)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
        if home is not None:
            home.cleanup()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"(questions {args.offset}..{offset - 1} of {len(pool)} asked; a next run on this server: --offset {offset})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
