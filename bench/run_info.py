"""Where a benchmark result is written, and the facts about the run stored with it.

Both `make bench` (bench/bench.py) and `make bench-nlu` (scripts/bench_nlu.py) write
bench/results/<UTC date>-<machine>[-<kind>].json, e.g. bench/results/2026-12-01-2cpu-24gb.json,
and these files are committed: every figure the README quotes comes from one of them. Standard
library only (both scripts run in .venv/bot; this module does not import Rasa).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"


def _meminfo_kb(key: str) -> Optional[int]:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit() -> Optional[str]:
    """HEAD of the repository, with "+dirty" when tracked files have uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def machine() -> Dict[str, Any]:
    """CPU count, memory, CPU model, Python and OS of the machine the benchmark ran on."""
    mem_kb = _meminfo_kb("MemTotal")
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(mem_kb / 1024 / 1024, 1) if mem_kb else None,
        "cpu_model": _cpu_model(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def machine_label(info: Dict[str, Any]) -> str:
    """A short name for the machine in file names: "2cpu-24gb"."""
    ram = f"{round(info['ram_gb'])}gb" if info.get("ram_gb") else "unknown-ram"
    return f"{info.get('nproc') or 'unknown'}cpu-{ram}"


def run_facts() -> Dict[str, Any]:
    """The facts stored at the top of every result file."""
    now = dt.datetime.now(dt.timezone.utc)
    return {"date": now.date().isoformat(), "started_utc": now.isoformat(timespec="seconds"),
            "git_commit": git_commit(), "machine": machine(),
            # other work on the machine skews timings: the 1/5/15-minute load when it started
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def result_path(facts: Dict[str, Any], kind: str = "") -> Path:
    """bench/results/<date>-<machine>[-<kind>].json for the given run facts."""
    suffix = f"-{kind}" if kind else ""
    return RESULTS / f"{facts['date']}-{machine_label(facts['machine'])}{suffix}.json"
