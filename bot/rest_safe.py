"""Rasa's REST channel with strict input checks and a "please call" reply when a turn fails.

Why: the stock `rest` channel answers malformed bodies with a 500 and logs the raw text at
ERROR, merges requests without `sender` into one shared "default" conversation, trusts the
client's `input_channel`, and returns `[]` (silence) when an action, the tracker store or the
model failed (reliability-security.md §2.2, risks 3 and 5). This subclass keeps the URL
(/webhooks/rest/webhook) and the response format (a JSON list of bot messages) and:

- answers 415 (not JSON), 413 (too long), 400 (invalid JSON, nested too deeply, no sender, no
  text, empty text) with a short JSON error, never a 500;
- strips control characters from the text; ignores `input_channel`; keeps `metadata` only if
  it is an object; never streams;
- answers 503 with the clinic's "please call" text (the KB export) when no model is loaded or
  the turn raised; a turn that ends silent or fails inside Rasa is answered by the safety gate
  (bot/safety/gate.py) with that text and 200, so the channel adds nothing itself;
- logs only event names and error types.

For the local profile only (tools, tests and the readiness probe): the client still chooses
the conversation id, so it is never exposed to patients (credentials.production.yml has no
REST channel). credentials.yml line: `bot.rest_safe.SafeRestInput: {}` (replacing `rest: {}`).
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any, Awaitable, Callable, Dict, Optional, Text, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import runtime_guards
from bot.channels.json_body import JsonBodyError, parse_json_body
from common.conversation_ids import CONVERSATION_ID_CHARS
from common.patient_texts import PatientTextsMissing
from common.patient_texts import load as load_patient_texts

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000
MAX_BODY_BYTES = 64 * 1024
MAX_SENDER_CHARS = CONVERSATION_ID_CHARS  # what every store's conversation-id column holds
_KEEP_CONTROL = {"\n", "\t"}


class BadRequest(Exception):
    """A request the channel refuses with a 4xx status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message

    def as_response(self) -> HTTPResponse:
        """The JSON error response."""
        return response.json({"error": self.code, "message": self.message}, status=self.status)


def clean_text(text: str) -> str:
    """The text without control characters (newlines and tabs kept), trimmed."""
    kept = (
        ch for ch in text
        if ch in _KEEP_CONTROL or unicodedata.category(ch) not in {"Cc", "Cs"}
    )
    return "".join(kept).strip()


def parse_request(
    content_type: Optional[str], body: Optional[bytes]
) -> Tuple[str, str, Optional[Dict[str, Any]]]:
    """(sender, text, metadata) of a REST request, or BadRequest."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise BadRequest(415, "unsupported_media_type", "Send JSON (application/json).")
    raw = body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(413, "message_too_long", "The message is too long.")
    try:
        payload = parse_json_body(raw)  # bounded nesting: 60 kB of "[[[" was a 500
    except JsonBodyError as bad:
        raise BadRequest(400, bad.code, bad.message) from None
    if not isinstance(payload, dict):
        raise BadRequest(400, "invalid_body", 'Send {"sender": "...", "message": "..."}.')
    sender = payload.get("sender")
    if not isinstance(sender, str) or not clean_text(sender):
        raise BadRequest(400, "invalid_sender", "A non-empty string `sender` is required.")
    sender = clean_text(sender)
    if len(sender) > MAX_SENDER_CHARS:
        raise BadRequest(400, "invalid_sender", "`sender` is too long.")
    message = payload.get("message")
    if not isinstance(message, str):
        raise BadRequest(400, "invalid_message", "A string `message` is required.")
    text = clean_text(message)
    if not text:
        raise BadRequest(400, "empty_message", "Please type a message.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise BadRequest(
            413, "message_too_long", f"Messages can be at most {MAX_MESSAGE_CHARS} characters."
        )
    metadata = payload.get("metadata")
    return sender, text, metadata if isinstance(metadata, dict) else None


class SafeRestInput(RestInput):
    """`rest` with input checks (same URL and reply format); the safety gate answers."""

    @classmethod
    def name(cls) -> Text:
        """URL prefix: /webhooks/rest/."""
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """No settings; installs the runtime guards (action budget, log redaction)."""
        runtime_guards.install()
        return cls()

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """GET / (health) and POST /webhook."""
        webhook = Blueprint("custom_webhook_SafeRestInput", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.handle(request, on_new_message)

        return webhook

    async def handle(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        """Check the request, run the turn, and never answer with silence."""
        try:
            sender, text, metadata = parse_request(
                request.headers.get("content-type"), request.body
            )
        except BadRequest as bad:
            logger.info("rest.request.rejected reason=%s", bad.code)
            return bad.as_response()
        agent = getattr(request.app.ctx, "agent", None)
        if agent is None:
            logger.error("rest.turn.no_agent")
            return self._unavailable(sender)
        collector = CollectingOutputChannel()
        try:
            await on_new_message(
                UserMessage(text, collector, sender, input_channel=self.name(),
                            metadata=metadata)
            )
        except Exception as error:  # noqa: BLE001 - type only: never the patient's text
            logger.error("rest.turn.failed error=%s", type(error).__name__)
            return self._unavailable(sender)
        # The safety gate (bot/safety/gate.py) already made sure the turn is never silent.
        return response.json(collector.messages)

    @staticmethod
    def _unavailable(sender: str) -> HTTPResponse:
        try:
            text = load_patient_texts().text("assistant.unavailable").text
        except PatientTextsMissing:
            return response.json({"error": "unavailable"}, status=503)
        return response.json([{"recipient_id": sender, "text": text}], status=503)
