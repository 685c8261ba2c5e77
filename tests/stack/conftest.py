"""Start the real Rasa server (trained model, local REST channel) for end-to-end checks, and the
whole stack as `make run` starts it for the fault-injection tests (fault_harness.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_harness import TIMINGS, FaultStack, PrivatePostgres

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "models" / "rhizotomy-assistant.tar.gz"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts servers")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


Send = Callable[[str, str], list[dict[str, Any]]]


@pytest.fixture(scope="module")
def rasa_without_actions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Send]:
    """Rasa alone: the action endpoint points at a port where nothing listens."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make kb train` first")
    port, dead_port = free_port(), free_port()
    data_dir = tmp_path_factory.mktemp("stack")
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{dead_port}/webhook",
        "TRACKER_STORE_DIALECT": "sqlite",
        "TRACKER_STORE_URL": f"sqlite:///{data_dir}/tracker.sqlite3",
        "ALERTS_DATABASE_URL": f"sqlite:///{data_dir}/alerts.sqlite3",  # not the repo's KB
        "ACTION_SERVER_TOKEN": "",
        "LOCK_STORE_TYPE": "in_memory",
        "LOCK_STORE_URL": "redis://127.0.0.1:6379/1",
        "PYTHONPATH": str(REPO),
    }
    rasa = Path(sys.executable).parent / "rasa"
    log = (data_dir / "rasa.log").open("w")
    process = subprocess.Popen(
        [str(rasa), "run", "--model", str(MODEL), "--interface", "127.0.0.1", "--port", str(port),
         "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"

    def send(sender: str, text: str) -> list[dict[str, Any]]:
        body = json.dumps({"sender": sender, "message": text}).encode()
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return list(json.loads(response.read()))

    try:
        ready = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "readiness.py"), "--url",
             f"http://127.0.0.1:{port}", "--timeout", "180", "--pid", str(process.pid)],
            check=False,
        )
        assert ready.returncode == 0, (data_dir / "rasa.log").read_text()[-3000:]
        yield send
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


# ------------------------------------------------------------------ fault injection (make run)
@pytest.fixture(scope="module")
def us_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    """`make run` for the US example clinic (KB_CLINIC=us_example: 911, crisis line 988),
    SQLite tracker store: the local profile as shipped."""
    stack = FaultStack("us_example/sqlite", "us_example", tmp_path_factory.mktemp("us_stack"))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server for this module alone, in a directory PostgreSQL's user can reach."""
    import shutil
    import tempfile

    server = PrivatePostgres(Path(tempfile.mkdtemp(prefix="fault-pg-")))
    try:
        server.start()
        yield server
    finally:
        server.shutdown()
        shutil.rmtree(server.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def es_stack(tmp_path_factory: pytest.TempPathFactory,
             private_postgres: PrivatePostgres) -> Iterator[FaultStack]:
    """`make run` for the Barcelona example clinic (KB_CLINIC=es_barcelona_example: 112, crisis
    line 024, Spanish by default) with production's tracker database, PostgreSQL."""
    stack = FaultStack("es_barcelona_example/postgresql", "es_barcelona_example",
                       tmp_path_factory.mktemp("es_stack"),
                       extra_env={"TRACKER_STORE_DIALECT": "postgresql",
                                  "TRACKER_STORE_URL": private_postgres.url})
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Reply durations per fault, channel and kind of message (the tests assert no timing
    beyond the 10 s request timeout; the figures are for the report)."""
    if not TIMINGS:
        return
    groups: dict[tuple[str, str, str], list[float]] = {}
    for timing in TIMINGS:
        groups.setdefault((timing.fault, timing.channel, timing.kind), []).append(
            timing.seconds)
    terminalreporter.section("fault injection: reply durations (s)")
    terminalreporter.write_line(f"{'stack: fault':<58} {'channel':<8} {'message':<10} "
                                f"{'n':>3} {'median':>7} {'max':>7}")
    for (fault, channel, kind), values in sorted(groups.items()):
        values.sort()
        terminalreporter.write_line(
            f"{fault:<58} {channel:<8} {kind:<10} {len(values):>3} "
            f"{values[len(values) // 2]:>7.2f} {values[-1]:>7.2f}")
