"""What the in-process profilers share (profile_request.py, profile_booking.py): a function
timed in wall and CPU time, and a tally of the SQL statements and Redis commands run below
Django (psycopg's and redis-py's own calls, the connection health check included)."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable


def timed(fn: Callable[[], object], n: int) -> tuple[float, float]:
    """Median wall ms and mean CPU ms of fn over n calls (after 20 warm-up calls)."""
    for _ in range(20):
        fn()
    walls = []
    cpu_start = time.process_time()
    for _ in range(n):
        started = time.perf_counter()
        fn()
        walls.append((time.perf_counter() - started) * 1000)
    return statistics.median(walls), (time.process_time() - cpu_start) * 1000 / n


class Tally:
    """Counts SQL statements and Redis commands (psycopg and redis-py, below Django)."""

    def __init__(self):
        import psycopg
        import redis

        self.sql: Counter[str] = Counter()
        self.redis: Counter[str] = Counter()
        tally = self
        cursor_execute = psycopg.Cursor.execute
        redis_execute = redis.Redis.execute_command

        def execute(cursor, query, *args, **kwargs):
            text = query if isinstance(query, str) else repr(query)
            tally.sql[" ".join(text.split())[:90]] += 1
            return cursor_execute(cursor, query, *args, **kwargs)

        def execute_command(client, *args, **options):
            tally.redis[str(args[0])] += 1
            return redis_execute(client, *args, **options)

        psycopg.Cursor.execute = execute
        redis.Redis.execute_command = execute_command

    def reset(self) -> None:
        self.sql.clear()
        self.redis.clear()
