"""A logging filter that keeps patient data out of the logs of both servers.

Why: open-source Rasa has no log redaction (reliability-security.md §2.6). At ERROR it logs the
user's text when a REST turn fails and, when an action fails, a traceback whose chained
exception holds the action server's 500 body: the whole tracker (risk 3). rasa_sdk logs the
failing request the same way. This filter keeps the event and drops the data:

- tracebacks and stack traces are replaced by the exception's type name;
- structured (structlog JSON) lines keep only their event name and level;
- Python warnings are captured into logging (`logging.captureWarnings`): Rasa's warnings quote
  the patient's message ("Failed to parse arguments in line '/ … my DNI is …'") and rasa_sdk's
  quote a caller's version string, and `warnings` writes to stderr past every filter. A
  warning keeps only its category and where it was raised;
- anything between quotes is masked: Rasa, rasa_sdk and Sanic quote what they echo — message
  text, slot values, action names (a forged call's name), conversation ids, request URIs;
- URL paths and query strings are masked (the request URI of an exception line);
- known data-bearing fragments (HTTP bodies, SQL parameters, phone numbers) are masked;
- very long lines are cut (a long line is almost always a dumped payload).

Standard library only: the Rasa process (.venv/bot) and the action server (.venv/actions) both
load it, from the logging config files (scripts/logging.production.yml) and at start-up.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any, Iterable

REDACTED = "[redacted]"
MAX_MESSAGE_CHARS = 600
# Keys of a structlog event that describe the event, never the conversation.
SAFE_STRUCTURED_KEYS = frozenset(
    {"event", "event_key", "log_level", "level", "timestamp", "logger", "policy_name",
     "model_id", "filename", "component"}
)
WARNINGS_LOGGER = "py.warnings"
# "path/to/file.py:123: UserWarning: <message>\n  <source line>" (warnings.formatwarning)
_WARNING_LINE = re.compile(r"^(?P<file>.*?):(?P<line>\d+): (?P<category>[A-Za-z_][\w.]*): ",
                           re.DOTALL)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # aiohttp/Rasa ClientResponseError: "500, Internal Server Error, body='<tracker json>'"
    (re.compile(r"body=.*", re.DOTALL), "body=" + REDACTED),
    (re.compile(r"request_body.*", re.DOTALL), "request_body=" + REDACTED),
    # SQLAlchemy error messages quote the statement and its bound values (event data).
    (re.compile(r"\[SQL:.*", re.DOTALL), "[SQL: " + REDACTED + "]"),
    (re.compile(r"\[parameters:.*", re.DOTALL), "[parameters: " + REDACTED + "]"),
    (re.compile(r"(?i)(text|message|user_text)=(['\"]).*?\2"), r"\1=" + REDACTED),
    # Quoted fragments, from the first quote to the last one of the same kind: a value that
    # itself contains quotes ("x' DNI 12345678Z '") is masked whole.
    (re.compile(r"(['\"]).*\1", re.DOTALL), r"\1" + REDACTED + r"\1"),
    # Request URIs: keep scheme://host:port, mask the path and query.
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s'\"?#]+)[/?#][^\s'\"]+"), r"\1/" + REDACTED),
    (re.compile(r"\?[^\s'\"=&]+=[^\s'\"]*"), "?" + REDACTED),
    # Phone numbers (E.164 or long digit runs): an SMS id must never show up in clear.
    (re.compile(r"\+\d[\d ().-]{7,}\d"), "[number]"),
    (re.compile(r"\b\d{9,15}\b"), "[number]"),
)


def redact_warning(message: str) -> str:
    """A captured warning as its category and location only ("warning UserWarning at x.py:3")."""
    found = _WARNING_LINE.match(message)
    if not found:
        return f"warning {REDACTED}"
    where = os.path.basename(found.group("file"))
    return f"warning {found.group('category')} at {where}:{found.group('line')}"


def redact_text(message: str) -> str:
    """The message with data-bearing fragments masked and its length capped."""
    structured = _redact_structured(message)
    if structured is not None:
        return structured
    for pattern, replacement in _PATTERNS:
        message = pattern.sub(replacement, message)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + " " + REDACTED
    return message


def _redact_structured(message: str) -> str | None:
    """A structlog JSON line with every non-descriptive value replaced; None if not JSON."""
    stripped = message.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        payload = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    kept: dict[str, Any] = {}
    for key, value in payload.items():
        if key in SAFE_STRUCTURED_KEYS and isinstance(value, str | int | float | bool):
            kept[key] = value if not isinstance(value, str) else value[:200]
        elif key == "exception":
            kept[key] = _exception_types(value)
        else:
            kept[key] = REDACTED
    return json.dumps(kept, ensure_ascii=False)


def _exception_types(value: Any) -> str:
    """Only the exception type names of structlog's dict traceback."""
    if isinstance(value, list):
        names = [str(item.get("exc_type")) for item in value if isinstance(item, dict)]
        if names:
            return " <- ".join(names)
    return REDACTED


class RedactingFilter(logging.Filter):
    """Rewrites every record it sees; never drops one (an event still shows it happened)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place and let it through."""
        if getattr(record, "_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record must not break logging
            message = str(record.msg)
        if record.exc_info and record.exc_info[0] is not None:
            message = f"{message} [exception: {record.exc_info[0].__name__}]"
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        if record.name == WARNINGS_LOGGER:
            record.msg = redact_warning(message)
        else:
            record.msg = redact_text(message)
        record.args = ()
        record._redacted = True
        return True


def _handlers(logger_names: Iterable[str]) -> Iterable[logging.Handler]:
    for name in logger_names:
        yield from logging.getLogger(name).handlers


def install_redaction(force: bool = False) -> bool:
    """Add the filter to the root, Sanic and Rasa handlers and to Python's last-resort handler.

    Python warnings are routed into logging in every case (`logging.captureWarnings`), so they
    reach the filtered handlers instead of stderr. The filter is skipped when LOG_LEVEL is DEBUG
    (a developer's explicit choice; the production start refuses DEBUG) unless `force`.
    Returns whether the filter is installed.
    """
    logging.captureWarnings(True)
    if not force and os.environ.get("LOG_LEVEL", "INFO").upper() == "DEBUG":
        return False
    names = ["", "rasa", "rasa_sdk", "sanic.root", "sanic.error", "sanic.access", "sanic.server",
             WARNINGS_LOGGER]
    targets = list(_handlers(names))
    if logging.lastResort is not None:
        targets.append(logging.lastResort)
    for handler in targets:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    return True
