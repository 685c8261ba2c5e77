"""The assistant as `make run` starts it, the faults to inject into it, and one client per channel.

(A plain module rather than conftest.py content so that the tests can import its types.)

`FaultStack` runs scripts/run_stack.sh, the script behind `make run`, on free loopback ports
with a fresh DATA_DIR: the knowledge base of one clinic profile (KB_CLINIC) built into it, test
Twilio credentials (so the SMS channel is on), known web-session and SMS-id secrets (so a test
can name a web or SMS conversation) and the HTTP API with a token (how clinic staff pause a
conversation). The faults are real: signals to the real action server, the real tracker
database file renamed away or locked by another connection, the real PostgreSQL server
stopped. Every client records what the patient wrote and how long each reply took, so the
tests can check the log for patient text and the run can report reply durations per fault.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import socket
import sqlite3
import subprocess
import time
import unicodedata
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import requests
from twilio.request_validator import RequestValidator

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "models" / "rhizotomy-assistant.tar.gz"
BOT_BIN = REPO / ".venv" / "bot" / "bin"
ACT_BIN = REPO / ".venv" / "actions" / "bin"
STARTUP_TIMEOUT_S = 420
REQUEST_TIMEOUT_S = 10.0  # the acceptance: an answer within 10 s, whatever is down
TWILIO_TEST_ENV = {
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "fault-test-auth-token-0123456789abcdef",
    "TWILIO_NUMBER": "+15550100000",
}
CHANNELS = ("rest", "webchat", "sms")
# Texts shorter than this are too common to look for in the log ("STOP", "hello").
MIN_LOGGED_TEXT_CHARS = 12
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_SENTENCE = re.compile(r"(.+?[.!?])(?:\s|$)", re.DOTALL)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def first_sentence(text: str) -> str:
    """The text up to its first full stop, question or exclamation mark."""
    found = _SENTENCE.match(text.strip())
    return (found.group(1) if found else text).strip()


def plain(text: str) -> str:
    """Lower case without accents or extra spaces: the SMS channel writes Spanish without the
    accents that would force UCS-2, so replies are compared in this form."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).lower().split())


# ---------------------------------------------------------------------------------- replies
@dataclass
class Reply:
    """What one patient message got back on one channel."""

    channel: str
    status: int
    seconds: float
    messages: List[str]

    @property
    def first(self) -> str:
        """The first message the patient reads ("" when there is none)."""
        return self.messages[0] if self.messages else ""

    @property
    def first_sentence(self) -> str:
        return first_sentence(self.first)


@dataclass
class Timing:
    """One measured reply, for the report printed at the end of the run."""

    fault: str
    channel: str
    kind: str
    seconds: float
    status: int


TIMINGS: List[Timing] = []


# ---------------------------------------------------------------------------------- the stack
@dataclass
class FaultStack:
    """scripts/run_stack.sh for one clinic profile, stopped by `stop()`."""

    name: str
    clinic: str
    tmp: Path
    extra_env: Dict[str, str] = field(default_factory=dict)
    rasa_port: int = field(default_factory=free_port)
    actions_port: int = field(default_factory=free_port)
    api_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    process: Optional[subprocess.Popen[bytes]] = None
    sent: List[str] = field(default_factory=list)  # every patient text, for the log check
    fault: str = "none"  # the fault in place, for the timing report

    def __post_init__(self) -> None:
        self.data_dir = self.tmp / "data"
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.log_path = self.tmp / "stack.log"
        self.tracker_db = self.data_dir / "tracker.sqlite3"
        self.web_secret = "fault-web-" + uuid.uuid4().hex + uuid.uuid4().hex
        self.sms_secret = "fault-sms-" + uuid.uuid4().hex + uuid.uuid4().hex
        inherited = {key: value for key, value in os.environ.items()
                     if not key.startswith(("TWILIO_", "WEBCHAT_", "SMS_", "RASA_", "KB_",
                                            "TRACKER_STORE_", "LOCK_STORE_", "ALERTS_",
                                            "RATE_LIMIT_"))
                     and key not in ("PUBLIC_BASE_URL", "DATA_DIR", "PROFILE", "LOG_LEVEL")}
        self.env: Dict[str, str] = {
            **inherited,
            "RASA_TELEMETRY_ENABLED": "false",
            "PROFILE": "local",
            "LOG_LEVEL": "INFO",  # the level the log check is about
            "KB_CLINIC": self.clinic,
            "DATA_DIR": str(self.data_dir),
            "KB_DATABASE_URL": f"sqlite:///{self.data_dir / 'kb.sqlite3'}",
            "ALERTS_DATABASE_URL": f"sqlite:///{self.data_dir / 'alerts.sqlite3'}",
            "TRACKER_STORE_DIALECT": "sqlite",
            "TRACKER_STORE_URL": f"sqlite:///{self.tracker_db}",
            "RASA_PORT": str(self.rasa_port),
            "ACTIONS_PORT": str(self.actions_port),
            "ACTION_SERVER_URL": f"http://127.0.0.1:{self.actions_port}/webhook",
            "ACTIONS_RESTART_DELAY_S": "6",  # long enough to talk to a stack without one
            "WEBCHAT_SESSION_SECRET": self.web_secret,
            "SMS_ID_SECRET": self.sms_secret,
            "RASA_ENABLE_API": "true",
            "RASA_API_AUTH_TOKEN": self.api_token,
            # Every test client is 127.0.0.1: the per-address web limits (bot/rate_limit.py,
            # tested on their own) would refuse a whole run's sessions. Per session and per
            # number stay on.
            "RATE_LIMIT_WEB_ADDRESS": "off",
            "RATE_LIMIT_WEB_NEW_SESSIONS": "off",
            **TWILIO_TEST_ENV,
            **self.extra_env,
        }

    # -- life cycle -----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def start(self) -> None:
        """Build the clinic's KB into DATA_DIR (`make kb`), then start the stack (`make run`)."""
        if not MODEL.exists():
            raise RuntimeError(f"no trained model at {MODEL}: run `make kb train` first")
        build = subprocess.run(
            [str(ACT_BIN / "python"), "-m", "actions.kb.cli", "build", "data/kb"],
            cwd=REPO, env=self.env, capture_output=True, text=True, timeout=300, check=False)
        if build.returncode != 0:
            raise RuntimeError(f"make kb failed for {self.clinic}:\n{build.stderr[-3000:]}")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                ["bash", "scripts/run_stack.sh"], cwd=REPO, env=self.env, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)  # its own process group, stopped as a whole
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if "The assistant is running" in self.log_text():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"run_stack.sh exited ({self.process.returncode}):\n"
                                   f"{self.log_text()[-4000:]}")
            time.sleep(1)
        raise RuntimeError(f"the stack was not ready in {STARTUP_TIMEOUT_S} s:\n"
                           f"{self.log_text()[-4000:]}")

    def stop(self) -> None:
        """SIGTERM to the process group (SIGCONT first: a stopped process cannot exit)."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        for signum in (signal.SIGCONT, signal.SIGTERM):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signum)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") \
            if self.log_path.exists() else ""

    def texts(self) -> Dict[str, Any]:
        """The KB export this stack answers with ($DATA_DIR/generated/patient_texts.json)."""
        path = self.data_dir / "generated" / "patient_texts.json"
        return dict(json.loads(path.read_text(encoding="utf-8")))

    def text(self, key: str, language: str) -> str:
        return str(self.texts()["texts"][language][key]["text"])

    @property
    def clinic_facts(self) -> Dict[str, Any]:
        return dict(self.texts()["clinic"])

    # -- processes -------------------------------------------------------------------------
    def _children(self) -> List[int]:
        assert self.process is not None
        pid = self.process.pid
        path = Path(f"/proc/{pid}/task/{pid}/children")
        return [int(child) for child in path.read_text().split()] if path.exists() else []

    def action_server_pid(self) -> Optional[int]:
        """The running action server started by run_stack.sh (None while it is down)."""
        for child in self._children():
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"rasa_sdk" in cmdline:
                return child
        return None

    def action_server_answers(self, timeout: float = 2.0) -> bool:
        try:
            health = requests.get(f"http://127.0.0.1:{self.actions_port}/health",
                                  timeout=timeout)
        except requests.RequestException:
            return False
        return health.status_code == 200

    def action_server_refuses(self) -> bool:
        """True when nothing listens on the action server's port."""
        with socket.socket() as probe:
            probe.settimeout(1)
            return probe.connect_ex(("127.0.0.1", self.actions_port)) != 0

    def wait_for_action_server(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.action_server_answers():
                return
            time.sleep(0.5)
        raise AssertionError(f"the action server did not come back:\n{self.log_text()[-3000:]}")

    # -- faults ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def action_server_stopped(self) -> Iterator[None]:
        """SIGSTOP: the action server keeps accepting connections and never answers."""
        pid = self.action_server_pid()
        assert pid is not None, "no action server to stop"
        os.kill(pid, signal.SIGSTOP)
        self.fault = "action server stopped (SIGSTOP)"
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)
            self.fault = "none"
            self.wait_for_action_server()

    @contextlib.contextmanager
    def action_server_killed(self) -> Iterator[None]:
        """SIGKILL: the action server is gone (run_stack.sh starts it again after
        ACTIONS_RESTART_DELAY_S); waits until it is back afterwards."""
        pid = self.action_server_pid()
        assert pid is not None, "no action server to kill"
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not self.action_server_refuses() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.action_server_refuses(), "the action server's port is still open"
        self.fault = "action server killed (SIGKILL)"
        try:
            yield
        finally:
            self.fault = "none"
            self.wait_for_action_server()

    @contextlib.contextmanager
    def tracker_db_removed(self) -> Iterator[None]:
        """The SQLite tracker file renamed away and a directory put in its place: every open
        fails at once (as root, chmod 000 would not stop anything)."""
        aside = self.tracker_db.with_name(self.tracker_db.name + ".aside")
        self.tracker_db.rename(aside)
        self.tracker_db.mkdir()
        self.fault = "tracker database removed (SQLite)"
        try:
            yield
        finally:
            self.tracker_db.rmdir()
            aside.rename(self.tracker_db)
            self.fault = "none"

    @contextlib.contextmanager
    def tracker_db_locked(self) -> Iterator[None]:
        """Another connection holds an exclusive lock: every read and write of the tracker
        waits out SQLite's busy timeout, then fails."""
        holder = sqlite3.connect(self.tracker_db, isolation_level=None, timeout=30,
                                 check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")
        self.fault = "tracker database locked (SQLite)"
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
            self.fault = "none"

    # -- the HTTP API (staff) ------------------------------------------------------------------
    def add_event(self, conversation_id: str, event: Dict[str, Any]) -> None:
        quoted = urllib.parse.quote(conversation_id, safe=":")
        response = requests.post(
            f"{self.base_url}/conversations/{quoted}/tracker/events",
            params={"token": self.api_token}, json=event, timeout=REQUEST_TIMEOUT_S)
        assert response.status_code == 200, response.text[:300]

    def user_texts(self, conversation_id: str) -> List[str]:
        """The user messages the tracker holds for a conversation, oldest first."""
        quoted = urllib.parse.quote(conversation_id, safe=":")
        response = requests.get(f"{self.base_url}/conversations/{quoted}/tracker",
                                params={"token": self.api_token, "include_events": "ALL"},
                                timeout=REQUEST_TIMEOUT_S)
        assert response.status_code == 200, response.text[:300]
        return [str(event.get("text") or "") for event in response.json().get("events", [])
                if event.get("event") == "user"]

    def wait_for_user_texts(self, conversation_id: str, expected: List[str],
                            timeout: float = 20) -> List[str]:
        """The conversation's user messages once all of `expected` are in (late turns and the
        gate's background transcript write finish after the reply)."""
        deadline = time.monotonic() + timeout
        found: List[str] = []
        while time.monotonic() < deadline:
            found = self.user_texts(conversation_id)
            if found[-len(expected):] == expected:
                return found
            time.sleep(0.5)
        return found

    # -- clients ---------------------------------------------------------------------------------
    def patient(self, channel: str) -> Patient:
        if channel == "rest":
            return RestPatient(self)
        if channel == "webchat":
            return WebPatient(self)
        if channel == "sms":
            return SmsPatient(self)
        raise ValueError(channel)

    def patient_texts_in_log(self) -> List[str]:
        """Every patient text sent so far that shows up in the stack's log."""
        log = self.log_text()
        plain_log = plain(log)
        return sorted({text for text in self.sent if len(text) >= MIN_LOGGED_TEXT_CHARS
                       and (text in log or plain(text) in plain_log)})


class Patient:
    """One patient (one conversation) on one channel."""

    channel = ""

    def __init__(self, stack: FaultStack) -> None:
        self.stack = stack

    @property
    def conversation_id(self) -> str:
        raise NotImplementedError

    def _post(self, text: str) -> Reply:
        raise NotImplementedError

    def say(self, text: str, kind: str = "message") -> Reply:
        """Send one message; the reply, its HTTP status and how long it took."""
        self.stack.sent.append(text)
        fault = self.stack.fault
        reply = self._post(text)
        TIMINGS.append(Timing(f"{self.stack.name}: {fault}", self.channel, kind,
                              reply.seconds, reply.status))
        return reply


class RestPatient(Patient):
    """The local REST channel (bot.rest_safe.SafeRestInput): the client names the sender."""

    channel = "rest"

    def __init__(self, stack: FaultStack) -> None:
        super().__init__(stack)
        self.sender = "fault-rest-" + uuid.uuid4().hex[:16]

    @property
    def conversation_id(self) -> str:
        return self.sender

    def _post(self, text: str) -> Reply:
        started = time.monotonic()
        response = requests.post(f"{self.stack.base_url}/webhooks/rest/webhook",
                                 json={"sender": self.sender, "message": text},
                                 timeout=REQUEST_TIMEOUT_S)
        seconds = time.monotonic() - started
        body = response.json() if response.headers.get("content-type", "").startswith(
            "application/json") else []
        messages = [str(m.get("text") or "") for m in body if isinstance(m, dict)] \
            if isinstance(body, list) else []
        return Reply(self.channel, response.status_code, seconds, messages)


class WebPatient(Patient):
    """The website chat: a server-issued session, as the widget gets one."""

    channel = "webchat"

    def __init__(self, stack: FaultStack) -> None:
        super().__init__(stack)
        session = requests.post(f"{stack.base_url}/webhooks/webchat/session",
                                timeout=REQUEST_TIMEOUT_S)
        assert session.status_code == 200, session.text[:300]
        self.token = str(session.json()["token"])

    @property
    def conversation_id(self) -> str:
        from bot.channels.web_sessions import WebSessionSigner

        session = WebSessionSigner(self.stack.web_secret.encode(), 3600).verify(self.token)
        assert session is not None
        return session.sender_id

    def _post(self, text: str) -> Reply:
        started = time.monotonic()
        response = requests.post(f"{self.stack.base_url}/webhooks/webchat/message",
                                 json={"message": text},
                                 headers={"Authorization": f"Bearer {self.token}"},
                                 timeout=REQUEST_TIMEOUT_S)
        seconds = time.monotonic() - started
        try:
            body = response.json()
        except ValueError:
            body = {}
        messages = [str(m.get("text") or "") for m in body.get("messages") or []] \
            if isinstance(body, dict) else []
        return Reply(self.channel, response.status_code, seconds, messages)


class SmsPatient(Patient):
    """A phone number texting the clinic: signed Twilio webhooks, TwiML replies."""

    channel = "sms"
    _numbers = iter(range(1000, 9999))

    def __init__(self, stack: FaultStack) -> None:
        super().__init__(stack)
        self.phone = f"+1555019{next(self._numbers):04d}"

    @property
    def conversation_id(self) -> str:
        from bot.channels.twilio_secure import conversation_id_for

        return conversation_id_for(self.phone, self.stack.sms_secret.encode())

    def _post(self, text: str) -> Reply:
        url = f"{self.stack.base_url}/webhooks/twilio/webhook"
        fields = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32,
                  "From": self.phone, "To": TWILIO_TEST_ENV["TWILIO_NUMBER"], "Body": text,
                  "NumMedia": "0"}
        signature = RequestValidator(TWILIO_TEST_ENV["TWILIO_AUTH_TOKEN"]).compute_signature(
            url, fields)
        started = time.monotonic()
        response = requests.post(url, data=fields, headers={"X-Twilio-Signature": signature},
                                 timeout=REQUEST_TIMEOUT_S)
        seconds = time.monotonic() - started
        messages: List[str] = []
        if response.status_code == 200:
            messages = [m.text or "" for m in ET.fromstring(response.text).findall("Message")]
        return Reply(self.channel, response.status_code, seconds, messages)


# ---------------------------------------------------------------------------------- rasa shell
class ShellSession:
    """`rasa shell` (the staff channel) on a pseudo-terminal: questionary needs a terminal."""

    def __init__(self, stack: FaultStack, tmp: Path) -> None:
        self.stack = stack
        self.port = free_port()
        self.conversation_id = "fault-shell-" + uuid.uuid4().hex[:12]
        env = {**stack.env, "TRACKER_STORE_URL": f"sqlite:///{tmp / 'shell-tracker.sqlite3'}",
               "ALERTS_DATABASE_URL": f"sqlite:///{tmp / 'shell-alerts.sqlite3'}",
               "LOCK_STORE_TYPE": "in_memory", "LOCK_STORE_URL": "redis://127.0.0.1:6379/1",
               "ACTION_SERVER_TOKEN": "", "PYTHONPATH": str(REPO), "TERM": "dumb"}
        import fcntl
        import pty
        import struct
        import termios

        self._master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 400, 0, 0))
        self.process = subprocess.Popen(
            [str(BOT_BIN / "rasa"), "shell", "--model", str(MODEL), "--endpoints",
             "endpoints.yml", "--port", str(self.port), "--conversation-id",
             self.conversation_id],
            cwd=REPO, env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        self._buffer = b""

    def _read_until(self, pattern: re.Pattern[bytes], start: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pattern.search(self._buffer, start):
                return True
            ready, _, _ = select.select([self._master], [], [], 0.2)
            if ready:
                try:
                    self._buffer += os.read(self._master, 65536)
                except OSError:
                    return bool(pattern.search(self._buffer, start))
            elif self.process.poll() is not None:
                return bool(pattern.search(self._buffer, start))
        return False

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT_S) -> None:
        if not self._read_until(re.compile(rb"Bot loaded"), 0, timeout):
            raise RuntimeError("rasa shell did not start:\n" + self.output(0)[-3000:])
        self._read_until(re.compile(rb"Your input ->"), 0, 10)

    def output(self, start: int) -> str:
        return _ANSI.sub("", self._buffer[start:].decode("utf-8", errors="replace"))

    def say(self, text: str, expect: str, kind: str = "message") -> Reply:
        """Type a message; wait until a bot message containing `expect` was printed."""
        self.stack.sent.append(text)
        start = len(self._buffer)
        started = time.monotonic()
        os.write(self._master, text.encode() + b"\r")
        # Bot messages are printed in blue (rasa.shared.utils.cli.print_color).
        pattern = re.compile(rb"\x1b\[94m(?:(?!\x1b\[0m).)*" + re.escape(expect.encode()),
                             re.DOTALL)
        found = self._read_until(pattern, start, REQUEST_TIMEOUT_S)
        seconds = time.monotonic() - started
        raw = self._buffer[start:].decode("utf-8", errors="replace")
        messages = [_ANSI.sub("", m).strip() for m in re.findall(r"\x1b\[94m(.*?)\x1b\[0m",
                                                                  raw, re.DOTALL)]
        TIMINGS.append(Timing(f"{self.stack.name}: {self.stack.fault}", "shell", kind, seconds,
                              200 if found else 0))
        return Reply("shell", 200 if found else 0, seconds, messages)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._master, b"/stop\r")
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        os.close(self._master)


# ---------------------------------------------------------------------------------- postgres
class PrivatePostgres:
    """A PostgreSQL server of this test run alone (scripts/test_services.sh with a private
    port and directory), so stopping it cannot disturb the shared test database."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.dir = directory  # its parents must be open to the postgres user (not pytest's)
        self.database = "fault_tracker"
        self.url = ""

    def start(self) -> str:
        env = {**os.environ, "TEST_PG_PORT": str(self.port), "TEST_PG_DIR": str(self.dir),
               "TEST_PG_DB": self.database}
        result = subprocess.run([str(REPO / "scripts" / "test_services.sh"), "postgres"],
                                env=env, capture_output=True, text=True, timeout=600,
                                check=False)
        if result.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start:\n{result.stderr[-3000:]}")
        self.url = result.stdout.strip().splitlines()[-1]
        return self.url

    def _pg_ctl(self, *args: str) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                      key=lambda p: [int(x) for x in re.findall(r"\d+", p.parts[-3])])
        pg_ctl = str(bins[-1]) if bins else "pg_ctl"
        command = [pg_ctl, "-D", str(self.dir / "data"), *args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["su", "postgres", "-s", "/bin/bash", "-c",
                       " ".join(f"'{part}'" for part in command)]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def stop(self, mode: str = "immediate") -> None:
        self._pg_ctl("-m", mode, "-w", "stop")

    def start_again(self) -> None:
        options = (f"-p {self.port} -h 127.0.0.1 -k {self.dir} -c fsync=off "
                   "-c full_page_writes=off")
        self._pg_ctl("-l", str(self.dir / "server.log"), "-w", "-o", options, "start")

    @contextlib.contextmanager
    def stopped(self, stack: FaultStack) -> Iterator[None]:
        """The tracker database server stopped (immediate shutdown), started again after."""
        self.stop()
        stack.fault = "tracker database stopped (PostgreSQL)"
        try:
            yield
        finally:
            self.start_again()
            stack.fault = "none"

    def shutdown(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop()
