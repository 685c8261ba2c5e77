"""The real stack (scripts/run_stack.sh) on free ports, and Debian's Chromium through Playwright.

Nothing is installed here. The test runner (scripts/run_tests.sh) installs chromium
(`apt-get install -y chromium`) and axe-core (`npm ci`), and it runs `make kb train` first. When
one of these is missing, the fixtures fail and say what to run. The stack gets a fresh DATA_DIR
(tracker, SMS state, generated secrets, its own KB database and KB export, built as `make kb`
does) and test Twilio credentials, so the SMS channel is enabled.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from stack_harness import Stack, free_port

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
MODEL = REPO / "models" / "rhizotomy-assistant.tar.gz"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
STARTUP_TIMEOUT_S = 420
TWILIO_TEST_ENV = {
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "stack-test-auth-token-0123456789abcdef",
    "TWILIO_NUMBER": "+15550100000",
}


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers used here (also listed in pyproject.toml)."""
    config.addinivalue_line("markers", "browser: drives Debian's chromium through Playwright")
    config.addinivalue_line("markers", "slow: starts the real stack or a browser")


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing. Install Debian's Chromium first: "
            "apt-get update && apt-get install -y chromium "
            "(scripts/run_tests.sh does this; never run `playwright install`)."
        )


def _require_model() -> None:
    if not MODEL.exists():
        pytest.fail(f"No trained model at {MODEL}. Run `make kb train` first.")


def _build_kb(env: dict[str, str]) -> None:
    """`make kb` into the stack's own DATA_DIR and KB database: the KB export
    ($DATA_DIR/generated/patient_texts.json) is what the gate and the channels answer with."""
    build = subprocess.run(
        [str(REPO / ".venv" / "actions" / "bin" / "python"), "-m", "actions.kb.cli", "build",
         "data/kb"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    if build.returncode != 0:
        pytest.fail(f"make kb failed for the browser stack:\n{build.stderr[-3000:]}")


def _wait_until_running(process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        if "The assistant is running" in text:
            return
        if process.poll() is not None:
            pytest.fail(f"scripts/run_stack.sh exited ({process.returncode}):\n{text[-3000:]}")
        time.sleep(1)
    pytest.fail(f"The stack was not ready within {STARTUP_TIMEOUT_S} s:\n{text[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    """Stop the process group this fixture started (run_stack.sh and its two servers)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextlib.contextmanager
def _static_site(directory: Path, port: int) -> Iterator[str]:
    """Serve a directory on loopback: a stand-in for the clinic's own website."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        return


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """scripts/run_stack.sh on free ports with a fresh DATA_DIR; stopped after the session."""
    _require_model()
    data_dir = tmp_path_factory.mktemp("stack")
    rasa_port, actions_port = free_port(), free_port()
    embed_origin = f"http://127.0.0.1:{free_port()}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TWILIO_", "WEBCHAT_", "SMS_")) and key != "PUBLIC_BASE_URL"
    }
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",
            "RASA_PORT": str(rasa_port),
            "ACTIONS_PORT": str(actions_port),
            "DATA_DIR": str(data_dir),
            "ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}/webhook",
            "TRACKER_STORE_DIALECT": "sqlite",
            "TRACKER_STORE_URL": f"sqlite:///{data_dir / 'tracker.sqlite3'}",
            "KB_DATABASE_URL": f"sqlite:///{data_dir / 'kb.sqlite3'}",
            "WEBCHAT_ALLOWED_ORIGINS": embed_origin,
            "LOG_LEVEL": "INFO",
            **TWILIO_TEST_ENV,
        }
    )
    _build_kb(env)
    log_path = data_dir / "stack.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            ["bash", "scripts/run_stack.sh"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, stopped as a whole below
        )
    try:
        _wait_until_running(process, log_path)
        yield Stack(
            base_url=f"http://127.0.0.1:{rasa_port}",
            data_dir=data_dir,
            log_path=log_path,
            tracker_db=data_dir / "tracker.sqlite3",
            embed_origin=embed_origin,
            env=env,
        )
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def clinic_site(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A page on an allowed origin (the clinic's site) embedding the widget with one tag."""
    site = tmp_path_factory.mktemp("clinic_site")
    (site / "index.html").write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Example clinic</title></head><body><main><h1>Example clinic</h1>"
        "<p>Welcome.</p></main>"
        f"<script src='{stack.base_url}/webhooks/webchat/widget.js' defer></script>"
        "</body></html>",
        encoding="utf-8",
    )
    port = int(stack.embed_origin.rsplit(":", 1)[1])
    with _static_site(site, port) as origin:
        yield origin + "/index.html"


@pytest.fixture(scope="session")
def foreign_site(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same embedding page on an origin that is not in WEBCHAT_ALLOWED_ORIGINS."""
    site = tmp_path_factory.mktemp("foreign_site")
    (site / "index.html").write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Other</title></head>"
        f"<body><script src='{stack.base_url}/webhooks/webchat/widget.js' defer></script>"
        "</body></html>",
        encoding="utf-8",
    )
    with _static_site(site, free_port()) as origin:
        yield origin + "/index.html"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (no Playwright-downloaded browser)."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def axe_source() -> Path:
    """axe-core from node_modules (package.json pins it; `npm ci` installs it)."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing. Run `npm ci` in {REPO} first.")
    return AXE


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots go here (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
