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
    assert text == ("Encountered an exception while running action '[redacted]'. "
                    "[exception: ValueError]")  # the action name too: a forged one is data


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


@pytest.mark.parametrize("message", [
    # rasa_sdk on a forged call: the name is whatever the caller sent, quotes included
    f"No registered action found for name 'action_x' {CANARY} ''.",
    f"No registered action found for name 'x\"{CANARY}'.",
    # Sanic's exception line: the full request URI with its query string
    f"Exception occurred while handling uri: 'http://127.0.0.1:5005/webhooks/rest/webhook"
    f"?q={CANARY.replace(' ', '+')}'",
    f"POST http://127.0.0.1:5005/webhooks/{CANARY.replace(' ', '')}/webhook failed",
    f"GET /webhooks/webchat/history?t={CANARY.replace(' ', '')} failed",
    # slot values and message text as Rasa quotes them
    f"Tried to set non existent slot 'procedure_site'. Value: \"{CANARY}\"",
])
def test_names_uris_queries_and_quoted_values_are_masked(message: str) -> None:
    assert "12345678Z" not in redact_text(message)


def test_server_addresses_and_our_event_lines_are_kept() -> None:
    for line in ["Starting Rasa server on http://127.0.0.1:5005",
                 "safety.triage level=emergency category=bleeding conversation=sms:0a1b2c3d4e5f "
                 "channel=twilio", "Is the server running? Error: Cannot connect"]:
        assert redact_text(line) == line


def test_captured_warnings_keep_category_and_place_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Warnings (Rasa: "Failed to parse arguments in line '/…'") bypass logging unless
    captured; captured, they go through the same filter as every other record."""
    import io
    import warnings

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    logging.captureWarnings(False)  # pytest restores warnings.showwarning between tests
    try:
        assert install_redaction()
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn(f"Failed to parse arguments in line '/inform {CANARY}'.", UserWarning,
                          stacklevel=1)
    finally:
        root.removeHandler(handler)
        logging.captureWarnings(False)
    written = stream.getvalue()
    assert "12345678Z" not in written
    assert "warning UserWarning at test_log_redaction.py:" in written

