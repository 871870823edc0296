"""Part (b) of bench/messaging.py: 50 conversations at once on a model (the Anthropic double)
that answers after 2 s; every webhook answered, p99 at most 3 s, rounds reported one by one
(round 1 pays the workers' cold start, the later ones show any queueing)."""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from messaging_setup import INBOUND, QUESTIONS, lead, signed_form

from tests.messaging.doubles import AnthropicDouble

TARGET_MODEL_P99_S = 3.0
MODEL_DELAY_S = 2.0


# --- (b) a slow model, many conversations at once ---------------------------------------------


def _post(base_url: str, path: str, body: str, headers: dict[str, str], timeout: float = 30):
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("POST", path, body=body.encode(), headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def bench_model(base_url: str, model: AnthropicDouble, *, conversations: int, rounds: int) -> dict:
    model.delay = MODEL_DELAY_S
    model.reply = "Thanks! We open at 9am."
    latencies, problems = [], []
    lock = threading.Lock()

    def one(n: int, round_: int) -> None:
        form, signature = signed_form(n, sender=lead(n, area="213"), body=f"{QUESTIONS[n % len(QUESTIONS)]} ({round_})")
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
        started = time.monotonic()
        try:
            status, body = _post(base_url, INBOUND, form, headers)
        except OSError as exc:
            status, body = 0, str(exc).encode()
        elapsed = time.monotonic() - started
        with lock:
            latencies.append(elapsed)
            if status != 200 or b"We open at 9am." not in body:
                problems.append(f"conversation {n}: {status} {body[:200]!r}")

    per_round = []
    for round_ in range(rounds):
        calls_before, answered_before, requests_before = len(model.calls), len(latencies), len(model.requests)
        started = time.monotonic()
        with ThreadPoolExecutor(conversations) as pool:
            list(pool.map(lambda n, r=round_: one(n, r), range(conversations)))
        if len(model.calls) - calls_before != conversations:
            problems.append(f"round {round_}: {len(model.calls) - calls_before} model calls, not {conversations}")
        these = sorted(latencies[answered_before:])
        # When the model was called, from the round's start: what the turn costs before it.
        reached = sorted(r.at - started for r in model.requests[requests_before:] if r.path == "/v1/messages")
        per_round.append(
            {
                "min_s": round(these[0], 3),
                "p50_s": round(statistics.median(these), 3),
                "max_s": round(these[-1], 3),
                "model_reached_min_s": round(reached[0], 3) if reached else None,
                "model_reached_max_s": round(reached[-1], 3) if reached else None,
            }
        )
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return {
        "conversations": conversations,
        "rounds": rounds,
        "model_delay_s": MODEL_DELAY_S,
        "answered": len(latencies) - len(problems),
        "p50_s": round(statistics.median(ordered), 3),
        "p99_s": round(p99, 3),
        "max_s": round(ordered[-1], 3),
        "rounds_s": per_round,
        "problems": problems[:10],
        "pass": not problems and p99 <= TARGET_MODEL_P99_S,
        "target": f"every webhook answered, p99 ≤ {TARGET_MODEL_P99_S:g} s",
    }
