"""Cost of the request observer (request id, Prometheus metrics, access log) per request.

Calls a trivial ASGI endpoint in-process (no sockets, no Redis), with and without
:class:`RequestObserver` around it, interleaving the two in rounds so machine noise hits both
alike; then the same with ``ACCESS_LOG`` on (its output goes to /dev/null), and times one
``/metrics`` rendering of a registry holding many label sets. Prints medians per request
and the difference, which is the middleware's whole cost.

    .venv/bin/python scripts/bench_observability.py [--requests 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prometheus_client import generate_latest  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import Mount, Route  # noqa: E402

from agent_memory.observability import Metrics, RequestObserver  # noqa: E402


async def _ok(request: object) -> PlainTextResponse:
    return PlainTextResponse("ok")


def _app(observe: bool, access_log: bool) -> Starlette:
    from starlette.middleware import Middleware

    middleware = [Middleware(RequestObserver, metrics=Metrics(), access_log=access_log)]
    return Starlette(routes=[Mount("/v1", routes=[Route("/items/{item_id}", _ok)])],
                     middleware=middleware if observe else [])


async def _drive(app: Starlette, n: int) -> float:
    """Seconds per request over ``n`` sequential in-process requests."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": "/v1/items/42", "raw_path": b"",
             "root_path": "", "query_string": b"", "server": ("t", 80), "client": ("c", 1),
             "headers": [(b"host", b"t"), (b"x-request-id", b"bench-1")]}

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        return None

    start = time.perf_counter()
    for _ in range(n):
        await app(dict(scope), receive, send)
    return (time.perf_counter() - start) / n


async def main(requests: int, rounds: int) -> None:
    apps = {"bare": _app(False, False), "observed": _app(True, False),
            "observed+access_log": _app(True, True)}
    samples: dict[str, list[float]] = {name: [] for name in apps}
    real_stderr = sys.stderr
    with open(os.devnull, "w") as devnull:
        sys.stderr = devnull  # the access log writes to stderr; keep the terminal readable
        try:
            for app in apps.values():  # warm up (middleware stacks, label children)
                await _drive(app, 500)
            for _ in range(rounds):
                for name, app in apps.items():
                    samples[name].append(await _drive(app, requests))
        finally:
            sys.stderr = real_stderr
    med = {name: statistics.median(values) * 1e6 for name, values in samples.items()}
    print(f"in-process GET, {requests} requests x {rounds} rounds, median us/request:")
    for name, value in med.items():
        print(f"  {name:22s} {value:8.2f} us")
    print(f"  observer cost          {med['observed'] - med['bare']:8.2f} us/request")
    access = med["observed+access_log"] - med["observed"]
    print(f"  access log cost        {access:8.2f} us/request")

    metrics = Metrics()
    for route in range(30):
        for status in ("200", "404", "422", "503"):
            metrics.observe_request("GET", f"/v1/route/{route}", int(status), 0.003)
    times = []
    for _ in range(50):
        start = time.perf_counter()
        generate_latest(metrics.registry)
        times.append(time.perf_counter() - start)
    print("/metrics rendering, 120 request label sets: "
          f"median {statistics.median(times) * 1e3:.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
