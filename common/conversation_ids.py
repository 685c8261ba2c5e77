"""The conversation id formats, and the one column size every store derives from them.

Why one module: the ids are made in the channels (Rasa side) and stored by both servers (SMS
state, call-back requests, alerts, delivery status, erasure). A column sized by hand once held
"sms:" + 64 hex digits in String(64): PostgreSQL refused every SMS (SQLite ignores lengths, so
no test saw it). Every table that stores a conversation id uses CONVERSATION_ID_CHARS, and the
REST channel (local tools) accepts no longer sender. Standard library only: both environments
import it.

- SMS: "sms:" + HMAC-SHA256(SMS_ID_SECRET, E.164) in hex (68 characters), never the number.
- Web chat: "web:" + a UUID4 made from the session token's random bytes (40 characters).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

SMS_PREFIX = "sms:"
WEB_PREFIX = "web:"
SMS_DIGEST_HEX_CHARS = hashlib.sha256().digest_size * 2
UUID_CHARS = len(str(uuid.UUID(int=0)))
SMS_ID_CHARS = len(SMS_PREFIX) + SMS_DIGEST_HEX_CHARS
WEB_ID_CHARS = len(WEB_PREFIX) + UUID_CHARS
# The size of every column that holds a conversation id (and the longest REST sender).
CONVERSATION_ID_CHARS = max(SMS_ID_CHARS, WEB_ID_CHARS)


def sms_conversation_id(phone_number: str, secret: bytes) -> str:
    """The pseudonymous tracker id of a phone number: "sms:" + HMAC-SHA256(secret, E.164)."""
    digest = hmac.new(secret, phone_number.strip().encode("utf-8"), hashlib.sha256)
    return SMS_PREFIX + digest.hexdigest()


def web_conversation_id(nonce: bytes) -> str:
    """The web chat tracker id for a session token's 16 random bytes."""
    return WEB_PREFIX + str(uuid.UUID(bytes=nonce, version=4))
