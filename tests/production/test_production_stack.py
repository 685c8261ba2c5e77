"""The production profile end to end: PostgreSQL tracker and KB, Redis locks, two Rasa
processes, the action-server token, failures, bad input, fuzzing and the logs.

One stack serves the whole module (starting Rasa takes about a minute on 2 cores); each test
leaves the stack working, and none needs another to have run first (the order is random:
`-p randomly`). The log test drives the failure paths it greps for itself, and greps every
log line the servers wrote, so whatever ran before it is checked too.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator, List

import pytest
from prod_harness import (
    ACT_BIN,
    MODEL,
    REPO,
    ProductionStack,
    bot_texts,
    get,
    post_json,
    query,
    set_connections,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

# Synthetic patient data that must never reach a log (R10).
CANARIES = ["12345678Z", "34600000001", "L4-L5 derecha", "1961-03-14", "RAISE-IN-ACTION"]
CANARY_TEXT = "DNI 12345678Z, phone +34600000001, rizólisis L4-L5 derecha, born 1961-03-14"
NATO = ["alfa", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
        "sierra", "tango"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, pg_url: str,
          redis_url: str) -> Iterator[ProductionStack]:
    """Action server and Rasa processes "rasa_a" and "rasa_b", production profile."""
    if not MODEL.exists():
        pytest.fail(f"No trained model at {MODEL}. Run `make kb train` first.")
    production = ProductionStack(tmp_path_factory.mktemp("production"), pg_url, redis_url)
    try:
        production.prepare()
        production.start_actions()
        production.start_rasa("rasa_a")
        production.start_rasa("rasa_b")
        production.wait_ready("rasa_a")
        production.wait_ready("rasa_b")
        yield production
    finally:
        production.stop()


@pytest.fixture(scope="module")
def unavailable_text(stack: ProductionStack) -> str:
    """The stack's own "please call" text (the KB export its KB copy produced)."""
    from common.patient_texts import load

    export = stack.tmp / "data" / "generated" / "patient_texts.json"
    return load(export).text("assistant.unavailable").text


@pytest.fixture(scope="module")
def unavailable_texts(stack: ProductionStack) -> set[str]:
    """The "please call" text in every language: CANARY_TEXT is half Spanish ("rizólisis
    L4-L5 derecha"), so the gate may answer a message carrying it in Spanish."""
    from common.patient_texts import load

    export = load(stack.tmp / "data" / "generated" / "patient_texts.json")
    return {export.text("assistant.unavailable", language).text
            for language in export.languages}


def events(stack: ProductionStack, sender: str) -> List[dict[str, Any]]:
    """The conversation's events as stored in the PostgreSQL tracker, in order."""
    rows = query(stack.tracker_url,
                 "SELECT data FROM events WHERE sender_id = %s ORDER BY id", (sender,))
    return [json.loads(row[0]) for row in rows]


def latest_slots(stored: List[dict[str, Any]]) -> dict[str, Any]:
    slots: dict[str, Any] = {}
    for event in stored:
        if event.get("event") == "slot":
            slots[event["name"]] = event.get("value")
    return slots


def open_weekday(days_ahead: int) -> dt.date:
    """A date at least `days_ahead` days away on which the example clinic is open."""
    day = dt.date.today() + dt.timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


# --------------------------------------------------------------------------- security
def test_action_server_needs_the_token_and_listens_on_loopback(stack: ProductionStack) -> None:
    base = f"http://127.0.0.1:{stack.action_port}"
    assert get(f"{base}/health")[0] == 200
    assert get(f"{base}/actions")[0] == 401
    assert get(f"{base}/actions", headers={"X-Action-Server-Token": "wrong"})[0] == 403
    assert get(f"{base}/actions", headers={"X-Action-Server-Token": stack.token})[0] == 200
    assert post_json(f"{base}/webhook", {"next_action": "action_answer_fasting"})[0] == 401
    listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=True)
    sockets = [line.split()[3] for line in listening.stdout.splitlines()
               if line.split()[3].endswith(f":{stack.action_port}")]
    assert sockets == [f"127.0.0.1:{stack.action_port}"]


def test_failing_action_error_body_carries_no_request_data(stack: ProductionStack) -> None:
    forged = {
        "next_action": "action_respond", "sender_id": "forged",
        "tracker": {"sender_id": "forged", "slots": {}, "events": [],
                    "latest_message": {"text": f"RAISE-IN-ACTION {CANARY_TEXT}",
                                       "intent": {"name": "ask_fasting"}, "entities": []},
                    "latest_action_name": "action_listen", "paused": False,
                    "followup_action": None, "active_loop": {}},
        "domain": {}, "version": "3.6.2",
    }
    status, body = post_json(f"http://127.0.0.1:{stack.action_port}/webhook", forged,
                             headers={"X-Action-Server-Token": stack.token})
    assert status == 500
    assert "request_body" not in json.dumps(body)
    assert not any(canary in json.dumps(body) for canary in CANARIES)


def test_rasa_http_api_is_off_and_cors_is_closed(stack: ProductionStack) -> None:
    assert get(stack.url("rasa_a", "/conversations/somebody/tracker"))[0] == 404
    assert get(stack.url("rasa_a", "/status"))[0] == 404
    status, headers, _ = get(stack.url("rasa_a"), method="OPTIONS", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in headers


# --------------------------------------------------------------------------- persistence
def test_conversation_survives_a_rasa_restart(stack: ProductionStack) -> None:
    day = open_weekday(10)
    sender = "persist-1"
    status, reply = stack.send(
        "rasa_a", sender,
        f"my procedure is on {day:%B} {day.day} at 8am, it's my neck and I take Eliquis")
    assert status == 200 and bot_texts(reply)

    stack.servers["rasa_a"].stop()  # Rasa only: the action server, DB and Redis stay up
    stack.start_rasa("rasa_a")
    stack.wait_ready("rasa_a")

    status, reply = stack.send("rasa_a", sender, "when is my last dose?")
    text = bot_texts(reply).lower()
    assert status == 200
    assert "apixaban" in text and "last dose" in text, text
    slots = latest_slots(events(stack, sender))
    assert str(slots.get("procedure_start", "")).startswith(day.isoformat()), slots
    assert slots.get("procedure_site") == "cervical", slots
    assert "apixaban" in json.dumps(slots.get("medications_taken")).lower(), slots


# --------------------------------------------------------------------------- scale-out
def test_two_rasa_processes_keep_one_conversation_in_order(stack: ProductionStack) -> None:
    """20 messages for one patient, alternating between the processes, each sent when the
    previous reply arrived: all stored, in order, each answered before the next."""
    sender = "alternate-1"
    texts = [f"what should i bring, question {word}" for word in NATO]
    for index, text in enumerate(texts):
        status, reply = stack.send("rasa_a" if index % 2 == 0 else "rasa_b", sender, text)
        assert status == 200 and bot_texts(reply), (index, status, reply)
    assert_turns(stack, sender, texts, ordered=True)


def test_a_burst_across_two_processes_loses_nothing(stack: ProductionStack) -> None:
    """20 messages 50 ms apart, alternating, all in flight together: the shared Redis lock
    runs the turns one at a time; none is lost, none interleaves with another.

    Arrival order between the two processes is not asserted: a process takes its ticket when
    its event loop picks the request up, and a loop busy with another turn's NLU picks it up
    later than the other process does (no lock store can see a request before that).
    """
    sender = "burst-1"
    texts = [f"what should i bring, question {word} burst" for word in NATO]
    start = time.monotonic() + 0.5

    def send(index: int) -> tuple[int, Any]:
        time.sleep(max(0.0, start + index * 0.05 - time.monotonic()))
        return stack.send("rasa_a" if index % 2 == 0 else "rasa_b", sender, texts[index],
                          timeout=90)

    with ThreadPoolExecutor(max_workers=len(texts)) as pool:
        results = list(pool.map(send, range(len(texts))))
    assert all(status == 200 and bot_texts(reply) for status, reply in results), results
    assert_turns(stack, sender, texts, ordered=False)


def assert_turns(stack: ProductionStack, sender: str, texts: List[str], ordered: bool) -> None:
    stored = [e for e in events(stack, sender) if e.get("event") in {"user", "bot"}]
    users = [e.get("text") for e in stored if e["event"] == "user"]
    if ordered:
        assert users == texts
    else:
        assert sorted(users) == sorted(texts) and len(users) == len(texts)
    kinds = "".join("u" if e["event"] == "user" else "b" for e in stored)
    assert "uu" not in kinds and kinds.endswith("b")  # each turn answered before the next
    for name in ("rasa_a", "rasa_b"):
        assert "LockError" not in stack.log(name)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("raw", "content_type", "expected"), [
    (b'{"sender": "bad-1", "message": ""}', "application/json", {400}),
    (b'{"sender": "bad-1", "message": "   \\t  "}', "application/json", {400}),
    (json.dumps({"sender": "bad-1", "message": "x" * 10_000}).encode(), "application/json",
     {413}),
    (b'{"sender": "bad-1", "message": "DNI 12345678Z', "application/json", {400}),
    (b'{"sender": "bad-1", "message": "hello"}', "text/plain", {415}),
    (b"[1, 2, 3]", "application/json", {400}),
    (b'{"sender": "bad-1", "message": null}', "application/json", {400}),
    (b'{"message": "hello"}', "application/json", {400}),
    (b'{"sender": "bad-1", "message": "hi", "metadata": [1]}', "application/json", {200}),
    # nesting: 60 kB of brackets was a RecursionError and a 500 (bot/channels/json_body.py)
    (b"[" * 60_000, "application/json", {400}),
    (b'{"sender": "bad-1", "message": "hi", "metadata": ' + b'{"a": ' * 9_000 + b"1"
     + b"}" * 9_001, "application/json", {400}),
])
def test_bad_input_gets_a_4xx_never_a_500(stack: ProductionStack, raw: bytes,
                                          content_type: str, expected: set[int]) -> None:
    status, _ = post_json(stack.url("rasa_a"), None, raw=raw, content_type=content_type)
    assert status in expected


@pytest.mark.parametrize("text", [
    "😀🙏🏽 💊?",
    "متى يجب أن أتوقف عن الأكل قبل الإجراء",
    "מתי להפסיק לאכול",
    "can i eat\u0000 before\u0007 the\u001b[31m procedure",
    "\u202edo i need a driver\u202c",
])
def test_unusual_text_gets_a_polite_reply(stack: ProductionStack, text: str) -> None:
    status, reply = stack.send("rasa_a", "odd-text", text)
    assert status == 200 and bot_texts(reply).strip()


def test_fuzzing_the_channels_finds_no_server_error(stack: ProductionStack) -> None:
    """schemathesis (pinned in the action-server environment) on openapi/channels.yml."""
    _, session = post_json(stack.url("rasa_a", "/webhooks/webchat/session"), {})
    result = subprocess.run(
        [str(ACT_BIN / "st"), "run", str(REPO / "openapi" / "channels.yml"),
         "--base-url", stack.url("rasa_a", ""), "--checks", "not_a_server_error",
         "--hypothesis-max-examples", "50", "--hypothesis-seed", "20261122",
         "--hypothesis-database", "none", "--hypothesis-suppress-health-check", "all",
         "--data-generation-method", "all", "--request-timeout", "30000", "--workers", "1",
         "--header", f"Authorization: Bearer {session['token']}", "--no-color"],
        cwd=stack.tmp, env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"},
        capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


# --------------------------------------------------------------------------- failures
def test_slow_action_server_gets_the_please_call_reply(stack: ProductionStack,
                                                       unavailable_texts: set[str]) -> None:
    actions = stack.servers["actions"]
    actions.signal(signal.SIGSTOP)  # accepts connections, never answers
    try:
        # the request's own timeout bounds the wait; durations are measured in
        # tests/stack/test_fault_injection.py (printed) and never asserted
        status, reply = stack.send("rasa_a", "slow-1", f"can i eat before the procedure? "
                                   f"{CANARY_TEXT}")
    finally:
        actions.signal(signal.SIGCONT)
    assert bot_texts(reply) in unavailable_texts and status in {200, 503}


def test_action_server_down_gets_the_please_call_reply(stack: ProductionStack,
                                                       unavailable_text: str) -> None:
    stack.servers["actions"].stop()
    try:
        status, reply = stack.send("rasa_a", "down-1", "can i eat before the procedure")
        assert bot_texts(reply) == unavailable_text and status in {200, 503}
    finally:
        stack.start_actions()
    status, reply = stack.send("rasa_a", "down-2", "can i eat before the procedure")
    assert status == 200 and bot_texts(reply) != unavailable_text


def test_failing_action_gets_the_please_call_reply(stack: ProductionStack,
                                                   unavailable_text: str) -> None:
    status, reply = stack.send("rasa_a", "raise-1",
                               "can i eat before the procedure RAISE-IN-ACTION")
    assert status == 200 and bot_texts(reply) == unavailable_text
    assert "request failed: RuntimeError" in stack.log("actions")


def test_kb_database_down_gets_the_please_call_reply(stack: ProductionStack,
                                                     unavailable_text: str) -> None:
    set_connections(stack.pg_url, stack.kb_db, allowed=False)
    try:
        status, reply = stack.send("rasa_a", "kb-down-1", "can i eat before the procedure")
    finally:
        set_connections(stack.pg_url, stack.kb_db, allowed=True)
    assert status == 200 and bot_texts(reply) == unavailable_text


def test_tracker_store_down_fails_loudly_never_in_memory(
        stack: ProductionStack, unavailable_text: str, unavailable_texts: set[str]) -> None:
    """The patient gets the please-call text with 200 (the safety gate answers a turn that
    failed; a patient never gets a 5xx — this was a 503 before the gate); the log says why,
    and nothing falls back to an in-memory tracker."""
    set_connections(stack.pg_url, stack.tracker_db, allowed=False)
    try:
        status, reply = stack.send("rasa_a", "ts-down-1", f"do i need a driver {CANARY_TEXT}")
        assert status == 200 and bot_texts(reply) in unavailable_texts
    finally:
        set_connections(stack.pg_url, stack.tracker_db, allowed=True)
    log = stack.log("rasa_a")
    assert "tracker store read failed" in log or "tracker store write failed" in log
    assert "InMemoryTrackerStore" not in log
    for _ in range(5):  # the connection pool recovers once the database is back
        status, reply = stack.send("rasa_a", "ts-down-2", "do i need a driver")
        if status == 200:
            break
        time.sleep(1)
    assert status == 200 and bot_texts(reply) != unavailable_text
    assert not events(stack, "ts-down-1")  # nothing of the failed turn was kept anywhere


# --------------------------------------------------------------------------- privacy
def test_canaries_in_warnings_forged_action_names_and_query_strings(
        stack: ProductionStack) -> None:
    """The paths that leaked in the security test: a library warning quoting the message (the
    Rasa side), a forged action name and version on the action server, and an exception line
    carrying the request URI with its query string. test_no_patient_data_in_any_log greps
    for them (and sends them itself)."""
    send_canaries_through_the_leaky_paths(stack)


def send_canaries_through_the_leaky_paths(stack: ProductionStack) -> None:
    """The warning, forged-action and query-string paths, each with the canaries."""
    query = "?dni=12345678Z&phone=%2B34600000001"
    status, _ = post_json(stack.url("rasa_a", "/webhooks/probe/webhook"),
                          {"sender": "warn-1", "message": f"/inform {CANARY_TEXT}"})
    assert status == 200
    status, _ = post_json(stack.url("rasa_a", "/webhooks/probe/webhook") + query,
                          {"sender": "warn-2", "message": f"RAISE-IN-CHANNEL {CANARY_TEXT}"})
    assert status == 500  # the probe raised: Sanic logged the exception with the URI
    token = {"X-Action-Server-Token": stack.token}
    webhook = f"http://127.0.0.1:{stack.action_port}/webhook"
    tracker = {"sender_id": "forged", "slots": {}, "events": [], "paused": False,
               "latest_message": {"text": CANARY_TEXT}, "latest_action_name": "action_listen",
               "followup_action": None, "active_loop": {}}
    for name in ["action_12345678z_34600000001", f"x' {CANARY_TEXT} '"]:
        status, body = post_json(webhook + query, {"next_action": name, "tracker": tracker,
                                                   "version": "3.5.12345678Z"}, headers=token)
        assert status == 404, body
    status, _ = post_json(webhook + query, {"next_action": "action_respond", "tracker": tracker,
                                            "version": "1.0.L4-L5 derecha"}, headers=token)
    assert status == 200  # a real action with a forged version: rasa_sdk warns with it


def test_no_patient_data_in_any_log(stack: ProductionStack) -> None:
    """Canaries go through a raising action, a malformed body, a tracker-store outage,
    warnings, forged action calls, query strings and a normal turn here (and through whatever
    other tests ran before, e.g. an action timeout); none may appear in either server's log,
    and no action name either."""
    stack.send("rasa_b", "canary-raise",
               f"can i eat before the procedure RAISE-IN-ACTION {CANARY_TEXT}")
    post_json(stack.url("rasa_b"), None, raw=b'{"sender": "canary-bad", "message": "DNI 1234'
              b'5678Z, phone +34600000001', content_type="application/json")
    set_connections(stack.pg_url, stack.tracker_db, allowed=False)
    try:
        stack.send("rasa_b", "canary-ts-down", f"do i need a driver {CANARY_TEXT}")
    finally:
        set_connections(stack.pg_url, stack.tracker_db, allowed=True)
    send_canaries_through_the_leaky_paths(stack)
    for _ in range(5):  # the connection pool recovers once the database is back
        status, _ = stack.send("rasa_b", "canary-1",
                               f"can i eat before the procedure? {CANARY_TEXT}")
        if status == 200:
            break
        time.sleep(1)
    assert status == 200
    logs = stack.all_logs()
    # the failure paths did run and log (the safety gate answers failed turns itself now)
    assert "tracker store read failed" in logs and "request failed: RuntimeError" in logs
    leaks = [c for c in CANARIES + ["12345678z", "action_respond"] if c in logs]
    assert not leaks, [line for line in logs.splitlines() if any(c in line for c in leaks)][:5]
    assert "Traceback" not in logs
    assert "warning UserWarning at" in logs  # the warnings were logged, redacted


def test_logs_are_written_at_production_level(stack: ProductionStack) -> None:
    for name in ("rasa_a", "rasa_b", "actions"):
        assert " DEBUG " not in stack.log(name)
    assert Path(stack.tmp / "rasa_a.log").stat().st_size > 0
