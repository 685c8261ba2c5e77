"""Signed, expiring session tokens for the website chat.

Why: Rasa keys conversations only on sender_id, so whoever can name a sender_id can read and
write that conversation (reliability-security.md §2.2, R2). The server therefore issues the id:
a token carries 16 random bytes and its issue time, HMAC-SHA256-signed with WEBCHAT_SESSION_SECRET.
The conversation id ("web:" + a UUID4 made from the random bytes) is derived from a token the
server signed, never taken from the client. Stateless, so nothing is stored per visitor; a
token simply stops working after its lifetime.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Callable

from common.conversation_ids import web_conversation_id

TOKEN_VERSION = "v1"
_NONCE_BYTES = 16
_SIGNATURE_BYTES = 32
_CONTEXT = b"rhizotomy-webchat-session|"


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class WebSession:
    """An issued session: the opaque token for the browser, the id for Rasa."""

    token: str
    sender_id: str
    expires_at: float


class WebSessionSigner:
    """Issues and verifies session tokens; the secret never leaves the server."""

    def __init__(
        self, secret: bytes, lifetime_s: float, clock: Callable[[], float] | None = None
    ) -> None:
        if len(secret) < 32:
            raise ValueError("the web session secret must be at least 32 bytes")
        self._secret = secret
        self.lifetime_s = lifetime_s
        self._clock = clock or time.time

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, _CONTEXT + payload, hashlib.sha256).digest()

    @staticmethod
    def _sender_id(nonce: bytes) -> str:
        return web_conversation_id(nonce)

    def issue(self) -> WebSession:
        """A fresh session with a random, unguessable conversation id."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        issued = int(self._clock())
        payload = nonce + issued.to_bytes(8, "big")
        token = f"{TOKEN_VERSION}.{_b64encode(payload)}.{_b64encode(self._sign(payload))}"
        return WebSession(token, self._sender_id(nonce), issued + self.lifetime_s)

    def verify(self, token: str) -> WebSession | None:
        """The session a token stands for, or None when forged, malformed or expired."""
        parts = token.split(".") if 0 < len(token) <= 200 else []
        if len(parts) != 3 or parts[0] != TOKEN_VERSION:
            return None
        try:
            payload, signature = _b64decode(parts[1]), _b64decode(parts[2])
        except (binascii.Error, ValueError):
            return None
        if len(payload) != _NONCE_BYTES + 8 or len(signature) != _SIGNATURE_BYTES:
            return None
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        issued = int.from_bytes(payload[_NONCE_BYTES:], "big")
        now = self._clock()
        if not issued - 60 <= now < issued + self.lifetime_s:  # 60 s of clock skew allowed
            return None
        return WebSession(token, self._sender_id(payload[:_NONCE_BYTES]),
                          issued + self.lifetime_s)
