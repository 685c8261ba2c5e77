"""SMS channel (Twilio) that replaces Rasa's stock `twilio` connector.

Why not rasa.core.channels.twilio.TwilioInput: it accepts unsigned (forged) webhooks, uses the
raw phone number as the conversation id, processes retried webhooks twice, rewrites "¡" to "@",
drops buttons, splits replies on blank lines and sends them with a blocking REST call on the
event loop (reliability-security.md §2.1, engineering-notes.md §1.6). This channel:

- rejects any request whose X-Twilio-Signature does not match (403, nothing stored or sent);
- keys the conversation on "sms:" + HMAC-SHA256(SMS_ID_SECRET, E.164), never the number;
- processes each MessageSid once, honours STOP/START/HELP before NLU, sends a first-contact
  notice, turns buttons into numbered options and maps "2" back to the second payload;
- answers with TwiML in the webhook response (one <Message> per turn), so there is no outbound
  REST call at all, and answers "still working" if the turn takes longer than the time budget.

Configuration: account SID, auth token and number come from the channel's credentials entry
(bot/channels/credentials.twilio.yml, ${TWILIO_*} placeholders). PUBLIC_BASE_URL (the https
origin Twilio calls, when behind a proxy), SMS_ID_SECRET, SMS_STATE_DATABASE_URL and
SMS_TURN_TIMEOUT_SECONDS are read from the environment because they are optional.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from typing import Any, Awaitable, Callable, Dict, Optional, Text
from urllib.parse import parse_qs
from xml.sax.saxutils import escape, quoteattr

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot import runtime_guards
from bot.channels.local_secrets import load_or_create_secret
from bot.channels.sms_segments import MAX_MESSAGE_CHARS, fewest_segments
from bot.channels.sms_state import ContactState, SmsStateStore, check_production_url
from bot.channels.sms_state import default_database_url as sms_state_url
from bot.channels.turns import finished_within
from bot.rate_limit import RATE_LIMITED_KEY, RateLimits, is_emergency, shared_limits
from bot.safety.gate import ALARM_LEVELS
from common.conversation_ids import sms_conversation_id
from common.patient_texts import PatientTexts
from common.patient_texts import load as load_patient_texts

logger = logging.getLogger(__name__)

SMS_ID_SECRET_ENV = "SMS_ID_SECRET"
SMS_ID_SECRET_FILE = "sms_id_secret"
DEFAULT_TURN_TIMEOUT_S = 8.0
MAX_BODY_BYTES = 64 * 1024

# Twilio's default single-word keywords on long codes (reliability-security.md §3), plus the
# Spanish ones a clinic configures with Advanced Opt-Out. Matched on the whole message only.
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT",
     "BAJA", "PARAR", "CANCELAR"}
)
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "ALTA", "INICIO"})
OPT_IN_WHEN_OPTED_OUT = frozenset({"YES"})  # otherwise "yes" is an answer for the assistant
HELP_KEYWORDS = frozenset({"HELP", "INFO", "AYUDA"})
UNDELIVERED_STATUSES = frozenset({"undelivered", "failed"})
ALERT_TIMEOUT_S = 2.0

_KEYWORD_TRIM = " \t\r\n.!¡?¿,;:\"'"
_CHOICE = re.compile(r"^\s*#?\s*(\d{1,2})\s*[.)]?\s*$")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BLANK_LINES = re.compile(r"\n\s*\n+")


class _FormParams(dict[str, list[str]]):
    """Form fields with every value kept (blank ones too); `getlist` is what Twilio's
    RequestValidator looks for when a field may repeat."""

    def getlist(self, name: str) -> list[str]:
        """All values of one field."""
        return list(self.get(name, []))

    def first(self, name: str) -> str:
        """The first value of a field, or "" when absent."""
        values = self.get(name) or [""]
        return str(values[0])


def parse_form(body: bytes) -> _FormParams:
    """Parse an urlencoded body keeping blank fields: Twilio signs them (Sanic's form drops them).

    Raises ValueError for undecodable bodies.
    """
    parsed = parse_qs(
        body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=200
    )
    return _FormParams(parsed)


def conversation_id_for(phone_number: str, secret: bytes) -> str:
    """The pseudonymous tracker id of a phone number: "sms:" + HMAC-SHA256(secret, E.164)
    (common/conversation_ids.py, which also sizes every column that stores it)."""
    return sms_conversation_id(phone_number, secret)


def short_ref(conversation_id: str) -> str:
    """A log-friendly prefix of the (already pseudonymous) conversation id."""
    return conversation_id[:12]


def keyword_of(text: str) -> str:
    """The message as a keyword candidate: one word, upper case, outer punctuation removed."""
    return text.strip(_KEYWORD_TRIM).upper()


def choose_option(text: str, buttons: list[dict[str, str]]) -> Optional[str]:
    """The payload of option n when the patient replies with the number n of a shown option."""
    match = _CHOICE.match(text)
    if not match or not buttons:
        return None
    index = int(match.group(1)) - 1
    if 0 <= index < len(buttons) and buttons[index].get("payload"):
        return buttons[index]["payload"]
    return None


def render_options(buttons: list[dict[str, str]]) -> str:
    """Buttons as numbered lines ("1. Yes", "2. No") the patient can answer with a digit."""
    return "\n".join(f"{number}. {button['title']}" for number, button in
                     enumerate(buttons, start=1))


def twiml(messages: list[str], status_callback: Optional[str] = None) -> str:
    """A TwiML document replying with each message in order; XML-escaped, no control chars.
    With `status_callback`, Twilio reports each message's delivery status to that URL."""
    attributes = f" statusCallback={quoteattr(status_callback)}" if status_callback else ""
    parts = [
        f"<Message{attributes}>" + escape(_XML_INVALID.sub("", message)) + "</Message>"
        for message in messages if message
    ]
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(parts) + "</Response>"


def fit_sms(text: str, suffix: str) -> str:
    """One SMS body: blank lines collapsed, fewest segments, capped at Twilio's 1,600 chars
    (a cut answer ends with `suffix`)."""
    body = _BLANK_LINES.sub("\n", text.replace("\r\n", "\n")).strip()
    body = fewest_segments(body)
    if len(body) <= MAX_MESSAGE_CHARS:
        return body
    cut = body[: MAX_MESSAGE_CHARS - len(suffix)]
    cut = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return cut + suffix


class SmsTexts:
    """The channel's fixed texts: the KB's sms.* texts with the clinic's values, per language.

    They come from the KB export (common/patient_texts.py), so they are reviewed like every
    entry and work while the action server or the KB database is down.
    """

    def __init__(self, texts: Optional[PatientTexts] = None) -> None:
        self._texts = texts

    @property
    def source(self) -> PatientTexts:
        """The export (re-read when `make kb` rewrote it)."""
        return self._texts or load_patient_texts()

    def _text(self, key: str, language: Optional[str]) -> str:
        return self.source.text(f"sms.{key}", language).text

    def notice(self, language: Optional[str] = None) -> str:
        """First contact: who is answering, that SMS is not private, how to opt out."""
        return self._text("notice", language)

    def help(self, language: Optional[str] = None) -> str:
        """HELP/INFO/AYUDA: clinic name and phone and the opt-out keyword."""
        return self._text("help", language)

    def opted_in(self, language: Optional[str] = None) -> str:
        """Confirmation after START/UNSTOP/ALTA."""
        return self._text("opted_in", language)

    def media_only(self, language: Optional[str] = None) -> str:
        """A picture or empty message: the assistant reads text only."""
        return self._text("media_only", language)

    def still_working(self, language: Optional[str] = None) -> str:
        """The turn is taking longer than Twilio should wait."""
        return self._text("still_working", language)

    def failure(self, language: Optional[str] = None) -> str:
        """The turn failed: never leave the patient without a way forward."""
        return self._text("failure", language)

    def rate_limited(self, language: Optional[str] = None) -> str:
        """Too many messages: wait a moment; in an emergency call … (assistant.rate_limited)."""
        return self.source.text(RATE_LIMITED_KEY, language).text

    def truncated(self, language: Optional[str] = None) -> str:
        """Suffix of an answer cut at Twilio's length limit."""
        return self._text("truncated", language)


class SecureTwilioInput(InputChannel):
    """Signed, pseudonymous, idempotent Twilio SMS webhook answering with TwiML."""

    @classmethod
    def name(cls) -> Text:
        """Registered as "twilio": the webhook is POST /webhooks/twilio/webhook."""
        return "twilio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """Build from credentials.twilio.yml; optional settings come from the environment."""
        if not credentials:
            cls.raise_missing_credentials_exception()
        settings: Dict[Text, Any] = credentials or {}
        timeout = float(os.environ.get("SMS_TURN_TIMEOUT_SECONDS") or DEFAULT_TURN_TIMEOUT_S)
        check_production_url(sms_state_url())  # production: PostgreSQL, refused at start-up
        return cls(
            account_sid=settings.get("account_sid"),
            auth_token=settings.get("auth_token"),
            twilio_number=settings.get("twilio_number"),
            public_base_url=os.environ.get("PUBLIC_BASE_URL") or None,
            texts=SmsTexts(load_patient_texts()),  # a missing KB export stops start-up
            turn_timeout_s=timeout,
        )

    def __init__(
        self,
        account_sid: Optional[Text],
        auth_token: Optional[Text],
        twilio_number: Optional[Text],
        public_base_url: Optional[Text] = None,
        store: Optional[SmsStateStore] = None,
        id_secret: Optional[bytes] = None,
        texts: Optional[SmsTexts] = None,
        turn_timeout_s: float = DEFAULT_TURN_TIMEOUT_S,
        limits: Optional[RateLimits] = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = (auth_token or "").strip()
        self.twilio_number = twilio_number
        self.public_base_url = (public_base_url or "").rstrip("/") or None
        self.turn_timeout_s = turn_timeout_s
        self._store = store
        self._id_secret = id_secret
        self._texts = texts
        self._limits = limits
        if not self.auth_token:
            logger.warning("twilio: no auth token configured; every webhook will get 403")

    # -- lazily created collaborators (no I/O when the class is imported or built) --------
    @property
    def store(self) -> SmsStateStore:
        """The SMS state database (SMS_STATE_DATABASE_URL or SQLite in $DATA_DIR)."""
        if self._store is None:
            self._store = SmsStateStore()
        return self._store

    @property
    def limits(self) -> RateLimits:
        """Messages per number (bot/rate_limit.py; Redis in production)."""
        if self._limits is None:
            self._limits = shared_limits()
        return self._limits

    @property
    def texts(self) -> SmsTexts:
        """Fixed texts with the clinic's name and numbers."""
        if self._texts is None:
            self._texts = SmsTexts()
        return self._texts

    def conversation_id(self, phone_number: str) -> str:
        """Tracker id for a number, keyed with SMS_ID_SECRET (generated locally if unset)."""
        if self._id_secret is None:
            self._id_secret = load_or_create_secret(SMS_ID_SECRET_ENV, SMS_ID_SECRET_FILE)
        return conversation_id_for(phone_number, self._id_secret)

    # -- request checks ----------------------------------------------------------------------
    def signed_url(self, request: Request) -> str:
        """The URL Twilio signed: PUBLIC_BASE_URL + path (+ query) if set, else the request URL."""
        if not self.public_base_url:
            return str(request.url)
        query = f"?{request.query_string}" if request.query_string else ""
        return f"{self.public_base_url}{request.path}{query}"

    def status_callback_url(self, request: Request) -> str:
        """Where Twilio reports delivery: this channel's /status route, on the public origin
        (PUBLIC_BASE_URL) when set. No conversation data in the URL (Twilio logs it)."""
        base = self.public_base_url or f"{request.scheme}://{request.host}"
        prefix = request.path.rsplit("/", 1)[0]  # /webhooks/twilio
        return f"{base}{prefix}/status"

    def signature_is_valid(self, request: Request, params: _FormParams) -> bool:
        """Constant-time check of X-Twilio-Signature over the public URL and every form field."""
        signature = request.headers.get("X-Twilio-Signature", "")
        if not self.auth_token or not signature:
            return False
        validator = RequestValidator(self.auth_token)
        return bool(validator.validate(self.signed_url(request), params, signature))

    # -- the webhook ---------------------------------------------------------------------------
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """GET / (health) and POST /webhook."""
        twilio_webhook = Blueprint("secure_twilio_webhook", __name__)

        @twilio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @twilio_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            return await self.handle_webhook(request, on_new_message)

        @twilio_webhook.route("/status", methods=["POST"])
        async def status(request: Request) -> HTTPResponse:
            return await self.handle_status(request)

        return twilio_webhook

    def _signed_params(self, request: Request, kind: str) -> Optional[_FormParams]:
        """The form fields of a correctly signed Twilio request, else None (logged)."""
        body = request.body or b""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        params: Optional[_FormParams] = None
        if content_type == "application/x-www-form-urlencoded" and len(body) <= MAX_BODY_BYTES:
            try:
                params = parse_form(body)
            except (UnicodeDecodeError, ValueError):
                params = None
        if params is None or not self.signature_is_valid(request, params):
            # No body, no number: the rejection itself is what monitoring needs.
            logger.warning("twilio.%s.rejected reason=%s", kind,
                           "bad_signature" if params is not None else "unreadable_body")
            return None
        return params

    async def handle_status(self, request: Request) -> HTTPResponse:
        """A signed statusCallback: record the message's delivery status (no text)."""
        params = self._signed_params(request, "status")
        if params is None:
            return response.text("Forbidden", status=403)
        message_sid = params.first("MessageSid") or params.first("SmsSid")
        status = (params.first("MessageStatus") or params.first("SmsStatus")).strip().lower()
        recipient = params.first("To").strip()
        if not message_sid or not status or not recipient:
            logger.warning("twilio.status.incomplete")
            return response.empty(status=204)
        conversation_id = self.conversation_id(recipient)
        error_code = params.first("ErrorCode").strip() or None
        await asyncio.to_thread(self.store.record_delivery, message_sid, conversation_id,
                                status, error_code)
        if status in UNDELIVERED_STATUSES:  # a reply the patient did not get: staff must know
            logger.warning("twilio.delivery.failed status=%s error=%s conversation=%s", status,
                           error_code or "-", short_ref(conversation_id))
        return response.empty(status=204)

    async def handle_webhook(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        """Verify, deduplicate, apply keywords, then run the turn and answer with TwiML
        (every <Message> with the statusCallback URL)."""
        params = self._signed_params(request, "webhook")
        if params is None:
            return response.text("Forbidden", status=403)
        messages = await self._answer(params, on_new_message)
        return self._reply(messages, self.status_callback_url(request))

    async def _answer(
        self, params: _FormParams, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> list[str]:
        """The texts to send back for one signed webhook (empty: send nothing)."""
        message_sid = params.first("MessageSid") or params.first("SmsSid")
        sender = params.first("From").strip()
        if not message_sid or not sender:
            logger.warning("twilio.webhook.incomplete reason=missing_sid_or_from")
            return []
        conversation_id = self.conversation_id(sender)
        ref = short_ref(conversation_id)

        if not await asyncio.to_thread(self.store.claim_message, message_sid, conversation_id):
            logger.info("twilio.webhook.duplicate conversation=%s", ref)
            return []

        text = params.first("Body")
        keyword = keyword_of(text)
        contact = await asyncio.to_thread(self.store.contact, conversation_id)

        if keyword in OPT_OUT_KEYWORDS:
            await asyncio.to_thread(self.store.set_consent, conversation_id, True, keyword)
            logger.info("twilio.consent.opt_out conversation=%s", ref)
            return []
        if keyword in HELP_KEYWORDS:  # answered after STOP too (carrier rules: HELP always)
            if not contact.opted_out:
                await self._note_notice(conversation_id, contact)
            return [self.texts.help()]
        if contact.opted_out:
            if keyword in OPT_IN_KEYWORDS or keyword in OPT_IN_WHEN_OPTED_OUT:
                await asyncio.to_thread(self.store.set_consent, conversation_id, False, keyword)
                logger.info("twilio.consent.opt_in conversation=%s", ref)
                return [self.texts.opted_in()]
            alarm = await self._alarm_after_opt_out(text, conversation_id)
            if alarm:  # an emergency still gets the instruction (only that), and an alert
                return [alarm]
            logger.info("twilio.webhook.suppressed reason=opted_out conversation=%s", ref)
            return []
        if keyword in OPT_IN_KEYWORDS:
            return [self.texts.opted_in()]

        decision = await self.limits.acheck("sms_number", conversation_id)
        if not decision.allowed and not is_emergency(text):  # an emergency is never limited
            logger.warning("twilio.rate_limited conversation=%s", ref)
            # one reply per window, then silence: replies cost the clinic money too
            return [self.texts.rate_limited()] if decision.first_refusal else []

        # The reply comes first, the first-contact notice after it: an emergency reply must
        # be the first thing a patient reads (bot/safety/gate.py answers it before the turn).
        if not text.strip():
            logger.info("twilio.webhook.no_text conversation=%s", ref)
            messages = [self.texts.media_only()]
        else:
            chosen = choose_option(text, contact.last_buttons)
            reply, buttons = await self._run_turn(chosen or text, conversation_id,
                                                  on_new_message)
            await asyncio.to_thread(self.store.set_buttons, conversation_id, buttons)
            messages = [reply]
        if not contact.notice_sent:
            messages.append(self.texts.notice())
            await self._note_notice(conversation_id, contact)
        return messages

    async def _alarm_after_opt_out(self, text: str, conversation_id: str) -> Optional[str]:
        """After STOP no conversation runs, but an emergency gets the gate's instruction and
        the gate's alert (its sink may be absent: then the one log line is the alert)."""
        gate = runtime_guards.current_gate()
        if gate is None or not text.strip():
            return None
        try:
            texts = gate.texts()
            # The gate's own triage and language step (this path used to keep its own copy,
            # which drifted: ConversationLanguages.decide no longer existed).
            verdict, language = gate.assess(conversation_id, text, texts)
            if verdict.level not in ALARM_LEVELS:
                return None
            reply = str(gate.alarm_reply(verdict, language, texts))
        except Exception as error:  # noqa: BLE001 - no triage: nothing more can be said
            logger.error("twilio.opted_out.triage_failed error=%s", type(error).__name__)
            return None
        logger.warning("safety.triage level=%s category=%s conversation=%s channel=%s "
                       "opted_out=yes", verdict.level, verdict.category or "-",
                       short_ref(conversation_id), self.name())
        sink = gate.alerts
        if sink is not None:
            try:
                await asyncio.wait_for(asyncio.to_thread(
                    sink.record, level=verdict.level, category=verdict.category,
                    flag_id=verdict.flag_id, conversation_id=conversation_id,
                    channel=self.name()), ALERT_TIMEOUT_S)
            except Exception as error:  # noqa: BLE001 - the reply goes out regardless
                logger.error("safety.alert.not_recorded level=%s error=%s", verdict.level,
                             type(error).__name__)
        return reply or None

    async def _note_notice(self, conversation_id: str, contact: ContactState) -> None:
        if not contact.notice_sent:
            await asyncio.to_thread(self.store.mark_notice_sent, conversation_id)

    def _reply(self, messages: list[str], status_callback: Optional[str] = None) -> HTTPResponse:
        fitted = [fit_sms(message, self.texts.truncated()) for message in messages]
        return response.text(twiml(fitted, status_callback),
                             content_type="application/xml; charset=utf-8")

    async def _run_turn(
        self,
        text: str,
        conversation_id: str,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> tuple[str, list[dict[str, str]]]:
        """Run one Rasa turn within the time budget; return the SMS text and offered options."""
        collector = CollectingOutputChannel()
        # UserMessage strips the text; "¡" is kept as is (the stock channel turned it into "@").
        message = UserMessage(text, collector, conversation_id, input_channel=self.name())
        ref = short_ref(conversation_id)
        try:
            in_time = await finished_within(on_new_message(message), self.turn_timeout_s)
        except Exception as error:  # never echo the patient's text or number
            logger.error("twilio.turn.failed conversation=%s error=%s", ref,
                         type(error).__name__)
            return self.texts.failure(), []
        if not in_time:
            # The turn goes on (the tracker stays consistent) but Twilio gets an answer now.
            logger.warning("twilio.turn.slow conversation=%s budget_s=%.0f", ref,
                           self.turn_timeout_s)
            return self.texts.still_working(), []
        # The safety gate (bot/safety/gate.py) already made sure the turn is never silent.
        return self._render([dict(m) for m in collector.messages])

    def _render(self, bot_messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
        """Join every bot message of the turn into one SMS; buttons become numbered options."""
        lines: list[str] = []
        buttons: list[dict[str, str]] = []
        for bot_message in bot_messages:
            if bot_message.get("text"):
                lines.append(str(bot_message["text"]))
            if bot_message.get("image"):
                lines.append(str(bot_message["image"]))
            offered = [
                {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                for b in bot_message.get("buttons") or []
                if isinstance(b, dict) and b.get("title")
            ]
            if offered:
                buttons = offered  # only the latest options can be answered with a digit
                lines.append(render_options(offered))
        if not lines:
            return self.texts.failure(), []
        return "\n".join(lines), buttons

    def get_output_channel(self) -> None:
        """No bot-initiated SMS: the tracker id is a hash, and replies travel as TwiML."""
        return None
