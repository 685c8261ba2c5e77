"""Website chat channel: serves the widget and carries its messages, under /webhooks/webchat/.

Why a custom channel instead of `rest` or `socketio`: both let the browser choose the
conversation id, so anyone who knows or guesses an id can read that patient's conversation
(reliability-security.md §2.2-2.3, R2/R5). Here the server issues a signed session token
(bot/channels/web_sessions.py); the Rasa sender_id is derived from it and everything the client
sends besides the message text is ignored. Replies come back in the HTTP response (the
CollectingOutputChannel pattern of Rasa's RestInput), so no websocket is needed.

Routes (all under /webhooks/webchat):
  GET  /            the chat page (clinic name and emergency number rendered server-side)
  GET  /widget.js   the widget script, also embeddable in the clinic's own site (web/README.md)
  GET  /widget.css  its styles
  GET  /config      clinic name, phone, emergency number and limits, for embedded widgets
  POST /session     issues {"token", "expires_in"}
  GET  /history     the session's earlier messages (Authorization: Bearer <token>)
  POST /message     {"message": "..."} -> {"messages": [...], "language": "es"} (Bearer token;
                    the language the safety gate answered in, so the widget's labels follow)

Rate limits (bot/rate_limit.py): messages per session and per client address, new sessions
per client address; over a limit the answer is a 429 with the KB text assistant.rate_limited
(it names the emergency number) — except for a message the safety gate's triage flags as an
emergency, which is answered as usual.

Origins: a browser request (one with an Origin header) is answered only when its origin is
the assistant's own public origin (PUBLIC_BASE_URL) or listed in WEBCHAT_ALLOWED_ORIGINS
(comma separated, e.g. "https://www.clinic.example"; the local profile lists its own
http://127.0.0.1:<port>). The Host header is never trusted: with DNS rebinding an attacker's
page reaches the server under the attacker's host name, so "Origin equals Host" proves nothing.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional, Text
from urllib.parse import urlsplit

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import runtime_guards
from bot.channels import web_texts
from bot.channels.clinic_profile import REPO_ROOT, ClinicProfile, load_clinic_profile
from bot.channels.json_body import JsonBodyError, parse_json_body
from bot.channels.local_secrets import MIN_SECRET_BYTES, load_or_create_secret
from bot.channels.turns import finished_within
from bot.channels.web_sessions import WebSession, WebSessionSigner
from bot.rate_limit import (
    Decision,
    RateLimits,
    client_address,
    is_emergency,
    rate_limited_text,
    shared_limits,
)
from common.patient_texts import PatientTexts, PatientTextsMissing
from common.patient_texts import load as load_patient_texts

logger = logging.getLogger(__name__)

WEB_DIR = REPO_ROOT / "web"
ALLOWED_ORIGINS_ENV = "WEBCHAT_ALLOWED_ORIGINS"
SESSION_SECRET_ENV = "WEBCHAT_SESSION_SECRET"
PREVIOUS_SECRET_ENV = "WEBCHAT_SESSION_PREVIOUS_SECRET"  # comma-separated, during a rotation
SESSION_SECRET_FILE = "webchat_session_secret"
MAX_MESSAGE_CHARS = 2000
MAX_BODY_BYTES = 64 * 1024
DEFAULT_SESSION_LIFETIME_S = 12 * 3600
DEFAULT_TURN_TIMEOUT_S = 30.0
HISTORY_LIMIT = 200
BLUEPRINT_NAME = "webchat"
API_ROUTES = frozenset({"config", "session", "history", "message"})  # handler names
SANIC_CORS_EVALUATED = "_sanic_cors_e"  # sanic_cors.core flag: "CORS already handled"

STATIC_FILES = {
    "widget.js": "application/javascript; charset=utf-8",
    "widget.css": "text/css; charset=utf-8",
}
# The page loads only its own script and style and talks only to its own origin; nothing
# else can run even if a bug ever let markup through.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' https: data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def origin_of(url: str) -> Optional[str]:
    """scheme://host[:port] of a URL, lower-cased; None for anything that is not http(s)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def parse_allowed_origins(raw: Optional[str]) -> frozenset[str]:
    """The comma-separated WEBCHAT_ALLOWED_ORIGINS value as a set of exact origins."""
    origins = (origin_of(item) for item in (raw or "").split(",") if item.strip())
    return frozenset(origin for origin in origins if origin)


def previous_secrets(raw: Optional[str]) -> list[bytes]:
    """WEBCHAT_SESSION_PREVIOUS_SECRET: older secrets whose tokens are still accepted."""
    secrets = [item.strip().encode("utf-8") for item in (raw or "").split(",") if item.strip()]
    if any(len(secret) < MIN_SECRET_BYTES for secret in secrets):
        raise RuntimeError(f"{PREVIOUS_SECRET_ENV}: every secret needs at least "
                           f"{MIN_SECRET_BYTES} characters")
    return secrets


def _error(status: int, code: str, message: str, **extra: Any) -> HTTPResponse:
    return response.json({"error": code, "message": message, **extra}, status=status)


def _bot_messages(collected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only the fields the widget renders, with button titles and payloads forced to text."""
    rendered = []
    for item in collected:
        message: dict[str, Any] = {}
        if item.get("text"):
            message["text"] = str(item["text"])
        buttons = [
            {"title": str(b["title"]), "payload": str(b.get("payload") or b["title"])}
            for b in item.get("buttons") or []
            if isinstance(b, dict) and b.get("title")
        ]
        if buttons:
            message["buttons"] = buttons
        if item.get("image"):
            message["image"] = str(item["image"])
        if message:
            rendered.append(message)
    return rendered


def history_from_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """User and bot messages from tracker events; a clicked button shows as its title.

    Only the last bot message keeps its buttons (older ones can no longer be answered).
    """
    messages: list[dict[str, Any]] = []
    last_buttons: list[dict[str, str]] = []
    for event in events:
        kind = event.get("event")
        if kind == "user" and event.get("text"):
            text = str(event["text"])
            titles = {b["payload"]: b["title"] for b in last_buttons}
            messages.append({"role": "user", "text": titles.get(text, text)})
            last_buttons = []
        elif kind == "bot":
            rendered = _bot_messages([{"text": event.get("text"), **(event.get("data") or {})}])
            for message in rendered:
                messages.append({"role": "bot", **message})
                last_buttons = message.get("buttons", last_buttons)
    for message in messages[:-1]:
        message.pop("buttons", None)
    return messages[-HISTORY_LIMIT:]


class WebChatInput(InputChannel):
    """Server-issued sessions, strict input checks and an allow-listed CORS policy."""

    @classmethod
    def name(cls) -> Text:
        """URL prefix: /webhooks/webchat/."""
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """Settings come from the environment; the credentials entry may stay empty."""
        credentials = credentials or {}
        lifetime = float(
            credentials.get("session_lifetime_s")
            or os.environ.get("WEBCHAT_SESSION_LIFETIME_SECONDS")
            or DEFAULT_SESSION_LIFETIME_S
        )
        return cls(
            allowed_origins=parse_allowed_origins(os.environ.get(ALLOWED_ORIGINS_ENV)),
            public_base_url=os.environ.get("PUBLIC_BASE_URL") or None,
            session_lifetime_s=lifetime,
            clinic=load_clinic_profile(),  # a broken clinic.yml stops start-up, not the page
        )

    def __init__(
        self,
        allowed_origins: frozenset[str] = frozenset(),
        public_base_url: Optional[str] = None,
        session_lifetime_s: float = DEFAULT_SESSION_LIFETIME_S,
        signer: Optional[WebSessionSigner] = None,
        clinic: Optional[ClinicProfile] = None,
        texts: Optional[PatientTexts] = None,
        web_dir: Path = WEB_DIR,
        turn_timeout_s: float = DEFAULT_TURN_TIMEOUT_S,
        limits: Optional[RateLimits] = None,
    ) -> None:
        self.allowed_origins = allowed_origins
        self.public_origin = origin_of(public_base_url) if public_base_url else None
        self.session_lifetime_s = session_lifetime_s
        self.web_dir = web_dir
        self.turn_timeout_s = turn_timeout_s
        self._signer = signer
        self._clinic = clinic
        self._texts = texts
        self._limits = limits
        self._static: dict[str, bytes] = {}

    # -- lazily created collaborators -------------------------------------------------------
    @property
    def signer(self) -> WebSessionSigner:
        """Token signer keyed with WEBCHAT_SESSION_SECRET (generated locally if unset)."""
        if self._signer is None:
            current = load_or_create_secret(SESSION_SECRET_ENV, SESSION_SECRET_FILE)
            older = previous_secrets(os.environ.get(PREVIOUS_SECRET_ENV))
            self._signer = WebSessionSigner([current, *older], self.session_lifetime_s)
        return self._signer

    @property
    def limits(self) -> RateLimits:
        """The rate limits (shared by the process's channels; Redis in production)."""
        if self._limits is None:
            self._limits = shared_limits()
        return self._limits

    def _rate_limited(self, decisions: list[Decision], limit: str) -> HTTPResponse:
        """429 with the clinic's "please wait; in an emergency call …" text."""
        retry_after = max(d.retry_after_s for d in decisions)
        try:
            text = rate_limited_text(self.clinic.default_language)
        except PatientTextsMissing:
            text = ""  # the widget then shows its own KB text (web.cannot_answer)
        logger.warning("webchat.rate_limited limit=%s", limit)
        resp = _error(429, "rate_limited", text, retry_after=retry_after)
        resp.headers["Retry-After"] = str(retry_after)
        return resp

    @property
    def clinic(self) -> ClinicProfile:
        """The clinic profile for the emergency line."""
        if self._clinic is None:
            self._clinic = load_clinic_profile()
        return self._clinic

    @property
    def texts(self) -> Optional[PatientTexts]:
        """The KB export with the web chat's texts (None when `make kb` has not run)."""
        if self._texts is not None:
            return self._texts
        try:
            return load_patient_texts()  # cached; re-read when `make kb` rewrites it
        except PatientTextsMissing:
            return None

    def _language(self, request: Request) -> Optional[str]:
        texts = self.texts
        if texts is None:
            return None
        return web_texts.pick_language(texts, request.args.get("lang"),
                                       request.headers.get("accept-language", ""))

    def _say(self, request: Request, key: str, **values: object) -> str:
        return web_texts.say(self.texts, key, self._language(request), **values)

    def _file(self, name: str) -> bytes:
        if name not in self._static:
            self._static[name] = (self.web_dir / name).read_bytes()
        return self._static[name]

    # -- origin and session checks --------------------------------------------------------------
    def _origin_decision(self, request: Request) -> tuple[bool, Optional[str]]:
        """(allowed, origin to echo in CORS headers). No Origin header: not a CORS request."""
        origin = request.headers.get("origin")
        if origin is None:
            return True, None
        normalized = origin_of(origin)
        if normalized is None:
            return False, None
        if normalized == self.public_origin:  # the page this server serves: no CORS headers
            return True, None
        if normalized in self.allowed_origins:
            return True, origin
        return False, None  # never compared with the Host header (DNS rebinding)

    @staticmethod
    def _with_cors(resp: HTTPResponse, cors_origin: Optional[str]) -> HTTPResponse:
        resp.headers["Vary"] = "Origin"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Cache-Control"] = "no-store"
        if cors_origin:
            resp.headers["Access-Control-Allow-Origin"] = cors_origin
        return resp

    def _session(self, request: Request) -> Optional[WebSession]:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.signer.verify(token.strip())

    # -- the blueprint ---------------------------------------------------------------------------
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Page, static files and the JSON API of the widget."""
        webchat = Blueprint(BLUEPRINT_NAME, __name__)

        @webchat.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            return self._page(request)

        @webchat.route("/widget.js", methods=["GET"])
        async def widget_js(_: Request) -> HTTPResponse:
            return self._static_file("widget.js")

        @webchat.route("/widget.css", methods=["GET"])
        async def widget_css(_: Request) -> HTTPResponse:
            return self._static_file("widget.css")

        @webchat.route("/config", methods=["GET", "OPTIONS"])
        async def config(request: Request) -> HTTPResponse:
            return await self._api(request, self._config)

        @webchat.route("/session", methods=["POST", "OPTIONS"])
        async def session(request: Request) -> HTTPResponse:
            return await self._api(request, self._new_session)

        @webchat.route("/history", methods=["GET", "OPTIONS"])
        async def history(request: Request) -> HTTPResponse:
            return await self._api(request, self._history)

        @webchat.route("/message", methods=["POST", "OPTIONS"])
        async def message(request: Request) -> HTTPResponse:
            async def handle(req: Request) -> HTTPResponse:
                return await self._message(req, on_new_message)

            return await self._api(request, handle)

        async def preflight(request: Request) -> Optional[HTTPResponse]:
            """Answer CORS preflights for this channel's API before Sanic-Cors does."""
            route = (request.name or "").split(".")
            if request.method != "OPTIONS" or route[-2:-1] != [BLUEPRINT_NAME]:
                return None
            if route[-1] not in API_ROUTES:
                return None
            return await self._api(request, None)

        @webchat.listener("before_server_start")
        async def install_preflight(app: Any, _: Any) -> None:
            # Rasa's app-wide Sanic-Cors answers every OPTIONS request itself, without this
            # channel's headers; an app-level request middleware placed first comes before it.
            app.request_middleware.appendleft(preflight)

        return webchat

    async def _api(
        self,
        request: Request,
        handler: Optional[Callable[[Request], Awaitable[HTTPResponse]]],
    ) -> HTTPResponse:
        """Origin policy and CORS preflight for every JSON route (OPTIONS never reaches handler)."""
        # This channel's CORS policy is the only one applied to its routes (see preflight).
        setattr(request.ctx, SANIC_CORS_EVALUATED, "1")
        allowed, cors_origin = self._origin_decision(request)
        if not allowed:
            logger.warning("webchat.origin.rejected route=%s", (request.name or "-").split(".")[-1])
            return self._with_cors(
                _error(403, "origin_not_allowed", self._say(request, "web.origin_not_allowed")),
                None,
            )
        if request.method == "OPTIONS" or handler is None:
            resp = response.empty(status=204)
            if cors_origin:
                resp.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
                resp.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
                resp.headers["Access-Control-Max-Age"] = "600"
            return self._with_cors(resp, cors_origin)
        return self._with_cors(await handler(request), cors_origin)

    def _static_file(self, name: str) -> HTTPResponse:
        """The widget files; embeddable from any site (they hold no data)."""
        headers = {
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache",
            "Cross-Origin-Resource-Policy": "cross-origin",
        }
        body = self._file(name)
        texts = self.texts
        if name == "widget.js" and texts is not None:
            body = web_texts.fill_widget(body, web_texts.widget_data(texts, self.clinic))
        return response.raw(body, content_type=STATIC_FILES[name], headers=headers)

    def _page(self, request: Request) -> HTTPResponse:
        texts = self.texts
        if texts is None:
            raise PatientTextsMissing("the web page needs the KB export: run `make kb`")
        page = web_texts.fill_page(self._file("index.html").decode("utf-8"), texts, self.clinic,
                                   self._language(request) or texts.default_language,
                                   request.path.rstrip("/"))
        headers = {"Content-Security-Policy": PAGE_CSP, **SECURITY_HEADERS}
        return response.html(page, headers=headers)

    async def _config(self, request: Request) -> HTTPResponse:
        clinic = self.clinic
        body: dict[str, Any] = {
            "clinic_name": clinic.name,
            "clinic_phone": clinic.phone,
            "emergency_number": clinic.emergency_number,
            "max_message_length": MAX_MESSAGE_CHARS,
        }
        texts = self.texts
        if texts is not None:
            language = self._language(request) or texts.default_language
            body["language"] = language
            body["texts"] = web_texts.widget_data(texts, clinic)["texts"][language]
        return response.json(body)

    async def _new_session(self, request: Request) -> HTTPResponse:
        decision = await self.limits.acheck("web_new_session", client_address(request))
        if not decision.allowed:
            return self._rate_limited([decision], "web_new_session")
        issued = self.signer.issue()
        return response.json(
            {"token": issued.token, "expires_in": int(self.session_lifetime_s)}
        )

    async def _history(self, request: Request) -> HTTPResponse:
        session = self._session(request)
        if session is None:
            return _error(401, "invalid_session", self._say(request, "web.session_expired"))
        agent = getattr(request.app.ctx, "agent", None)
        tracker_store = getattr(agent, "tracker_store", None)
        if tracker_store is None:
            return _error(503, "unavailable", self._say(request, "web.starting"))
        try:  # every session: a long conversation rolls over (bot/sessions.py)
            tracker = await tracker_store.retrieve_full_tracker(session.sender_id)
        except Exception as error:  # the store's errors may carry event data: type only
            logger.error("webchat.history.failed error=%s", type(error).__name__)
            return _error(503, "unavailable", self._say(request, "web.history_failed"))
        events = [event.as_dict() for event in tracker.events] if tracker else []
        return response.json({"messages": history_from_events(events)})

    async def _read_text(self, request: Request) -> tuple[Optional[str], Optional[HTTPResponse]]:
        """The message text, or the 4xx response explaining why there is none."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return None, _error(415, "unsupported_media_type",
                                self._say(request, "web.bad_request"))
        if len(request.body or b"") > MAX_BODY_BYTES:
            return None, _error(413, "message_too_long",
                                self._say(request, "web.too_long", max_length=MAX_MESSAGE_CHARS),
                                max_length=MAX_MESSAGE_CHARS)
        try:
            payload = parse_json_body(request.body or b"")  # bounded nesting, UTF-8
        except JsonBodyError as bad:
            return None, _error(400, bad.code, self._say(request, "web.bad_request"))
        text = payload.get("message") if isinstance(payload, dict) else None
        if not isinstance(text, str):
            return None, _error(400, "invalid_message", self._say(request, "web.bad_request"))
        text = text.strip()
        if not text:
            return None, _error(400, "empty_message", self._say(request, "web.empty_message"))
        if len(text) > MAX_MESSAGE_CHARS:
            return None, _error(
                413, "message_too_long",
                self._say(request, "web.too_long", max_length=MAX_MESSAGE_CHARS),
                max_length=MAX_MESSAGE_CHARS,
            )
        return text, None

    async def _message(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        session = self._session(request)
        if session is None:
            return _error(401, "invalid_session", self._say(request, "web.session_expired"))
        decisions = [await self.limits.acheck("web_address", client_address(request)),
                     await self.limits.acheck("web_session", session.sender_id)]
        text, problem = await self._read_text(request)
        if problem is not None or text is None:
            return problem or _error(400, "invalid_message",
                                     self._say(request, "web.empty_message"))
        if not all(d.allowed for d in decisions):
            if not is_emergency(text):  # an emergency is never limited away
                refused = [d for d in decisions if not d.allowed]
                return self._rate_limited(refused, "web_address" if refused[0] is decisions[0]
                                          else "web_session")
            logger.warning("webchat.rate_limited emergency answered")
        collector = CollectingOutputChannel()
        # sender_id from the signed token; input_channel and metadata are never client-chosen.
        user_message = UserMessage(text, collector, session.sender_id,
                                   input_channel=self.name())
        try:
            in_time = await finished_within(on_new_message(user_message), self.turn_timeout_s)
        except Exception as error:  # type only: never the patient's text
            logger.error("webchat.turn.failed error=%s", type(error).__name__)
            return _error(503, "unavailable", self._say(request, "web.cannot_answer"))
        if not in_time:
            logger.warning("webchat.turn.slow budget_s=%.0f", self.turn_timeout_s)
            return _error(504, "timeout", self._say(request, "web.too_slow"))
        # The safety gate (bot/safety/gate.py) already made sure the turn is never silent.
        return response.json({"messages": _bot_messages([dict(m) for m in collector.messages]),
                              "language": self._conversation_language(session.sender_id)})

    def _conversation_language(self, sender_id: str) -> str:
        """The language the gate answered this conversation in, so the widget's labels follow."""
        gate = runtime_guards.current_gate()
        default = self.clinic.default_language
        return gate.languages.hint(sender_id, default) if gate is not None else default
