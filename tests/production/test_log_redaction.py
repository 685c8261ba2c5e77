"""privacy/log_redaction.py: records keep their event, lose the patient data."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from privacy.log_redaction import RedactingFilter, install_redaction, redact_text

CANARY = "DNI 12345678Z"


def record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"failed on {CANARY}")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("rasa.core.processor", logging.ERROR, __file__, 1, msg, args,
                             exc_info)


def rendered(log_record: logging.LogRecord) -> str:
    assert RedactingFilter().filter(log_record)
    return logging.Formatter("%(message)s").format(log_record)


def test_traceback_becomes_the_exception_type() -> None:
    text = rendered(record("Encountered an exception while running action '%s'.", "x",
                           exc=True))
    assert text == "Encountered an exception while running action 'x'. [exception: ValueError]"


def test_structlog_json_keeps_only_the_event() -> None:
    line = json.dumps({"event": "rest.message.received.failure", "text": CANARY,
                       "log_level": "error",
                       "exception": [{"exc_type": "KeyError", "exc_value": CANARY}]})
    out = json.loads(rendered(record(line)))
    assert out == {"event": "rest.message.received.failure", "text": "[redacted]",
                   "log_level": "error", "exception": "KeyError"}


@pytest.mark.parametrize("message", [
    f"Failed to run custom action. Error: 500, Internal Server Error, "
    f"body='{{\"text\": \"{CANARY}\"}}'",
    f"(psycopg2.errors.X) boom [SQL: INSERT INTO events] [parameters: {{'data': '{CANARY}'}}]",
    f"user said text='{CANARY}' and more",
    f"exception with request_body {{'tracker': '{CANARY}'}}",
])
def test_known_data_fragments_are_masked(message: str) -> None:
    assert "12345678Z" not in redact_text(message)


def test_phone_numbers_and_long_lines_are_masked() -> None:
    assert "34600000001" not in redact_text("sender +34600000001 and 34600000001")
    assert len(redact_text("x" * 5000)) < 700
    assert redact_text("Starting Rasa server on http://127.0.0.1:5005") == (
        "Starting Rasa server on http://127.0.0.1:5005")


def test_install_adds_the_filter_to_every_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = logging.StreamHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        monkeypatch.setenv("LOG_LEVEL", "INFO")
        assert install_redaction()
        assert any(isinstance(f, RedactingFilter) for f in handler.filters)
        assert any(isinstance(f, RedactingFilter) for f in logging.lastResort.filters)
        install_redaction()
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
        monkeypatch.setenv("LOG_LEVEL", "DEBUG")
        assert not install_redaction()
    finally:
        root.removeHandler(handler)
