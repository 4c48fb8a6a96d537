"""How long a fresh install takes to serve: `policy-qa serve` on an empty home and an empty
embedding cache, timed to ``/readyz`` 200 and to the first answer (loopback only).

    python -m eval.startup [--runs 3] [--port 7899]

Prints one line per run and the median; a benchmark run by hand, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

QUESTION = "处理不满十四周岁未成年人个人信息需要谁同意？"


def one_run(port: int, timeout: float = 120.0) -> tuple[float, float]:
    """(seconds to /readyz 200, seconds to the first answer after that)."""
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_QA_")}
        env.update({"POLICY_QA_HOME": home, "POLICY_QA_CACHE_DIR": cache})
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=Path(__file__).parent.parent)
        try:
            base = f"http://127.0.0.1:{port}"
            while True:
                if time.perf_counter() - t0 > timeout:
                    raise TimeoutError(f"/readyz not ready after {timeout:g} s")
                try:
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            ready = time.perf_counter() - t0
            t1 = time.perf_counter()
            r = httpx.post(f"{base}/api/ask", json={"question": QUESTION}, timeout=60)
            r.raise_for_status()
            return ready, time.perf_counter() - t1
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.startup", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--port", type=int, default=7899)
    args = ap.parse_args(argv)
    ready, first = [], []
    for i in range(args.runs):
        r, f = one_run(args.port)
        ready.append(r)
        first.append(f)
        print(f"run {i + 1}: ready after {r:.1f} s, first answer {f * 1000:.0f} ms")
    print(f"median: ready after {statistics.median(ready):.1f} s, first answer {statistics.median(first) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
