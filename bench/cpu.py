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
        # Each process's own time too, by (pid, start time): a process that ends between two
        # snapshots (a PostgreSQL backend whose connection closed) would otherwise take its
        # whole past CPU out of the difference of the totals, and make it negative.
        processes: dict[tuple[int, str], tuple[str, float]] = {}
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
                group = "gunicorn"
            elif comm.startswith("postgres") and f" {self.database} " in cmdline:
                group = "postgres"
            elif comm.startswith("redis-server") and f":{self.redis_port}" in cmdline:
                group = "redis"
            else:
                continue
            totals[group] += cpu
            processes[(int(entry.name), fields[19])] = (group, cpu)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has been waited for
        totals["wrk"] = usage.ru_utime + usage.ru_stime
        totals["processes"] = processes
        return totals


def cpu_per_request(before: dict | None, after: dict | None, requests: int) -> dict[str, float] | None:
    """CPU ms per request by process group between two snapshots: what the processes alive at
    the second spent since the first (all of it for one started meanwhile); a process that
    ended meanwhile is not counted (its last part is lost, never subtracted)."""
    if before is None or after is None or not requests:
        return None
    spent = {name: 0.0 for name in ("gunicorn", "postgres", "redis")}
    earlier = before["processes"]
    for key, (group, cpu) in after["processes"].items():
        spent[group] += cpu - earlier.get(key, (group, 0.0))[1]
    spent["wrk"] = after["wrk"] - before["wrk"]
    return {name: round(seconds * 1000 / requests, 3) for name, seconds in spent.items()}


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
