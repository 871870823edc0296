"""Where the widget's availability call spends its time, in-process, with bench/booking.py's data.

    .venv/bin/python bench/profile_booking.py [--requests 300] [--bookings 1000] [--cprofile]

Recreates BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/leadhub_bench_booking_profile;
dropped and recreated) and flushes BENCH_REDIS_URL (default redis://127.0.0.1:6379/10), seeds
the workspace as bench/booking.py does (7 days of 15-minute slots, 1,000 bookings, every other
slot of the coming week taken), then drives Django's test client (no gunicorn, no network
between client and app) and prints, per request, the SQL statements and the wall and CPU time
(medians of wall, means of CPU) of:

- `GET /api/book-meeting?action=availability` (the widget) and, beside it, `GET /livez`;
- `GET /api/v1/availability` (the rules only: it computes no slots);
- the parts of the availability call one by one: the rules and Calendly lookup, the held
  ranges' query, the slot arithmetic, the slots as the widget's dicts, and the JSON rendering;
- with --cprofile, the costliest functions of the availability call in CPU time
  (`cProfile.Profile(time.process_time)`: waits on PostgreSQL and Redis do not count).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import importlib.util
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from harness import BenchError, prepare  # noqa: E402
from profiling import Tally, timed  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadhub_bench_booking_profile"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"


def bench_booking():
    """bench/booking.py (its seed), loaded by path: `booking` on sys.path is the Django app."""
    spec = importlib.util.spec_from_file_location("bench_booking", BENCH / "booking.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per measurement (default 300)")
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--cprofile", action="store_true", help="also print the costliest functions")
    args = parser.parse_args(argv)
    n = args.requests

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    env, credentials = prepare(database_url, redis_url)
    env["PUBLIC_RATE_PER_MINUTE"] = "100000000"  # counted in Redis, never refused
    print("seeded:", bench_booking().seed(env, credentials["workspace_id"], args.bookings))
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadhub.settings"

    import django

    django.setup()
    from leadhub.tenancy import enter_operator

    enter_operator("bench")  # the seeding and checks here; each measured request clears it
    from django.test import Client
    from django.utils import timezone
    from rest_framework.renderers import JSONRenderer

    from accounts.models import Workspace
    from booking import slots as availability
    from booking.availability import selectors
    from booking.widget import services as widget
    from messaging.models import Brain

    tally = Tally()
    client = Client(HTTP_HOST="127.0.0.1")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {credentials['api_key']}"}
    path = f"/api/book-meeting?action=availability&bot_id={credentials['bot_id']}"

    def public():
        response = client.get(path)
        assert response.status_code == 200, response.content
        return response

    def livez():
        return client.get("/livez")

    def rules_api():
        response = client.get("/api/v1/availability", **auth)
        assert response.status_code == 200, response.content
        return response

    answer = public().json()
    print(f"the answer: {answer['method']}, {len(answer['slots'])} slots, {len(public().content):,} bytes\n")

    print(f"{n} requests each; medians of wall time, means of CPU time (this process only)")
    for name, fn in (("GET /livez", livez), ("GET /api/book-meeting?action=availability", public)):
        fn()
        tally.sql.clear()
        fn()
        sql = dict(tally.sql)
        wall, cpu = timed(fn, n)
        print(f"  {name}: {wall:.2f} ms wall, {cpu:.2f} ms CPU; SQL ({sum(sql.values())}): {json.dumps(sql)}")
    wall, cpu = timed(rules_api, n)
    print(f"  GET /api/v1/availability (the rules, no slots): {wall:.2f} ms wall, {cpu:.2f} ms CPU")

    workspace = Workspace.objects.get(pk=credentials["workspace_id"])
    rules_row, _ = selectors.calendars_get(workspace=workspace)
    rules = selectors.rules_of(rules_row)
    now = timezone.now()
    end = now + dt.timedelta(days=rules.horizon_days, minutes=rules.buffer_minutes)
    held = selectors.held_ranges(workspace=workspace, start=now, end=end)
    slots = availability.free_slots(rules, now=now, held=held)
    body = widget.availability(brain=Brain.objects.select_related("workspace").get(bot_id=credentials["bot_id"]))
    print(f"\nThe parts ({len(held)} held ranges, {len(slots)} free slots):")
    parts = [
        ("calendars_get (rules + Calendly, one query)", lambda: selectors.calendars_get(workspace=workspace)),
        ("held_ranges (the query and parsing)", lambda: selectors.held_ranges(workspace=workspace, start=now, end=end)),
        ("candidate_slots (the rules' slots, busy or not)", lambda: availability.candidate_slots(rules, now=now)),
        ("free_slots (candidates minus held ranges)", lambda: availability.free_slots(rules, now=now, held=held)),
        ("the slots as the widget's dicts", lambda: widget._native(slots)),
        ("JSONRenderer().render(the answer)", lambda: JSONRenderer().render(body)),
    ]
    width = max(len(label) for label, _ in parts)
    for label, fn in parts:
        wall, cpu = timed(fn, n)
        print(f"  {label.ljust(width)}  {wall:7.3f} ms wall  {cpu:7.3f} ms CPU")

    if args.cprofile:
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for _ in range(n):
            public()
        profile.disable()
        if os.environ.get("PROFILE_DUMP"):
            profile.dump_stats(os.environ["PROFILE_DUMP"])
        stream = io.StringIO()
        stats = pstats.Stats(profile, stream=stream).strip_dirs()
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        print(stream.getvalue())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"profile: {exc}", file=sys.stderr)
        sys.exit(1)
