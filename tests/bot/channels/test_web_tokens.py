"""Web chat session tokens: one valid spelling, a key id for rotation; origins never from Host.

The tester altered the padding and the base64 alphabet of a token and it still validated, and
an Origin equal to a forged Host header (DNS rebinding) was treated as same-origin.
"""

from __future__ import annotations

import base64
from typing import Callable, List

import pytest
import requests
from channel_harness import CLINIC, FakeAgent, RunningApp

from bot.channels.web_sessions import WebSessionSigner, key_id
from bot.channels.webchat import WebChatInput

OLD = b"old-webchat-secret-0123456789abcdefghijkl"
NEW = b"new-webchat-secret-0123456789abcdefghijkl"
API = "/webhooks/webchat"


def spellings(token: str) -> List[str]:
    """Other spellings of the same bytes (and near misses) a strict decoder must refuse."""
    *head, payload, signature = token.split(".")
    prefix = ".".join(head)
    variants = []
    for index, part in ((0, payload), (1, signature)):
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        padded = base64.urlsafe_b64encode(raw).decode()
        standard = base64.b64encode(raw).decode().rstrip("=")
        alternatives = [
            padded if padded != part else part + "==",  # padding added
            part + "=",                                  # wrong padding
            standard,                                    # standard alphabet (+ /)
            part.replace("-", "+").replace("_", "/"),    # alphabet swapped in place
            part + " ",                                  # trailing whitespace
            spare_bits_flipped(part) if len(raw) % 3 else part + "A",  # unused bits set
        ]
        for alternative in alternatives:
            if alternative == part:
                continue
            pieces = [payload, signature]
            pieces[index] = alternative
            variants.append(f"{prefix}.{pieces[0]}.{pieces[1]}")
    return variants


URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def spare_bits_flipped(part: str) -> str:
    """The last character with its lowest (unused) bit flipped: the same bytes, respelled."""
    return part[:-1] + URLSAFE[URLSAFE.index(part[-1]) ^ 1]


def same_bytes(a: str, b: str) -> bool:
    """Whether a lenient decoder (the old one) reads both tokens as the same bytes."""
    def decoded(part: str) -> bytes:
        return base64.urlsafe_b64decode(part.strip().replace("+", "-").replace("/", "_") + "==")
    try:
        return all(decoded(x) == decoded(y) for x, y in
                   zip(a.split(".")[-2:], b.split(".")[-2:], strict=True))
    except ValueError:
        return False


def test_only_the_issued_spelling_of_a_token_is_accepted() -> None:
    signer = WebSessionSigner(NEW, 3600)
    session = signer.issue()
    assert signer.verify(session.token) == session
    variants = spellings(session.token)
    assert any(same_bytes(variant, session.token) for variant in variants)  # real aliases
    accepted = [variant for variant in variants if signer.verify(variant) is not None]
    assert accepted == []


def test_token_names_its_key_and_a_second_secret_can_be_rotated_in() -> None:
    before = WebSessionSigner(OLD, 3600).issue()
    rotating = WebSessionSigner([NEW, OLD], 3600)
    assert rotating.verify(before.token) is not None  # sessions issued before keep working
    assert rotating.verify(before.token).sender_id == before.sender_id  # type: ignore[union-attr]
    fresh = rotating.issue()
    assert fresh.token.split(".")[:2] == ["v2", key_id(NEW)]
    assert WebSessionSigner(NEW, 3600).verify(fresh.token) is not None
    assert WebSessionSigner(NEW, 3600).verify(before.token) is None  # OLD retired
    assert key_id(NEW) != key_id(OLD) and NEW.decode() not in fresh.token


def test_a_key_id_cannot_select_another_secret() -> None:
    old_token = WebSessionSigner(OLD, 3600).issue().token
    version, _, payload, signature = old_token.split(".")
    relabelled = ".".join([version, key_id(NEW), payload, signature])
    assert WebSessionSigner([NEW, OLD], 3600).verify(relabelled) is None


def test_version_1_tokens_still_verify_strictly() -> None:
    import hashlib
    import hmac

    nonce_and_time = b"\x01" * 16 + (1_000_000).to_bytes(8, "big")
    signature = hmac.new(NEW, b"rhizotomy-webchat-session|" + nonce_and_time,
                         hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    legacy = f"v1.{b64(nonce_and_time)}.{b64(signature)}"
    signer = WebSessionSigner(NEW, 3600, clock=lambda: 1_000_100)
    assert signer.verify(legacy) is not None
    assert [v for v in spellings(legacy) if signer.verify(v) is not None] == []


def test_previous_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    before = WebSessionSigner(OLD, 3600).issue()
    monkeypatch.setenv("WEBCHAT_SESSION_SECRET", NEW.decode())
    monkeypatch.setenv("WEBCHAT_SESSION_PREVIOUS_SECRET", OLD.decode())
    channel = WebChatInput(clinic=CLINIC)
    assert channel.signer.verify(before.token) is not None
    assert channel.signer.issue().token.split(".")[1] == key_id(NEW)
    monkeypatch.setenv("WEBCHAT_SESSION_PREVIOUS_SECRET", "short")
    with pytest.raises(RuntimeError):
        _ = WebChatInput(clinic=CLINIC).signer


# ---------------------------------------------------------------------------- origins
@pytest.fixture
def web(make_server: Callable[..., RunningApp]) -> RunningApp:
    channel = WebChatInput(allowed_origins=frozenset({"https://www.clinic.example"}),
                           public_base_url="https://assistant.clinic.example",
                           signer=WebSessionSigner(NEW, 3600), clinic=CLINIC)
    return make_server(channel, FakeAgent())


def post_session(running: RunningApp, headers: dict[str, str]) -> requests.Response:
    return requests.post(running.base_url + API + "/session", headers=headers, timeout=10)


def test_origin_matching_a_forged_host_is_refused(web: RunningApp) -> None:
    """DNS rebinding: the attacker's page reaches the server under the attacker's name, so
    Origin and Host agree; only the configured origins count."""
    port = web.base_url.rsplit(":", 1)[1]
    for host in (f"evil.example:{port}", f"127.0.0.1:{port}"):
        reply = post_session(web, {"Origin": f"http://{host}", "Host": host})
        assert reply.status_code == 403, host
        assert "token" not in reply.text
    assert web.agent.received == []


def test_configured_origins_are_allowed(web: RunningApp) -> None:
    own = post_session(web, {"Origin": "https://assistant.clinic.example"})
    assert own.status_code == 200 and "Access-Control-Allow-Origin" not in own.headers
    embedded = post_session(web, {"Origin": "https://www.clinic.example"})
    assert embedded.status_code == 200
    assert embedded.headers["Access-Control-Allow-Origin"] == "https://www.clinic.example"
    assert post_session(web, {}).status_code == 200  # no Origin: not a browser CORS request


def test_run_stack_allows_only_its_own_loopback_origin_locally() -> None:
    from pathlib import Path

    script = (Path(__file__).resolve().parents[3] / "scripts" / "run_stack.sh").read_text()
    assert "http://127.0.0.1:$port" in script and "PUBLIC_BASE_URL=https://" in script
