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
        import redis.connection

        self.sql: Counter[str] = Counter()
        self.redis: Counter[str] = Counter()
        tally = self
        cursor_execute = psycopg.Cursor.execute
        # Redis at the connection, where every command is written: redis-py's execute_command
        # and the rate limit's own EVALSHA (leadhub.api.ratelimit._count) alike.
        redis_send = redis.connection.Connection.send_packed_command

        def execute(cursor, query, *args, **kwargs):
            text = query if isinstance(query, str) else repr(query)
            tally.sql[" ".join(text.split())[:90]] += 1
            return cursor_execute(cursor, query, *args, **kwargs)

        def send_packed_command(connection, command, check_health=True):
            packed = command if isinstance(command, bytes) else b"".join(command)
            tally.redis[packed.split(b"\r\n")[2].decode().upper()] += 1  # *N, $len, the name
            return redis_send(connection, command, check_health=check_health)

        psycopg.Cursor.execute = execute
        redis.connection.Connection.send_packed_command = send_packed_command

    def reset(self) -> None:
        self.sql.clear()
        self.redis.clear()
