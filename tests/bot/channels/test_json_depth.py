"""Deeply nested JSON gets a 400 on the web chat and the REST channel, never a 500.

60 kB of "[[[[…" made `json.loads` raise RecursionError (not ValueError), so both channels
answered 500. The channels run in the real Sanic wiring (channel_harness.serve) with a fake
agent; a seeded fuzzer varies the nesting depth and shape.
"""

from __future__ import annotations

import json
import random
from typing import Any, Iterator

import pytest
import requests
from channel_harness import CLINIC, FakeAgent, RunningApp, serve

from bot.channels.json_body import MAX_DEPTH, JsonBodyError, nesting_exceeds, parse_json_body
from bot.channels.web_sessions import WebSessionSigner
from bot.channels.webchat import WebChatInput
from bot.rate_limit import DEFAULTS, Limit, MemoryCounter, RateLimits
from bot.rest_safe import SafeRestInput

SECRET = b"webchat-test-secret-0123456789abcdefghij"
DEEP = b"[" * 60_000  # the tester's body: 60 kB of brackets


def nested(depth: int, kind: str = "list") -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    return value


class Channels:
    """The web chat and the REST channel (one app each), and a web session token."""

    def __init__(self, web: RunningApp, rest: RunningApp) -> None:
        self.web_base = web.base_url
        self.rest_base = rest.base_url
        self.agents = (web.agent, rest.agent)
        reply = requests.post(f"{self.web_base}/webhooks/webchat/session", timeout=10)
        self.token = reply.json()["token"]

    def turns(self) -> int:
        return sum(len(agent.received) for agent in self.agents)

    def web(self, raw: bytes) -> requests.Response:
        return requests.post(f"{self.web_base}/webhooks/webchat/message", data=raw, timeout=30,
                             headers={"Content-Type": "application/json",
                                      "Authorization": f"Bearer {self.token}"})

    def rest(self, raw: bytes) -> requests.Response:
        return requests.post(f"{self.rest_base}/webhooks/rest/webhook", data=raw, timeout=30,
                             headers={"Content-Type": "application/json"})


@pytest.fixture(scope="module")
def channels() -> Iterator[Channels]:
    # Its own limits, off: the module's one session sends ~130 messages, and a module-scoped
    # channel would otherwise take the process's shared limits (20 per session) for good.
    off = RateLimits(MemoryCounter(), {kind: Limit(0, 60.0) for kind in DEFAULTS})
    web = serve(WebChatInput(signer=WebSessionSigner(SECRET, 3600), clinic=CLINIC, limits=off),
                FakeAgent())
    rest = serve(SafeRestInput(), FakeAgent())
    yield Channels(next(web), next(rest))
    web.close()
    rest.close()


@pytest.mark.parametrize("body", [
    DEEP,
    b"{" + b'"a":{' * 10_000,
    json.dumps({"message": "hi", "metadata": nested(MAX_DEPTH + 1)}).encode(),
    json.dumps({"message": "hi", "sender": "p", "extra": nested(500, "dict")}).encode(),
])
def test_deep_json_is_a_400_on_both_channels(channels: Channels, body: bytes) -> None:
    before = channels.turns()
    for reply in (channels.web(body), channels.rest(body)):
        assert reply.status_code == 400, reply.text
        assert reply.json()["error"] in {"too_deep", "invalid_json"}
    assert channels.turns() == before  # no turn ran


def test_nesting_within_the_limit_is_accepted(channels: Channels) -> None:
    body = {"sender": "p-ok", "message": "hello", "metadata": {"a": nested(MAX_DEPTH - 2)}}
    assert channels.rest(json.dumps(body).encode()).status_code == 200
    assert channels.web(json.dumps({"message": "hello", "x": nested(5)}).encode()) \
        .status_code == 200


def fuzz_cases(count: int, seed: int = 20261201) -> list[tuple[int, bytes]]:
    """Request bodies with a value of random nesting depth and shape in a random field
    (seeded, so every run sends the same cases)."""
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        depth = rng.choice([rng.randint(0, MAX_DEPTH + 2), rng.randint(0, 5000)])
        kinds = [rng.choice("lo") for _ in range(rng.randint(1, 4))]
        opening = "".join("[" if kinds[i % len(kinds)] == "l" else '{"k": '
                          for i in range(depth))
        closing = "".join("]" if kinds[i % len(kinds)] == "l" else "}"
                          for i in reversed(range(depth)))
        leaf = rng.choice(['1', '"x"', "null", "true", '"[[[{{"'])
        if rng.random() < 0.2:  # truncated: invalid JSON as well as deep
            closing = closing[: len(closing) // 2]
        field = rng.choice(["metadata", "extra", "message"])
        text = opening + leaf + closing
        body = '{"sender": "fuzz", "message": "hi", "' + field + '": ' + text + "}"
        cases.append((depth, body.encode()))
    return cases


@pytest.mark.parametrize("case", fuzz_cases(60), ids=lambda case: f"depth{case[0]}")
def test_fuzzed_nesting_never_gives_a_server_error(channels: Channels,
                                                   case: tuple[int, bytes]) -> None:
    depth, body = case
    for reply in (channels.web(body), channels.rest(body)):
        assert reply.status_code < 500, (depth, reply.status_code)
        if depth + 1 > MAX_DEPTH:
            assert reply.status_code in {400, 413}, (depth, reply.status_code)


@pytest.mark.parametrize(("text", "deep"), [
    ('{"m": "[[[[[[[[[[[[[[[[[[[[[[[[["}', False),  # brackets inside a string do not count
    ('{"m": "\\"[[[[[[[[[[[[[[[[[[[[[[[[[["}', False),  # nor after an escaped quote
    ("[" * (MAX_DEPTH + 1), True),
    ("[" * MAX_DEPTH + "]" * MAX_DEPTH, False),
])
def test_nesting_scan_ignores_strings(text: str, deep: bool) -> None:
    assert nesting_exceeds(text) is deep


@pytest.mark.parametrize(("raw", "code"), [
    (DEEP, "too_deep"), (b"\xff\xfe", "invalid_json"), (b"{", "invalid_json"),
    (b'"\\"' * 20_000, "invalid_json"),
])
def test_parse_json_body_errors(raw: bytes, code: str) -> None:
    with pytest.raises(JsonBodyError) as refused:
        parse_json_body(raw)
    assert refused.value.code == code
