"""Where one authenticated API request spends its time, in-process, with the bench's settings.

    .venv/bin/python bench/profile_request.py [--requests 500] [--contacts 20000]
        [--cprofile [workspace|intake|inbound|email|phone]]

Like bench/run.py it recreates BENCH_DATABASE_URL and flushes BENCH_REDIS_URL, then drives
Django's test client (no gunicorn, no network between client and app) against PostgreSQL and
Redis and prints, for `GET /livez`, `GET /api/v1/workspace`, the lead intake `POST
/api/v1/webhook/forms` (a new contact per request, as bench/run.py posts them) and the inbound
WhatsApp webhook `POST /api/whatsapp-inbound` (signed, 2,000 leads in turn, the offline
responder, as bench/messaging.py posts it) and the exact lookups of bench/large.py (`GET
/api/v1/contacts?q=` an e-mail address, then a phone number as people write it, among
--contacts seeded contacts):

- SQL statements and Redis commands per request (the SQL includes Django's connection health
  check, which the ORM's query counting does not see);
- wall and CPU time per request (medians);
- the parts of the authenticated request timed one by one: the API-key lookup (ORM compile vs.
  the round trip), the rate-limit counter, the serializer;
- with --cprofile, the functions that cost most.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import large  # bench/large.py: the seeded contacts and their lookups
import messaging_setup  # bench/messaging_setup.py: the line, the knowledge, signed inbound webhooks
import run  # bench/run.py: database, Redis and environment set-up
from profiling import Tally, timed  # bench/profiling.py


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per measurement (default 500)")
    parser.add_argument(
        "--cprofile",
        nargs="?",
        const="workspace",
        choices=["workspace", "intake", "inbound", "email", "phone"],
        help="also print the costliest functions of that request (default workspace)",
    )
    parser.add_argument(
        "--contacts", type=int, default=20000, help="contacts seeded for the lookups (default 20000; bench/large.py)"
    )
    args = parser.parse_args(argv)
    n = args.requests

    database_url = os.environ.get("BENCH_DATABASE_URL", run.DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", run.DEFAULT_REDIS_URL)
    env, credentials = run.prepare(database_url, redis_url)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadhub.settings"
    # The inbound webhook: a line verified against the Twilio double, signatures over a fixed
    # public base, the offline responder (as bench/messaging.py's part (a)).
    from tests.messaging.doubles import TwilioDouble

    twilio = TwilioDouble().start()
    twilio.add_number(messaging_setup.ACCOUNT_SID, messaging_setup.AUTH_TOKEN, messaging_setup.LINE_NUMBER)
    os.environ.update(
        TWILIO_API_BASE_URL=twilio.url, PUBLIC_BASE_URL=messaging_setup.PUBLIC_BASE_URL, ANTHROPIC_API_KEY=""
    )

    import django

    django.setup()
    from leadhub.tenancy import enter_operator

    enter_operator("bench")  # the seeding and checks here; each measured request clears it
    from django.db import connection
    from django.test import Client, RequestFactory
    from django_redis import get_redis_connection

    from accounts.api import WorkspaceSerializer
    from accounts.credentials import api_key_authenticate, api_key_hash
    from accounts.models import ApiKey
    from leadhub.api.authentication import _api_key_credential
    from leadhub.api.ratelimit import limit

    tally = Tally()
    client = Client(HTTP_HOST="127.0.0.1")
    secret = credentials["api_key"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    def livez():
        return client.get("/livez")

    def workspace():
        return client.get("/api/v1/workspace", **auth)

    intake_token = credentials.get("intake_key") or secret
    counter = iter(range(10**9))

    def intake():
        n = next(counter)
        phone = f"+1818{200 + (n // 10000) % 700 + 20:03d}{n % 10000:04d}"
        body = {
            "api_token": intake_token,
            "phone_number": phone,
            "name": "Bench Lead",
            "email": f"lead{phone[1:]}@example.com",
            "lead_source": "bench",
            "utm_source": "wrk",
        }
        response = client.post("/api/v1/webhook/forms", json.dumps(body), content_type="application/json")
        assert response.status_code == 201, response.content
        return response

    messaging_setup.seed(workspace_id=credentials["workspace_id"])
    messages = iter(range(10**9))

    def inbound():
        n = next(messages)
        form, signature = messaging_setup.signed_form(
            n,
            sender=messaging_setup.lead(n),
            body=messaging_setup.QUESTIONS[n % len(messaging_setup.QUESTIONS)],
        )
        response = client.post(
            messaging_setup.INBOUND,
            form,
            content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE=signature,
        )
        assert response.status_code == 200 and b"<Message>" in response.content, response.content
        return response

    large.seed(database_url, credentials["workspace_id"], args.contacts)
    lookups = large.lookups(args.contacts)

    def email():
        response = client.get(lookups["search by e-mail"], **auth)
        assert response.status_code == 200 and len(response.json()["results"]) == 1, response.content
        return response

    def phone():
        response = client.get(lookups["search by phone"], **auth)
        assert response.status_code == 200 and len(response.json()["results"]) == 1, response.content
        return response

    assert livez().status_code == 200 and workspace().status_code == 200 and intake().status_code == 201

    print(f"{n} requests each; medians of wall time, means of CPU time (this process only)\n")
    rows = []
    for name, fn in (
        ("GET /livez", livez),
        ("GET /api/v1/workspace", workspace),
        ("POST /api/v1/webhook/forms", intake),
        ("POST /api/whatsapp-inbound", inbound),
        ("GET /api/v1/contacts?q=<e-mail>", email),
        ("GET /api/v1/contacts?q=<phone>", phone),
    ):
        fn()
        tally.reset()
        fn()
        sql, cmds = dict(tally.sql), dict(tally.redis)
        wall, cpu = timed(fn, n)
        rows.append((name, wall, cpu))
        print(f"{name}: {wall:.2f} ms wall, {cpu:.2f} ms CPU")
        print(f"  SQL per request ({sum(sql.values())}): {json.dumps(sql)}")
        print(f"  Redis per request ({sum(cmds.values())}): {json.dumps(cmds)}")
    print(f"  → /api/v1/workspace costs {rows[1][2] / rows[0][2]:.1f}× /livez in CPU")
    print(f"  → a new lead costs {rows[2][2] / rows[0][2]:.1f}× /livez in CPU")
    print(f"  → an inbound WhatsApp message costs {rows[3][2] / rows[0][2]:.1f}× /livez in CPU")
    print(
        f"  → an exact lookup costs {rows[4][2] / rows[0][2]:.1f}× (e-mail), "
        f"{rows[5][2] / rows[0][2]:.1f}× (phone) /livez in CPU\n"
    )

    # --- The parts, one at a time -----------------------------------------------------------
    queryset = ApiKey.objects.select_related("workspace__plan", "workspace__agency").filter(
        key_hash=api_key_hash(secret), revoked_at__isnull=True
    )
    compiled_sql, params = queryset.order_by("pk")[:1].query.get_compiler("default").as_sql()

    def raw_lookup():
        with connection.cursor() as cursor:
            cursor.execute(compiled_sql, params)
            cursor.fetchall()

    def select_1():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchall()

    def orm_compile():
        ApiKey.objects.select_related("workspace__plan", "workspace__agency").filter(
            key_hash=api_key_hash(secret), revoked_at__isnull=True
        ).order_by("pk")[:1].query.get_compiler("default").as_sql()

    api_key = api_key_authenticate(secret=secret)
    credential = _api_key_credential(api_key)
    factory_request = RequestFactory().get("/api/v1/workspace")
    redis_client = get_redis_connection("default")

    def rate_limit():
        limit(factory_request, group="bench", key=credential.rate_key, per_minute=run.API_RATE_PER_MINUTE)

    ws = credential.workspace
    plan = ws.plan
    data = {
        "id": ws.id,
        "name": ws.name,
        "slug": ws.slug,
        "agency": None,
        "country": ws.country,
        "timezone": ws.timezone,
        "created_at": ws.created_at,
        "plan": {
            "code": plan.code,
            "name": plan.name,
            "features": {"api_access": plan.api_access, "webhooks": plan.webhooks, "campaigns": plan.campaigns},
            "limits": {"api_rate_per_minute": 1, "intake_rate_per_minute": 1},
        },
        "credential": {"type": "api_key", "id": credential.id, "label": credential.label, "scopes": ["a"]},
        "rate_limit": {"limit": 1, "remaining": 1, "reset": 1, "window_seconds": 60},
    }

    parts = [
        ("api_key_authenticate() (ORM: build + compile + round trip)", lambda: api_key_authenticate(secret=secret)),
        ("  its query built and compiled only (no database)", orm_compile),
        ("  its SQL by a raw cursor (round trip only)", raw_lookup),
        ("  SELECT 1 (the per-request connection health check)", select_1),
        ("rate limit: django-ratelimit get_usage (SET NX + EVAL)", rate_limit),
        ("  one Redis PING round trip", redis_client.ping),
        ("WorkspaceSerializer(data).data", lambda: WorkspaceSerializer(data).data),
    ]
    # The views called directly (no middleware, no test client): what DRF itself costs.
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from accounts.api import WorkspaceView
    from leadhub.views import livez as livez_view

    class BareApiView(APIView):
        authentication_classes: list = []
        permission_classes: list = []
        throttle_classes: list = []

        def get(self, request):
            return Response(data)

    factory = RequestFactory(HTTP_HOST="127.0.0.1")
    bare_view, workspace_view = BareApiView.as_view(), WorkspaceView.as_view()

    def direct(view, **headers):
        def call():
            response = view(factory.get("/api/v1/workspace", **headers))
            if hasattr(response, "render"):
                response.render()
            return response

        return call

    parts += [
        ("views called directly, without middleware:", None),
        ("  livez()", direct(livez_view)),
        ("  a bare DRF APIView: no auth/permissions/throttle, Response(dict)", direct(bare_view)),
        ("  WorkspaceView (auth, permissions, rate limit, serializer)", direct(workspace_view, **auth)),
    ]
    print("The parts of /api/v1/workspace, one at a time:")
    width = max(len(label) for label, _ in parts)
    for label, fn in parts:
        if fn is None:
            print(f"  {label}")
            continue
        wall, cpu = timed(fn, n)
        print(f"  {label.ljust(width)}  {wall:6.3f} ms wall  {cpu:6.3f} ms CPU")

    if args.cprofile:
        profile = cProfile.Profile(time.process_time)  # CPU time: waits on PostgreSQL and Redis do not count
        profile.enable()
        target = {"intake": intake, "inbound": inbound, "email": email, "phone": phone}.get(args.cprofile, workspace)
        for _ in range(n):
            target()
        profile.disable()
        stream = io.StringIO()
        stats = pstats.Stats(profile, stream=stream).strip_dirs()
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(40)
        print(stream.getvalue())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except run.BenchError as exc:
        print(f"profile: {exc}", file=sys.stderr)
        sys.exit(1)
