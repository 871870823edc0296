"""CPU per request of the 1,000,000-contact reads in-process, on the database the last
`bench/run.py` left (as bench/large.py reuses it: migrated again, a new read-only key).

    .venv/bin/python bench/profile_reads.py [--requests 1000] [--rounds 5]

Each request goes through Django's WSGI handler as gunicorn calls it (middleware, the view, the
rendered body), without the test client, the network or gunicorn; the figure is the least of
`--rounds` means of `--requests` requests of this process's CPU time (time.process_time), which
a busy machine inflates far less than wall time: for comparing two versions of the code back to
back. The trivial view and /api/v1/workspace are measured beside bench/large.py's reads.
Environment: BENCH_DATABASE_URL, BENCH_REDIS_URL, as for bench/large.py.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # bench/harness.py
import large  # bench/large.py: the seeded database and its reads


def _caller(application, path: str, api_key: str):
    route, _, query = path.partition("?")

    def call() -> bytes:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": route,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_ACCEPT": "*/*",
            "HTTP_AUTHORIZATION": f"Bearer {api_key}",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
        }
        statuses: list[str] = []
        body = application(environ, lambda status, headers: statuses.append(status))
        content = b"".join(body)
        body.close()
        if not statuses[0].startswith("200"):
            raise RuntimeError(f"{path} answered {statuses[0]}: {content[:300]!r}")
        return content

    return call


def _cpu_ms(call, requests: int) -> float:
    started = time.process_time()
    for _ in range(requests):
        call()
    return (time.process_time() - started) / requests * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per round (default 1000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per read; the least is kept (default 5)")
    args = parser.parse_args(argv)
    database_url = os.environ.get("BENCH_DATABASE_URL", harness.DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", harness.DEFAULT_REDIS_URL)
    env, api_key, count = large.reuse(database_url, redis_url)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadhub.settings"
    import django

    django.setup()
    from leadhub.wsgi import application

    reads = {
        "trivial (/livez)": "/livez",
        "workspace": "/api/v1/workspace",
        "first page": "/api/v1/contacts",
        **large.lookups(count),
        "search part of a phone": large.partial_phone(count),
    }
    print(f"{count:,} contacts; CPU per request in this process, least of {args.rounds} rounds:")
    for name, path in reads.items():
        call = _caller(application, path, api_key)
        # The general path's search is slower: a tenth of the requests.
        requests = args.requests if name != "search part of a phone" else max(10, args.requests // 10)
        for _ in range(min(50, requests)):
            call()
        best = min(_cpu_ms(call, requests) for _ in range(args.rounds))
        print(f"  {name:<24} {best:6.3f} ms  ({requests} requests a round, {len(call()):,} bytes)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
