"""The CPU time each process spends, read from Linux's /proc while a benchmark runs: gunicorn's
(master and workers), the bench database's PostgreSQL backends, redis-server's and wrk's,
divided by the requests served; and how busy the machine was before a bench started."""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

BUSY_WARNING = 0.15  # share of the CPUs busy before the bench above which it warns


@dataclass(frozen=True)
class CpuWatch:
    """Which processes' CPU a scenario is charged with: gunicorn (master and workers), the
    PostgreSQL backends of the bench database, the Redis server on the bench port, and wrk."""

    gunicorn_pid: int
    database: str
    redis_port: int

    def snapshot(self) -> dict[str, float] | None:
        if not Path("/proc/stat").exists():
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        totals = {"gunicorn": 0.0, "postgres": 0.0, "redis": 0.0}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue  # gone meanwhile
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            ppid, cpu = int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks
            if int(entry.name) == self.gunicorn_pid or ppid == self.gunicorn_pid:
                totals["gunicorn"] += cpu
            elif comm.startswith("postgres") and f" {self.database} " in cmdline:
                totals["postgres"] += cpu
            elif comm.startswith("redis-server") and f":{self.redis_port}" in cmdline:
                totals["redis"] += cpu
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has been waited for
        totals["wrk"] = usage.ru_utime + usage.ru_stime
        return totals


def cpu_per_request(before: dict | None, after: dict | None, requests: int) -> dict[str, float] | None:
    if before is None or after is None or not requests:
        return None
    return {name: round((after[name] - before[name]) * 1000 / requests, 3) for name in before}


def machine_busy(seconds: float = 1.0) -> float | None:
    """The share of all CPUs busy over `seconds`, before the bench starts anything."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values), idle

    try:
        total1, idle1 = sample()
        time.sleep(seconds)
        total2, idle2 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return round(1 - (idle2 - idle1) / max(1, total2 - total1), 3)
