"""Start and stop the production-profile servers on loopback for the tests (no pytest here).

Why direct commands instead of scripts/run_stack.sh: the tests restart one Rasa process in
the middle of a conversation and run two Rasa processes side by side; run_stack.sh stops
everything when one server exits. The commands and variables are the ones run_stack.sh uses
for PROFILE=production (production endpoints, logging config, token), except the channel
list: the tests add the local-only SafeRestInput to drive conversations.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "models" / "rhizotomy-assistant.tar.gz"
BOT_BIN = REPO / ".venv" / "bot" / "bin"
ACT_BIN = REPO / ".venv" / "actions" / "bin"
LOGGING_CONFIG = REPO / "scripts" / "logging.production.yml"
STARTUP_TIMEOUT_S = 300

# Test-only actions: every real action, plus action_respond raising (with the patient's
# text in the exception message: the worst case for the logs) when the message has a marker.
FAULT_ACTIONS = '''
import importlib
import pkgutil

import actions
from actions.respond import ActionRespond

for module in pkgutil.walk_packages(actions.__path__, "actions."):
    importlib.import_module(module.name)

RAISE_MARKER = "RAISE-IN-ACTION"


class ExplodingRespond(ActionRespond):
    async def run(self, dispatcher, tracker, domain):
        text = (tracker.latest_message or {}).get("text") or ""
        if RAISE_MARKER in text:
            # Patient data in the exception message: the worst case for the logs.
            raise RuntimeError(f"failure for {tracker.sender_id}, DNI 12345678Z: {text!r}")
        return await super().run(dispatcher, tracker, domain)
'''
# Test-only channel on the Rasa side: a library warning that quotes the patient's message (what
# Rasa's story reader did for "/…" messages) and an exception in a handler (Sanic logs the
# request URI with its query string) when the message carries a marker.
PROBES = '''
import warnings

from bot.rest_safe import SafeRestInput

RAISE_MARKER = "RAISE-IN-CHANNEL"


class WarningProbeInput(SafeRestInput):
    @classmethod
    def name(cls):
        return "probe"

    def blueprint(self, on_new_message):
        from sanic import Blueprint

        probe = Blueprint("probe_webhook", __name__)

        @probe.route("/webhook", methods=["POST"])
        async def receive(request):
            text = str((request.json or {}).get("message", ""))
            warnings.warn(f"Failed to parse arguments in line '{text}'.", UserWarning)
            if RAISE_MARKER in text:
                raise RuntimeError(f"probe failure for {text!r}")
            return await self.handle(request, on_new_message)

        return probe
'''
CREDENTIALS = """bot.rest_safe.SafeRestInput: {}
probes.WarningProbeInput: {}
bot.channels.webchat.WebChatInput: {}
bot.channels.twilio_secure.SecureTwilioInput:
  account_sid: ${TWILIO_ACCOUNT_SID}
  auth_token: ${TWILIO_AUTH_TOKEN}
  twilio_number: ${TWILIO_NUMBER}
"""


TEST_CLINIC = "production_test_clinic"
TEST_CLINIC_NAME = "Harbour Spine Centre"
TEST_CLINIC_PHONE = "+1 617 724 0100"
UNREVIEWED = "(clinic must re-review before go-live)"


def production_kb(target: Path) -> Path:
    """A copy of data/kb that production accepts (actions/kb/production.py): a clinic profile
    that is not the example, and the review markers replaced. KB_CLINIC=TEST_CLINIC selects it.
    """
    shutil.copytree(REPO / "data" / "kb", target)
    example = (target / "clinics" / "us_example.yml").read_text(encoding="utf-8")
    clinic = re.sub(r"(?m)^  name: .*$", f"  name: {TEST_CLINIC_NAME}", example)
    clinic = re.sub(r"(?m)^  phone: .*$", f'  phone: "{TEST_CLINIC_PHONE}"', clinic)
    clinic = re.sub(r"(?m)^  address: .*$", f'  address: "{TEST_CLINIC_NAME}, 40 Harbour Road"',
                    clinic)
    (target / "clinics" / f"{TEST_CLINIC}.yml").write_text(clinic, encoding="utf-8")
    for path in target.rglob("*.yml"):
        text = path.read_text(encoding="utf-8")
        if UNREVIEWED in text:
            path.write_text(text.replace(UNREVIEWED, "(reviewed for the production tests)"),
                            encoding="utf-8")
    return target


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_url(name: str, env_var: str) -> str:
    """TEST_POSTGRES_URL / TEST_REDIS_URL, else start it with scripts/test_services.sh."""
    configured = os.environ.get(env_var)
    if configured:
        return configured
    result = subprocess.run([str(REPO / "scripts" / "test_services.sh"), name],
                            capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"scripts/test_services.sh {name} failed: {result.stderr[-2000:]}")
    return result.stdout.strip().splitlines()[-1]


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    return re.sub(r"/[^/?]*(\?.*)?$", f"/{database}", url)


def admin(pg_url: str, *statements: str) -> None:
    """Run statements outside a transaction (CREATE/ALTER/DROP DATABASE)."""
    import psycopg2

    connection = psycopg2.connect(with_database(pg_url, "postgres"))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


def query(url: str, sql: str, params: Tuple[Any, ...] = ()) -> List[Tuple[Any, ...]]:
    """Rows of one query against a PostgreSQL database."""
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []
    finally:
        connection.close()


def set_connections(pg_url: str, database: str, allowed: bool) -> None:
    """Make a database refuse (or accept again) connections: a database outage."""
    statements = [f"ALTER DATABASE {database} WITH ALLOW_CONNECTIONS {str(allowed).lower()}"]
    if not allowed:
        statements.append(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        )
    admin(pg_url, *statements)


def post_json(url: str, payload: Any, timeout: float = 30, headers: Optional[Dict[str, str]] = None,
              raw: Optional[bytes] = None, content_type: str = "application/json",
              ) -> Tuple[int, Any]:
    """(status, decoded JSON or text) of a POST; never raises on HTTP errors."""
    data = raw if raw is not None else json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": content_type, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        return 0, str(error)
    try:
        return status, json.loads(body or b"null")
    except ValueError:
        return status, body.decode("utf-8", "replace")


def get(url: str, headers: Optional[Dict[str, str]] = None, timeout: float = 10,
        method: str = "GET") -> Tuple[int, Dict[str, str], str]:
    """(status, headers, text) of a GET (or another body-less method)."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return 0, {}, ""


@dataclass
class Server:
    """One server process in its own process group, with its log file."""

    name: str
    command: List[str]
    env: Dict[str, str]
    log_path: Path
    process: Optional[subprocess.Popen] = None

    def start(self) -> Server:
        """Start it (appending to its log)."""
        log = self.log_path.open("a", encoding="utf-8")
        self.process = subprocess.Popen(self.command, cwd=REPO, env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def signal(self, signum: int) -> None:
        """Send a signal to the server's process group."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signum)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 20 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@dataclass
class ProductionStack:
    """Action server, Rasa processes, their databases and logs."""

    tmp: Path
    pg_url: str
    redis_url: str
    tag: str = field(default_factory=lambda: "t" + secrets.token_hex(4))
    action_port: int = field(default_factory=free_port)
    servers: Dict[str, Server] = field(default_factory=dict)
    rasa_ports: Dict[str, int] = field(default_factory=dict)
    extra_env: Dict[str, str] = field(default_factory=dict)  # per-module settings

    @property
    def tracker_db(self) -> str:
        return f"{self.tag}_tracker"

    @property
    def kb_db(self) -> str:
        return f"{self.tag}_kb"

    @property
    def tracker_url(self) -> str:
        return with_database(self.pg_url, self.tracker_db)

    @property
    def kb_url(self) -> str:
        return with_database(self.pg_url, self.kb_db)

    @property
    def kb_dir(self) -> Path:
        return self.tmp / "kb"

    @property
    def env(self) -> Dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TWILIO_", "WEBCHAT_", "SMS_", "PYTEST_"))}
        env.update({
            "RASA_TELEMETRY_ENABLED": "false",
            "PYTHONPATH": f"{self.tmp}:{REPO}",
            "SANIC_HOST": "127.0.0.1",
            "LOG_LEVEL": "INFO",
            "DATA_DIR": str(self.tmp / "data"),
            "ACTION_SERVER_URL": f"http://127.0.0.1:{self.action_port}/webhook",
            "ACTION_SERVER_TOKEN": self.token,
            "ACTION_TIMEOUT_S": "4",
            "TRACKER_STORE_DIALECT": "postgresql",
            "TRACKER_STORE_URL": self.tracker_url,
            "LOCK_STORE_TYPE": "bot.lock_store.AtomicRedisLockStore",
            "LOCK_STORE_URL": f"{self.redis_url}/1?key_prefix={self.tag}",
            "KB_DATABASE_URL": self.kb_url,
            "KB_QUERY_TIMEOUT_S": "3",
            "KB_DIR": str(self.kb_dir),
            "KB_CLINIC": TEST_CLINIC,
            "PROFILE": "production",
            "WEBCHAT_SESSION_SECRET": "w" * 48,
            "SMS_ID_SECRET": "s" * 48,
            # Every store on PostgreSQL or Redis, as in production (never SQLite): SMS state in
            # the tracker database, run_stack.sh's production default.
            "SMS_STATE_DATABASE_URL": self.tracker_url,
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "production-test-auth-token-0123456789",
            "TWILIO_NUMBER": "+15550100000",
            # Rate-limit counters in Redis (run_stack.sh's production default); limits high
            # enough for the tests, which drive many turns from one address.
            "RATE_LIMIT_STORE": "redis",
            "RATE_LIMIT_REDIS_URL": f"{self.redis_url}/1?key_prefix={self.tag}",
            "RATE_LIMIT_WEB_SESSION": "1000/60", "RATE_LIMIT_WEB_ADDRESS": "5000/60",
            "RATE_LIMIT_WEB_NEW_SESSIONS": "1000/60", "RATE_LIMIT_SMS_NUMBER": "1000/60",
        })
        env.update(self.extra_env)
        return env

    token: str = field(default_factory=lambda: secrets.token_urlsafe(36))

    def prepare(self) -> None:
        """Fresh databases, the KB loaded into PostgreSQL, the test actions and channels."""
        (self.tmp / "data").mkdir(parents=True, exist_ok=True)
        (self.tmp / "fault_actions.py").write_text(FAULT_ACTIONS, encoding="utf-8")
        (self.tmp / "probes.py").write_text(PROBES, encoding="utf-8")
        (self.tmp / "credentials.yml").write_text(CREDENTIALS, encoding="utf-8")
        admin(self.pg_url, f"CREATE DATABASE {self.tracker_db}", f"CREATE DATABASE {self.kb_db}")
        if not self.kb_dir.exists():
            production_kb(self.kb_dir)
        build = subprocess.run(
            [str(ACT_BIN / "python"), "-m", "actions.kb.cli", "build", str(self.kb_dir)],
            cwd=REPO, env=self.env, capture_output=True, text=True, timeout=300, check=False)
        if build.returncode != 0:
            raise RuntimeError(f"KB build failed: {build.stdout[-1000:]}{build.stderr[-2000:]}")

    def start_actions(self) -> Server:
        """The action server (production logging config), waiting for /health."""
        server = Server("actions", [
            str(ACT_BIN / "python"), "-m", "rasa_sdk", "--actions", "fault_actions",
            "--port", str(self.action_port), "--logging-config_file", str(LOGGING_CONFIG),
        ], self.env, self.tmp / "actions.log").start()
        self.servers["actions"] = server
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if get(f"http://127.0.0.1:{self.action_port}/health", timeout=2)[0] == 200:
                return server
            if server.process is not None and server.process.poll() is not None:
                break
            time.sleep(0.5)
        raise RuntimeError("action server did not start:\n" + self.log("actions")[-3000:])

    def start_rasa(self, name: str, port: Optional[int] = None) -> Server:
        """A Rasa process with the production endpoints and logging config (not waited for)."""
        port = port or self.rasa_ports.get(name) or free_port()
        self.rasa_ports[name] = port
        server = Server(name, [
            str(BOT_BIN / "rasa"), "run", "--model", str(MODEL), "--interface", "127.0.0.1",
            "--port", str(port), "--endpoints", "endpoints.yml",
            "--credentials", str(self.tmp / "credentials.yml"),
            "--logging-config-file", str(LOGGING_CONFIG),
        ], self.env, self.tmp / f"{name}.log").start()
        self.servers[name] = server
        return server

    def wait_ready(self, name: str, timeout: float = STARTUP_TIMEOUT_S) -> None:
        """scripts/readiness.py against one Rasa process."""
        server = self.servers[name]
        result = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "readiness.py"), "--url", self.url(name, ""),
             "--timeout", str(timeout), "--pid", str(server.pid)],
            capture_output=True, text=True, timeout=timeout + 30, check=False)
        if result.returncode != 0:
            code = server.process.poll() if server.process is not None else None
            raise RuntimeError(f"{name} not ready (exit code {code}): {result.stderr}\n"
                               f"{self.log(name)[-3000:]}")

    def url(self, name: str, path: str = "/webhooks/rest/webhook") -> str:
        return f"http://127.0.0.1:{self.rasa_ports[name]}{path}"

    def send(self, name: str, sender: str, text: str, timeout: float = 30) -> Tuple[int, Any]:
        """A message through a Rasa process's REST channel (SafeRestInput)."""
        return post_json(self.url(name), {"sender": sender, "message": text}, timeout=timeout)

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def sqlite_files(self) -> List[Path]:
        """SQLite files anywhere under the stack's data directory (production keeps none)."""
        data = self.tmp / "data"
        return [p for p in data.rglob("*") if p.is_file() and p.suffix in {".sqlite3", ".db",
                                                                           ".sqlite"}]

    def all_logs(self) -> str:
        return "\n".join(p.read_text(encoding="utf-8", errors="replace")
                         for p in sorted(self.tmp.glob("*.log")))

    def stop(self) -> None:
        """Stop every server and drop the databases."""
        for server in self.servers.values():
            server.stop()
        with contextlib.suppress(Exception):
            for database in (self.tracker_db, self.kb_db):
                admin(self.pg_url, f"ALTER DATABASE {database} WITH ALLOW_CONNECTIONS true")
                admin(self.pg_url,
                      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      f"WHERE datname = '{database}'",
                      f"DROP DATABASE IF EXISTS {database}")


def bot_texts(messages: Any) -> str:
    """All bot texts of a REST reply, joined."""
    if not isinstance(messages, list):
        return ""
    return "\n".join(str(m.get("text") or "") for m in messages if isinstance(m, dict))
