"""Auth overhead per request: AUTH_MODE=disabled vs token, with 1 and with 10,000 stored tokens.

Starts a throw-away embedded Redis and three API processes on it (``agent-memory api``, real
uvicorn on loopback): auth disabled, token mode, and oauth2 (RS256 JWT, JWKS served on
loopback; its figure does not depend on the token store). Three phases run against
the same processes and the same Redis: 1 stored token, then ``--tokens`` stored tokens,
then 1 again (the fillers removed). In each phase requests go round-robin in rounds to every
server, so machine noise hits them alike; the disabled server is the noise control.
Two paths are timed, sequentially, over keep-alive:

- ``/v1/auth-probe``: no such route. With auth on the middleware runs (header parse,
  SHA-256, one ``HGETALL``) and the router answers 404; with auth off only the router
  runs. The difference is the whole cost of authentication.
- ``GET /v1/working-memory/?limit=1``: a real route (one FT.SEARCH), for scale.

Token lookup is by digest, so the overhead with 10,000 tokens must match the 1-token one.

    .venv/bin/python scripts/bench_auth.py
    .venv/bin/python scripts/bench_auth.py --rounds 10 --per-round 300 --tokens 10000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from redis.asyncio import Redis  # noqa: E402

from agent_memory.auth import issue_token  # noqa: E402
from agent_memory.storage.auth_tokens import TokenStore  # noqa: E402
from agent_memory.embedded_redis import temporary_redis  # noqa: E402
from scripts._bench.harness import api_process, percentile  # noqa: E402
from scripts._bench.http import Connection  # noqa: E402
from agent_memory.embedded_redis import free_port  # noqa: E402

ISSUER, AUDIENCE = "https://issuer.bench", "agent-memory"

PATHS = {"auth only (404 probe)": "/v1/auth-probe", "list sessions": "/v1/working-memory/?limit=1"}


async def seed(url: str, count: int) -> list[str]:
    """Store ``count`` namespace-bound filler tokens; return their digests."""
    redis = Redis.from_url(url)
    store = TokenStore(redis)
    digests: list[str] = []
    try:
        started = time.perf_counter()
        for first in range(0, count, 32):  # 32 at a time: the client pool is bounded
            made = await asyncio.gather(*(
                issue_token(store, description=f"filler {i}", namespaces=[f"ns-{i}"])
                for i in range(first, min(first + 32, count))))
            digests += [record.digest for _, record in made]
        print(f"  {count:,} filler tokens stored in {time.perf_counter() - started:.1f} s; "
              f"{await redis.scard('am:auth:tokens'):,} tokens in the store")
        return digests
    finally:
        await redis.aclose()


async def unseed(url: str, digests: list[str]) -> None:
    """Revoke the filler tokens."""
    redis = Redis.from_url(url)
    try:
        store = TokenStore(redis)
        for first in range(0, len(digests), 32):
            await asyncio.gather(*(store.remove(d) for d in digests[first:first + 32]))
        print(f"  fillers removed; {await redis.scard('am:auth:tokens'):,} tokens in the store")
    finally:
        await redis.aclose()


@contextlib.contextmanager
def jwks_server() -> Iterator[tuple[str, str]]:
    """A JWKS on loopback (uvicorn in a thread); yields ``(jwks_url, admin JWT)``."""
    import jwt
    import uvicorn
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": "bench", "use": "sig"}

    async def serve_jwks(request: object) -> JSONResponse:
        return JSONResponse({"keys": [jwk]})

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/jwks", serve_jwks)]),
                                           host="127.0.0.1", port=port, log_level="error",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    now = int(time.time())
    token = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "bench", "iat": now,
                        "exp": now + 86400, "scope": "memory:admin"}, key, algorithm="RS256",
                       headers={"kid": "bench"})
    try:
        yield f"http://127.0.0.1:{port}/jwks", token
    finally:
        server.should_exit = True
        thread.join(timeout=5)


async def admin_token(url: str) -> str:
    """The one token the benchmark authenticates with."""
    redis = Redis.from_url(url)
    try:
        secret, _ = await issue_token(TokenStore(redis), description="bench", admin=True)
        return secret
    finally:
        await redis.aclose()


async def measure(servers: dict[str, tuple[str, dict[str, str]]], rounds: int,
                  per_round: int) -> dict[tuple[str, str], list[float]]:
    """Round-robin timing of every (server, path); returns seconds per request."""
    conns = {}
    for name, (base, _) in servers.items():
        host, port = base.removeprefix("http://").split(":")
        conns[name] = Connection(host, int(port))
    samples: dict[tuple[str, str], list[float]] = {
        (s, p): [] for s in servers for p in PATHS}
    expected = {"auth only (404 probe)": 404, "list sessions": 200}
    for name, (_, headers) in servers.items():  # warm-up: connections, caches, JIT-free paths
        for path in PATHS.values():
            for _ in range(100):
                await conns[name].request("GET", path, headers=headers)
    for _ in range(rounds):
        for name, (_, headers) in servers.items():
            for label, path in PATHS.items():
                conn, out = conns[name], samples[(name, label)]
                for _ in range(per_round):
                    t0 = time.perf_counter()
                    status, _body = await conn.request("GET", path, headers=headers)
                    out.append(time.perf_counter() - t0)
                    if status != expected[label]:
                        raise RuntimeError(f"{name} {path}: HTTP {status}")
    for conn in conns.values():
        await conn.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=10_000, help="tokens in the large store")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--per-round", type=int, default=250)
    args = parser.parse_args()

    phases: dict[str, dict[tuple[str, str], list[float]]] = {}
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(temporary_redis(persistent=False)).url
        secret = asyncio.run(admin_token(url))
        jwks_url, jwt_token = stack.enter_context(jwks_server())
        servers = {
            "disabled": (stack.enter_context(api_process(url, AUTH_MODE="disabled")), {}),
            "token": (stack.enter_context(api_process(url, AUTH_MODE="token")),
                      {"authorization": f"Bearer {secret}"}),
            "oauth2": (stack.enter_context(api_process(
                url, AUTH_MODE="oauth2", OAUTH2_ISSUER_URL=ISSUER, OAUTH2_AUDIENCE=AUDIENCE,
                OAUTH2_JWKS_URL=jwks_url)), {"authorization": f"Bearer {jwt_token}"}),
        }
        print("phase: 1 stored token")
        phases["1 token"] = asyncio.run(measure(servers, args.rounds, args.per_round))
        fillers = asyncio.run(seed(url, args.tokens - 1))
        print(f"phase: {args.tokens:,} stored tokens")
        phases[f"{args.tokens:,} tokens"] = asyncio.run(
            measure(servers, args.rounds, args.per_round))
        asyncio.run(unseed(url, fillers))
        print("phase: 1 stored token again")
        phases["1 token again"] = asyncio.run(measure(servers, args.rounds, args.per_round))

    print(f"\n{args.rounds} rounds x {args.per_round} sequential keep-alive requests per "
          "server, path and phase (ms)")
    overhead: dict[str, float] = {}
    for phase, samples in phases.items():
        print(f"\n{phase}")
        for label in PATHS:
            for name in servers:
                values = samples[(name, label)]
                print(f"  {label:<22} {name:<9} p50={statistics.median(values) * 1000:7.3f}  "
                      f"p95={percentile(values, 95) * 1000:7.3f}  n={len(values)}")
        probe = "auth only (404 probe)"
        off = statistics.median(samples[("disabled", probe)]) * 1000
        for mode in ("token", "oauth2"):
            on = statistics.median(samples[(mode, probe)]) * 1000
            if mode == "token":
                overhead[phase] = on - off
            print(f"  {mode} auth overhead (probe p50 - disabled): {(on - off) * 1000:.0f} us; "
                  f"ratio {mode}/disabled {on / off:.2f}x")
    first, large = overhead["1 token"], overhead[f"{args.tokens:,} tokens"]
    print(f"\noverhead with {args.tokens:,} tokens / with 1 token: {large / first:.2f}x "
          "(~1.0 expected: one HGETALL by digest whatever the count)")


if __name__ == "__main__":
    main()
