"""Waiting in tests for something another thread or process does: poll, never sleep a fixed time
and never assert on a duration (speed is measured by bench/)."""

import time


def until(condition, seconds: float = 10.0) -> bool:
    """Whether `condition()` became true within `seconds` (checked every 10 ms)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
