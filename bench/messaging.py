"""WhatsApp and SMS under load (issue #9), through gunicorn as production runs it (PostgreSQL,
Redis, Celery prefork), the providers played by the local doubles of tests/messaging/doubles.py.

    .venv/bin/python bench/messaging.py [--duration 15] [--conversations 50] [--rounds 3]
        [--sends 5000] [--only inbound|model|send] [--strict]

(a) inbound: `POST /api/whatsapp-inbound` answered with TwiML by the offline responder (no
    ANTHROPIC_API_KEY) from the brain's knowledge, wrk with 16 connections beside `/livez` in
    the same run. Every request is signed as Twilio signs (X-Twilio-Signature over
    PUBLIC_BASE_URL + path and the form) and carries a MessageSid of its own: the bodies are
    signed beforehand, one file per wrk thread and run, read by the Lua script (a repeat would
    be a redelivery, a cheaper path: the script counts any). 2,000 leads write in turn, so a
    conversation's turns never queue behind each other and no lead reaches the hourly cap.
    Targets: ≥ 0.25 × trivial req/s, p99 ≤ 100 ms.
(b) model: the Anthropic double answers after 2 s; --conversations leads write at the same
    moment, --rounds times: every webhook answered with the model's reply, p99 ≤ 3 s (nobody
    queues behind another's model call).
(c) send: --sends `send-whatsapp` calls (WhatsApp templates, so no 24-hour window applies)
    queued through the API with no worker running; then a Celery worker (prefork, one process
    per CPU, as docker-compose runs it) starts and hands them to the Twilio double: messages
    the provider received per second, first to last. Target ≥ 300/s.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/leadhub_bench_messaging;
dropped and recreated), BENCH_REDIS_URL (default redis://127.0.0.1:6379/13; flushed). Uses
bench/harness.py's database reset, gunicorn and wrk, and bench/webhooks.py's Celery process.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import harness  # bench/harness.py, beside this script: the database, gunicorn and wrk
from cpu import CpuWatch, cpu_per_request, machine_busy  # bench/cpu.py
from harness import REPO, BenchError, Scenario, Server, prepare, run_wrk

from webhooks import Celery  # bench/webhooks.py (bench/ comes first on sys.path: not the app)

sys.path.append(str(REPO))  # after bench/: `tests` is the repository's
from messaging_model import bench_model  # bench/messaging_model.py: part (b)
from messaging_setup import ACCOUNT_SID, AUTH_TOKEN, INBOUND, LINE_NUMBER, PUBLIC_BASE_URL, QUESTIONS, lead, signed_form
from statements import StatementWatch, analyze, print_report, track_planning  # bench/statements.py

from tests.messaging.doubles import AnthropicDouble, TwilioDouble

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadhub_bench_messaging"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
TARGET_RATIO, TARGET_P99_MS = 0.25, 100.0
TARGET_SENDS_PER_S = 300.0

# --- (a) inbound, wrk --------------------------------------------------------------------------

# Each wrk thread reads its own file of pre-signed requests (body TAB signature per line) for
# this run (LEADHUB_BENCH_RUN, a new number for every wrk run, warm-up included). An answer
# other than 200 with a <Message> is counted (BAD); so is a file used up (REPEATS: what follows
# are redeliveries).
INBOUND_LUA = r"""
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  bad, repeats, n = 0, 0, 0
  forms, signatures = {}, {}
  local run = os.getenv("LEADHUB_BENCH_RUN") or "0"
  for line in io.lines("DIR/requests-" .. run .. "-" .. id .. ".txt") do
    local tab = line:find("\t", 1, true)
    table.insert(forms, line:sub(1, tab - 1))
    table.insert(signatures, line:sub(tab + 1))
  end
end
function request()
  n = n + 1
  if n > #forms then n = 1; repeats = repeats + 1 end
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded",
                                  ["X-Twilio-Signature"] = signatures[n]}, forms[n])
end
function response(status, headers, body)
  if status ~= 200 or not body:find("<Message>", 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local b, r = 0, 0
  for _, thread in ipairs(threads) do b = b + thread:get("bad"); r = r + thread:get("repeats") end
  io.write(string.format("BAD %d\nREPEATS %d\n", b, r))
end
"""


class Signed:
    """Writes the pre-signed requests of the next wrk run, `per_thread` for each wrk thread."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.count = 0

    def prepare(self, per_thread: int) -> None:
        upcoming = harness._wrk_runs + 1  # run_wrk numbers its runs: this is the next one's
        for thread in range(harness.WRK_THREADS):
            lines = []
            for _ in range(per_thread):
                n = self.count
                self.count += 1
                form, signature = signed_form(n, sender=lead(n), body=QUESTIONS[n % len(QUESTIONS)])
                lines.append(f"{form}\t{signature}")
            (self.directory / f"requests-{upcoming}-{thread}.txt").write_text("\n".join(lines) + "\n")


def _counter(raw: str, name: str) -> int:
    for line in raw.splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    raise BenchError(f"wrk printed no {name} line")


def measure_wrk(
    scenario: Scenario,
    base_url: str,
    *,
    duration: float,
    signed: Signed | None,
    rate_guess: float,
    watch: CpuWatch,
    database_url: str | None = None,
):
    harness.probe(base_url, scenario)
    if signed:
        signed.prepare(int(rate_guess * 2 / harness.WRK_THREADS) + 500)
    run_wrk(scenario, base_url, duration=2)  # warm-up
    if signed:
        signed.prepare(int(rate_guess * duration / harness.WRK_THREADS) + 1000)
    statements = StatementWatch(database_url) if database_url else None
    if statements:
        # The tables were empty a moment ago: statistics as autovacuum keeps them (bench/statements.py).
        analyze(database_url)
        statements.start()
    before = watch.snapshot()
    result = run_wrk(scenario, base_url, duration=duration)
    after = watch.snapshot()
    problems = list(result.errors)
    if signed:
        if bad := _counter(result.raw, "BAD"):
            problems.append(f"{bad} answers were not 200 TwiML with a <Message>")
        if repeats := _counter(result.raw, "REPEATS"):
            problems.append(f"the signed requests ran out {repeats} times (raise the rate guess)")
    return {
        "scenario": scenario.name,
        "req_per_sec": round(result.req_per_sec, 1),
        "p50_ms": result.latency_ms["50"],
        "p99_ms": result.latency_ms["99"],
        "requests": result.requests,
        # CPU milliseconds per request: gunicorn, the bench database's backends, Redis, wrk
        "cpu_ms_per_request": cpu_per_request(before, after, result.requests),
        "statements": statements.report(result.requests) if statements else None,
        "problems": problems,
    }


def bench_inbound(env: dict[str, str], *, duration: float, stamp: str, workdir: Path) -> dict:
    trivial = Scenario("trivial", "/livez", "Django's floor")
    inbound = Scenario(
        "inbound",
        INBOUND,
        "signed WhatsApp webhook → contact, conversation, message, offline reply from knowledge, TwiML",
        lua=INBOUND_LUA.replace("DIR", str(workdir)),
    )
    signed = Signed(workdir)
    track_planning(env["DATABASE_URL"])
    with Server(env, REPO / "bench" / "results" / f"messaging-inbound-{stamp}.gunicorn.log") as server:
        server.wait_ready()
        watch = CpuWatch(
            gunicorn_pid=server.proc.pid,
            database=urlsplit(env["DATABASE_URL"]).path.lstrip("/"),
            redis_port=urlsplit(env["REDIS_URL"]).port or 6379,
        )
        floor = measure_wrk(trivial, server.base_url, duration=duration, signed=None, rate_guess=0, watch=watch)
        rate_guess = max(400.0, floor["req_per_sec"])  # inbound is never faster than the floor
        row = measure_wrk(
            inbound,
            server.base_url,
            duration=duration,
            signed=signed,
            rate_guess=rate_guess,
            watch=watch,
            database_url=env["DATABASE_URL"],
        )
        if server.proc.poll() is not None:
            row["problems"].append(f"gunicorn died:\n{server.log_tail()}")
    ratio = row["req_per_sec"] / floor["req_per_sec"] if floor["req_per_sec"] else 0.0
    return {
        "rows": [floor, row],
        "ratio": round(ratio, 3),
        "pass": ratio >= TARGET_RATIO and row["p99_ms"] <= TARGET_P99_MS,
        "target": f"inbound ≥ {TARGET_RATIO} × trivial, p99 ≤ {TARGET_P99_MS:g} ms",
    }


# --- (c) send-whatsapp to the Twilio double ---------------------------------------------------


def bench_send(
    base_url: str, env: dict[str, str], twilio: TwilioDouble, api_key: str, *, sends: int, logs: Path
) -> dict:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}
    path = "/api/zapier-webhook?action=send-whatsapp"
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    local = threading.local()

    def send(n: int) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            parts = urlsplit(base_url)
            conn = local.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        body = {"to": lead(n, area="310"), "content_sid": "HX" + "d" * 32, "content_variables": {"1": f"#{n}"}}
        conn.request("POST", path, body=json.dumps(body).encode(), headers=headers)
        response = conn.getresponse()
        response.read()
        with lock:
            statuses[response.status] = statuses.get(response.status, 0) + 1

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, range(sends)))
    queued_in = time.monotonic() - started
    before = len(twilio.messages)
    worker = Celery("worker", env, logs / "messaging-worker.log", concurrency=os.cpu_count() or 2)
    worker_started = time.monotonic()
    worker.start()
    try:
        deadline = time.monotonic() + max(120.0, sends / 20)
        while len(twilio.messages) - before < sends and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        worker.stop()
    received = [r.at for r in twilio.requests if r.method == "POST" and r.path.endswith("/Messages.json")][before:]
    problems = []
    if statuses.get(202, 0) != sends:
        problems.append(f"send-whatsapp answered {statuses}, not 202 × {sends}")
    if len(received) < sends:
        problems.append(f"the provider received {len(received)} of {sends} messages")
    span = received[-1] - received[0] if len(received) > 1 else 0.0
    rate = (len(received) - 1) / span if span else 0.0
    return {
        "sends": sends,
        "api_accepted_per_s": round(sends / queued_in, 1),
        "handed_to_provider": len(received),
        "handed_per_s": round(rate, 1),
        "worker_start_to_last_s": round(received[-1] - worker_started, 2) if received else None,
        "worker": f"celery prefork, concurrency {os.cpu_count() or 2}",
        "problems": problems,
        "pass": not problems and rate >= TARGET_SENDS_PER_S,
        "target": f"≥ {TARGET_SENDS_PER_S:g} messages handed to the provider per second",
    }


# --- Main ---------------------------------------------------------------------------------------


# Django in a process of its own, started in the repository: there `messaging` is the app
# (here, bench/ comes first on sys.path and it would be this script).
SEED = (
    "import sys, django; django.setup(); sys.path.append('bench'); import messaging_setup; "
    "from leadhub.tenancy import enter_operator; enter_operator('bench'); "
    "messaging_setup.seed(workspace_id=sys.argv[1])"
)


def seed(env: dict[str, str], workspace_id: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SEED, workspace_id],
        cwd=REPO,
        env={**env, "DJANGO_SETTINGS_MODULE": "leadhub.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(f"seeding the line and the knowledge failed:\n{proc.stdout}{proc.stderr}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sends", type=int, default=5000)
    parser.add_argument("--only", action="append", choices=["inbound", "model", "send"])
    parser.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    args = parser.parse_args(argv)
    only = set(args.only or ["inbound", "model", "send"])
    harness.ensure_wrk()
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    busy = machine_busy()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report: dict = {"when": stamp, "machine_busy_before": busy, "cpus": os.cpu_count(), "git": harness.git_revision()}
    problems: list[str] = []
    with TwilioDouble() as twilio, AnthropicDouble() as model, tempfile.TemporaryDirectory(prefix="lh-msg-") as tmp:
        twilio.add_number(ACCOUNT_SID, AUTH_TOKEN, LINE_NUMBER)
        env, credentials = prepare(database_url, redis_url)
        env.update(
            TWILIO_API_BASE_URL=twilio.url,
            PUBLIC_BASE_URL=PUBLIC_BASE_URL,
            ANTHROPIC_API_KEY="",
            ANTHROPIC_BASE_URL="",
        )
        seed(env, credentials["workspace_id"])
        workdir = Path(tmp)
        if "inbound" in only:
            print("(a) inbound webhook → TwiML, offline responder, wrk 16 connections …", flush=True)
            report["inbound"] = bench_inbound(env, duration=args.duration, stamp=stamp, workdir=workdir)
            for row in report["inbound"]["rows"]:
                problems += [f"{row['scenario']}: {p}" for p in row["problems"]]
        if only & {"model", "send"}:
            model_env = {**env, "ANTHROPIC_API_KEY": "sk-ant-bench", "ANTHROPIC_BASE_URL": model.url}
            with Server(model_env, REPO / "bench" / "results" / f"messaging-model-{stamp}.gunicorn.log") as server:
                server.wait_ready()
                if "model" in only:
                    print(
                        f"(b) {args.conversations} conversations at once, the model answering after 2 s …", flush=True
                    )
                    report["model"] = bench_model(
                        server.base_url, model, conversations=args.conversations, rounds=args.rounds
                    )
                    problems += [f"model: {p}" for p in report["model"]["problems"]]
                if "send" in only:
                    print(f"(c) send-whatsapp × {args.sends}, then a worker hands them over …", flush=True)
                    report["send"] = bench_send(
                        server.base_url, model_env, twilio, credentials["api_key"], sends=args.sends, logs=workdir
                    )
                    problems += [f"send: {p}" for p in report["send"]["problems"]]
    report["problems"] = problems
    out = REPO / "bench" / "results" / f"messaging-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")

    print(f"machine busy before: {busy}")
    verdicts = []
    if "inbound" in report:
        print(f"{'scenario':<10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'cpu app':>10}{'cpu pg':>10}{'cpu wrk':>10}")
        for row in report["inbound"]["rows"]:
            cpu = row["cpu_ms_per_request"] or {}
            print(
                f"{row['scenario']:<10}{row['req_per_sec']:>10}{row['p50_ms']:>10}{row['p99_ms']:>10}"
                + "".join(f"{cpu.get(name, float('nan')):>10.2f}" for name in ("gunicorn", "postgres", "wrk"))
            )
        print("cpu: CPU ms per request of gunicorn, the bench database's PostgreSQL backends and wrk")
        print_report(report["inbound"]["rows"][1].get("statements"))
        verdicts.append(
            (f"(a) {report['inbound']['target']} ({report['inbound']['ratio']})", report["inbound"]["pass"])
        )
    if "model" in report:
        m = report["model"]
        print(
            f"(b) answered {m['answered']}/{m['conversations'] * m['rounds']}: p50 {m['p50_s']} s, p99 {m['p99_s']} s"
        )
        for i, r in enumerate(m["rounds_s"]):
            print(
                f"    round {i + 1}: min {r['min_s']} s, p50 {r['p50_s']} s, max {r['max_s']} s; "
                f"the model called {r['model_reached_min_s']}–{r['model_reached_max_s']} s after the round began"
            )
        verdicts.append((f"(b) {m['target']}", m["pass"]))
    if "send" in report:
        s = report["send"]
        print(
            f"(c) API accepted {s['api_accepted_per_s']}/s; provider received {s['handed_to_provider']} at "
            f"{s['handed_per_s']}/s ({s['worker']})"
        )
        verdicts.append((f"(c) {s['target']}", s["pass"]))
    for label, passed in verdicts:
        print(f"{label}: {'PASS' if passed else 'FAIL'}")
    for problem in problems:
        print(f"BENCH FAILED: {problem}", file=sys.stderr)
    print(f"results: {out.relative_to(REPO)}")
    if problems:
        return 1
    return 2 if args.strict and not all(passed for _, passed in verdicts) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        sys.exit(130)
