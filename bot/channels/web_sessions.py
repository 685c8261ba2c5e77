"""Signed, expiring session tokens for the website chat.

Why: Rasa keys conversations only on sender_id, so whoever can name a sender_id can read and
write that conversation (reliability-security.md §2.2, R2). The server therefore issues the id:
a token carries 16 random bytes and its issue time, HMAC-SHA256-signed with WEBCHAT_SESSION_SECRET.
The conversation id ("web:" + a UUID4 made from the random bytes) is derived from a token the
server signed, never taken from the client. Stateless, so nothing is stored per visitor; a
token simply stops working after its lifetime.

Token: "v2.<key id>.<payload>.<signature>", each part canonical unpadded base64url (any other
spelling of the same bytes — padding, the standard alphabet, spare bits — is refused, so a token
has exactly one valid form). The key id names the secret that signed it, so a second secret can
be rotated in: the signer issues with the first (current) secret and accepts every listed one
(WEBCHAT_SESSION_SECRET, then WEBCHAT_SESSION_PREVIOUS_SECRET; bot/channels/README.md).
Version 1 tokens (no key id) from before the rotation support are still accepted, strictly
decoded, for their remaining lifetime.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Callable, Sequence, Union

from common.conversation_ids import web_conversation_id

TOKEN_VERSION = "v2"
LEGACY_VERSION = "v1"
MAX_TOKEN_CHARS = 200
_NONCE_BYTES = 16
_SIGNATURE_BYTES = 32
_CONTEXT = b"rhizotomy-webchat-session|"
_KEY_ID_CONTEXT = b"rhizotomy-webchat-key-id"
_KEY_ID_CHARS = 8
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict: unpadded base64url in its one canonical spelling, else ValueError."""
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not canonical base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64encode(raw) != text:  # spare bits set: another spelling of the same bytes
        raise ValueError("not canonical base64url")
    return raw


def key_id(secret: bytes) -> str:
    """The public name of a secret (a keyed hash: it reveals nothing usable about it)."""
    return hmac.new(secret, _KEY_ID_CONTEXT, hashlib.sha256).hexdigest()[:_KEY_ID_CHARS]


@dataclass(frozen=True)
class WebSession:
    """An issued session: the opaque token for the browser, the id for Rasa."""

    token: str
    sender_id: str
    expires_at: float


class WebSessionSigner:
    """Issues and verifies session tokens; the secrets never leave the server.

    `secrets` is one secret or a list: the first signs new tokens, every one verifies.
    """

    def __init__(
        self, secret: Union[bytes, Sequence[bytes]], lifetime_s: float,
        clock: Callable[[], float] | None = None
    ) -> None:
        keys = [secret] if isinstance(secret, bytes) else list(secret)
        if not keys or any(len(key) < 32 for key in keys):
            raise ValueError("every web session secret must be at least 32 bytes")
        self._keys = {key_id(key): key for key in reversed(keys)}  # the current one wins a clash
        self._current = keys[0]
        self._current_id = key_id(keys[0])
        self.lifetime_s = lifetime_s
        self._clock = clock or time.time

    @staticmethod
    def _sign(secret: bytes, header: bytes, payload: bytes) -> bytes:
        return hmac.new(secret, _CONTEXT + header + payload, hashlib.sha256).digest()

    def issue(self) -> WebSession:
        """A fresh session with a random, unguessable conversation id."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        issued = int(self._clock())
        payload = nonce + issued.to_bytes(8, "big")
        header = f"{TOKEN_VERSION}.{self._current_id}.".encode("ascii")
        signature = self._sign(self._current, header, payload)
        token = f"{TOKEN_VERSION}.{self._current_id}.{_b64encode(payload)}.{_b64encode(signature)}"
        return WebSession(token, web_conversation_id(nonce), issued + self.lifetime_s)

    def verify(self, token: str) -> WebSession | None:
        """The session a token stands for, or None when forged, malformed or expired."""
        parts = token.split(".") if 0 < len(token) <= MAX_TOKEN_CHARS else []
        if len(parts) == 4 and parts[0] == TOKEN_VERSION:
            key = self._keys.get(parts[1])
            candidates = [key] if key is not None else []
            header = f"{parts[0]}.{parts[1]}.".encode("ascii")
            encoded_payload, encoded_signature = parts[2], parts[3]
        elif len(parts) == 3 and parts[0] == LEGACY_VERSION:
            candidates = list(self._keys.values())
            header = b""
            encoded_payload, encoded_signature = parts[1], parts[2]
        else:
            return None
        try:
            payload, signature = _b64decode(encoded_payload), _b64decode(encoded_signature)
        except (binascii.Error, ValueError):
            return None
        if len(payload) != _NONCE_BYTES + 8 or len(signature) != _SIGNATURE_BYTES:
            return None
        if not any(hmac.compare_digest(signature, self._sign(key, header, payload))
                   for key in candidates):
            return None
        issued = int.from_bytes(payload[_NONCE_BYTES:], "big")
        now = self._clock()
        if not issued - 60 <= now < issued + self.lifetime_s:  # 60 s of clock skew allowed
            return None
        return WebSession(token, web_conversation_id(payload[:_NONCE_BYTES]),
                          issued + self.lifetime_s)
