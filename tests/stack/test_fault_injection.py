"""Fault injection on the stack `make run` starts: every channel, real processes, real faults.

Issue 10, point 6 and Acceptance. Each test breaks something for real (fault_harness.py) and
reads what a patient reads first: the first sentence of the first reply message must be the
direct instruction from the KB ("Call 911 now or go to the nearest emergency department."),
never "If this is an emergency..."; a crisis message gets the crisis reply (with the crisis
line) first; an ordinary question gets a polite reply with HTTP 200, never a 5xx or silence.
The expected words come from the stack's own KB export, and the tests also check them
against the clinic's numbers and a direct verb ("Call" / "Llame"), so a KB edit that turned
the instruction into a conditional would fail here.

Two stacks, one per clinic profile, each shared by the module: the US example clinic (911,
988) on SQLite as the local profile ships, and the Barcelona example clinic (112, 024) on
PostgreSQL, production's tracker database. `rasa shell` gets its own process. No timing is
asserted beyond the 10 s request timeout (the issue's acceptance); the measured durations are
printed at the end of the run (conftest.py). Every test ends by checking that nothing a
patient wrote appears in the stack's INFO log.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, List

import pytest
from fault_harness import (
    CHANNELS,
    FaultStack,
    Patient,
    PrivatePostgres,
    Reply,
    ShellSession,
    first_sentence,
    plain,
)

pytestmark = pytest.mark.slow

EMERGENCY = "I can't feel my legs since the procedure"
ROUTINE = "can I drink water before"
CRISIS = "with this pain there's no point going on, I'm tired of being alive"
MINIMISING = "i dont want to make a fuss, can i just wait and see how it is tomorrow?"
HANDOFF = "I want to talk to a nurse"
PENDING_QUESTION = "what's my plan"  # action_respond asks for the date and time
ES_EMERGENCY = "no siento las piernas desde la rizolisis"
ES_CRISIS = "ya no puedo más, quiero quitarme la vida"
ES_ROUTINE = "¿puedo beber agua antes?"
DIRECT_VERBS = ("call ", "llame ", "please call ", "por favor, llame ")
# Read as a crisis by the classifier alone, at a low probability (tests/bot/safety/test_triage.py
# checks that it still is): the gate sends the crisis reply, then answers the question.
TENTATIVE = "I keep thinking something will go wrong"


# ---------------------------------------------------------------------------------- checks
def assert_emergency_first(stack: FaultStack, reply: Reply, language: str = "en",
                           key: str = "triage.emergency") -> None:
    """The first sentence the patient reads is the KB's direct instruction, with the number."""
    assert reply.status == 200, f"{reply.channel}: HTTP {reply.status}"
    assert reply.messages, f"{reply.channel}: silence"
    expected = first_sentence(stack.text(key, language))
    got = reply.first_sentence
    assert plain(got) == plain(expected), f"{reply.channel}: first sentence {got!r}"
    assert stack.clinic_facts["emergency_number"] in got
    assert plain(got).startswith(DIRECT_VERBS), f"not a direct instruction: {got!r}"


def assert_crisis_first(stack: FaultStack, reply: Reply, language: str = "en") -> None:
    """The first message is the crisis reply: the crisis line and the emergency number."""
    assert reply.status == 200, f"{reply.channel}: HTTP {reply.status}"
    assert reply.messages, f"{reply.channel}: silence"
    crisis = stack.text("triage.crisis", language)
    assert plain(reply.first).startswith(plain(crisis)), f"{reply.channel}: {reply.first!r}"
    assert plain(reply.first_sentence) == plain(first_sentence(crisis))
    facts = stack.clinic_facts
    assert facts["crisis_line"] in reply.first and facts["emergency_number"] in reply.first
    assert facts["phone"] not in reply.first.split(facts["crisis_line"])[0]  # the line first


def assert_polite(stack: FaultStack, reply: Reply) -> None:
    """A fault costs an ordinary question its answer, never a 5xx or silence: the reply says
    how to reach the clinic."""
    assert reply.status == 200, f"{reply.channel}: HTTP {reply.status}"
    assert reply.messages and reply.first.strip(), f"{reply.channel}: silence"
    assert stack.clinic_facts["phone"] in reply.first, reply.first


def assert_answered(reply: Reply, *words: str) -> None:
    """A real answer from the action server (not the "please call" text)."""
    assert reply.status == 200 and reply.messages, reply
    assert any(word in plain(reply.first) for word in words), reply.first


def assert_answered_after_the_reminder(stack: FaultStack, reply: Reply, *words: str) -> None:
    """Within the hour after an emergency reply, a question is answered (a real answer from
    the action server) after the instruction again (triage.after.emergency_first)."""
    assert reply.status == 200 and reply.messages, reply
    reminder = plain(stack.text("triage.after.emergency_first", "en"))
    whole = plain("\n".join(reply.messages))  # one SMS holds both messages
    assert whole.startswith(reminder), reply.messages
    assert any(word in whole[len(reminder):] for word in words), reply.messages


def assert_answered_after_a_crisis(stack: FaultStack, reply: Reply, *words: str,
                                   language: str = "en") -> None:
    """A real answer soon after a crisis reply: after the crisis-line reminder
    (triage.after.crisis_first) when the crisis turn reached the transcript, else on its own
    (a tracker fault during the crisis turn can keep it out of the slots; the gate answered it
    either way)."""
    assert reply.status == 200 and reply.messages, reply
    reminder = plain(stack.text("triage.after.crisis_first", language))
    whole = plain("\n".join(reply.messages))
    if whole.startswith(reminder):
        assert stack.clinic_facts["crisis_line"] in reply.messages[0]
        whole = whole[len(reminder):]
    assert any(word in whole for word in words), reply.messages


def assert_crisis_then_answer(stack: FaultStack, reply: Reply, *words: str) -> None:
    """A tentative crisis: the crisis reply first, then the answer to the question."""
    assert_crisis_first(stack, reply)
    whole = plain("\n".join(reply.messages))  # one SMS holds both messages
    assert any(word in whole for word in words), reply.messages


@contextmanager
def paused_by_staff(stack: FaultStack, patient: Patient) -> Iterator[None]:
    """A person from the clinic pauses the conversation (a `pause` event via the HTTP API)."""
    stack.add_event(patient.conversation_id, {"event": "pause"})
    try:
        stack.fault = "conversation paused"
        yield
    finally:
        stack.fault = "none"
        stack.add_event(patient.conversation_id, {"event": "resume"})


def assert_log_clean(*stacks: FaultStack) -> None:
    """Nothing a patient wrote shows up in the stack's INFO log, faults included."""
    for stack in stacks:
        leaked = stack.patient_texts_in_log()
        assert not leaked, f"patient text in the {stack.name} log: {leaked}"


def assert_recorded(stack: FaultStack, patient: Patient, texts: List[str]) -> None:
    """Nothing lost: the transcript holds every message of the conversation, in order."""
    found = stack.wait_for_user_texts(patient.conversation_id, texts)
    assert found[-len(texts):] == texts, found


# ---------------------------------------------------------------------------------- 1. SIGSTOP
@pytest.mark.parametrize("channel", CHANNELS)
def test_action_server_stopped(us_stack: FaultStack, channel: str) -> None:
    """Acceptance: the action server accepts connections and never answers (kill -STOP)."""
    patient = us_stack.patient(channel)
    with us_stack.action_server_stopped():
        assert_emergency_first(us_stack, patient.say(EMERGENCY, "emergency"))
        assert_polite(us_stack, patient.say(ROUTINE, "routine"))
    # kill -CONT: the conversation goes on, and nothing was lost.
    assert_answered_after_the_reminder(us_stack, patient.say(ROUTINE, "routine"), "water",
                                       "drink")
    assert_recorded(us_stack, patient, [EMERGENCY, ROUTINE, ROUTINE])
    assert_log_clean(us_stack)


@pytest.mark.parametrize("channel", CHANNELS)
def test_action_server_killed(us_stack: FaultStack, channel: str) -> None:
    """The action server is gone; Rasa keeps answering and run_stack.sh starts it again."""
    patient = us_stack.patient(channel)
    with us_stack.action_server_killed():
        assert_emergency_first(us_stack, patient.say(EMERGENCY, "emergency"))
        assert_polite(us_stack, patient.say(ROUTINE, "routine"))
        assert us_stack.action_server_refuses(), "the fault ended before the messages did"
    assert_answered_after_the_reminder(us_stack, patient.say(ROUTINE, "routine"), "water",
                                       "drink")
    assert_recorded(us_stack, patient, [EMERGENCY, ROUTINE, ROUTINE])
    assert_log_clean(us_stack)


# ---------------------------------------------------------------------------------- 2. tracker
@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("mode", ["removed", "locked"])
def test_tracker_database_down_sqlite(us_stack: FaultStack, mode: str, channel: str) -> None:
    """The SQLite tracker file is gone (unopenable) or locked by another connection."""
    patient = us_stack.patient(channel)
    assert_answered(patient.say(ROUTINE, "routine"), "water", "drink")
    fault = us_stack.tracker_db_removed() if mode == "removed" else us_stack.tracker_db_locked()
    with fault:
        assert_emergency_first(us_stack, patient.say(EMERGENCY, "emergency"))
        assert_polite(us_stack, patient.say(ROUTINE, "routine"))
        assert_crisis_first(us_stack, patient.say(CRISIS, "crisis"))
    assert_answered_after_a_crisis(us_stack, patient.say(ROUTINE, "routine"), "water", "drink")
    assert_log_clean(us_stack)


@pytest.mark.parametrize("channel", CHANNELS)
def test_tracker_database_down_postgresql(es_stack: FaultStack,
                                          private_postgres: PrivatePostgres,
                                          channel: str) -> None:
    """PostgreSQL stopped (immediate shutdown) under the Spanish clinic's stack."""
    patient = es_stack.patient(channel)
    assert_answered(patient.say(ES_ROUTINE, "routine"), "agua", "beber")
    with private_postgres.stopped(es_stack):
        assert_emergency_first(es_stack, patient.say(ES_EMERGENCY, "emergency"), "es")
        assert_polite(es_stack, patient.say(ES_ROUTINE, "routine"))
        assert_crisis_first(es_stack, patient.say(ES_CRISIS, "crisis"), "es")
    assert_answered_after_a_crisis(es_stack, patient.say(ES_ROUTINE, "routine"), "agua", "beber",
                                   language="es")
    assert_log_clean(es_stack)


# ---------------------------------------------------------------------------------- 3. paused
@pytest.mark.parametrize("channel", CHANNELS)
def test_emergency_after_asking_for_a_nurse(us_stack: FaultStack, channel: str) -> None:
    """Acceptance: "I want to talk to a nurse", then an emergency: the instruction first."""
    patient = us_stack.patient(channel)
    handoff = patient.say(HANDOFF, "handoff")
    assert handoff.status == 200 and handoff.messages
    assert_emergency_first(us_stack, patient.say(EMERGENCY, "emergency"))
    assert_crisis_first(us_stack, patient.say(CRISIS, "crisis"))
    assert_log_clean(us_stack)


@pytest.mark.parametrize("channel", CHANNELS)
def test_conversation_paused_by_staff(us_stack: FaultStack, channel: str) -> None:
    """A person from the clinic paused the conversation (a `pause` event via the HTTP API):
    questions get the "paused" text, an emergency or crisis still gets its reply first."""
    patient = us_stack.patient(channel)
    assert patient.say("hello", "greeting").messages
    with paused_by_staff(us_stack, patient):
        assert_emergency_first(us_stack, patient.say(EMERGENCY, "emergency"))
        paused = patient.say(ROUTINE, "routine")
        assert_polite(us_stack, paused)
        assert plain(paused.first) == plain(us_stack.text("assistant.paused", "en"))
        assert_crisis_first(us_stack, patient.say(CRISIS, "crisis"))
    assert_log_clean(us_stack)


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_tentative_crisis_gets_the_crisis_reply_first_in_every_state(us_stack: FaultStack,
                                                                      channel: str) -> None:
    """The crisis reply first, then the answer when all is well; the crisis reply first also
    when the action server hangs or staff paused the conversation."""
    assert_crisis_then_answer(us_stack, us_stack.patient(channel).say(TENTATIVE, "tentative"),
                              "nervous", "worried")  # the anxiety answer
    with us_stack.action_server_stopped():
        assert_crisis_first(us_stack, us_stack.patient(channel).say(TENTATIVE, "tentative"))
    patient = us_stack.patient(channel)
    assert patient.say("hello", "greeting").messages
    with paused_by_staff(us_stack, patient):
        assert_crisis_first(us_stack, patient.say(TENTATIVE, "tentative"))
    assert_log_clean(us_stack)


# ---------------------------------------------------------------------------------- 4. pending
@pytest.mark.parametrize("channel", CHANNELS)
def test_emergency_and_crisis_while_a_question_is_open(us_stack: FaultStack,
                                                       channel: str) -> None:
    """The assistant has just asked for the appointment's date and time."""
    patient = us_stack.patient(channel)
    asked = patient.say(PENDING_QUESTION, "question")
    assert asked.status == 200 and asked.first_sentence.endswith("?"), asked.first
    us_stack.fault = "question open"
    try:
        assert_emergency_first(us_stack, patient.say(EMERGENCY, "emergency"))
        assert_crisis_first(us_stack, patient.say(CRISIS, "crisis"))
    finally:
        us_stack.fault = "none"
    assert_log_clean(us_stack)


# ---------------------------------------------------------------------------------- 5. STOP
def test_emergency_after_sms_stop(us_stack: FaultStack) -> None:
    """After STOP no conversation runs, but an emergency still gets the instruction, once."""
    patient = us_stack.patient("sms")
    assert patient.say("hello", "greeting").messages
    stop = patient.say("STOP", "keyword")
    assert stop.status == 200 and stop.messages == []  # Twilio itself confirms the opt-out
    us_stack.fault = "after SMS STOP"
    try:
        emergency = patient.say(EMERGENCY, "emergency")
        assert_emergency_first(us_stack, emergency)
        assert len(emergency.messages) == 1, emergency.messages  # no notice, no second text
        routine = patient.say(ROUTINE, "routine")
        assert routine.status == 200 and routine.messages == []  # opted out: nothing else
        assert_crisis_first(us_stack, patient.say(CRISIS, "crisis"))
    finally:
        us_stack.fault = "none"
    assert_log_clean(us_stack)


# ---------------------------------------------------------------------------------- 6. Spanish
@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("profile", ["us", "es"])
def test_spanish_emergency_and_crisis(request: pytest.FixtureRequest, profile: str,
                                      channel: str) -> None:
    """Acceptance: the Spanish reply with the clinic's numbers on either clinic profile (911
    and 988 for the US example clinic, 112 and 024 for the Barcelona one)."""
    stack: FaultStack = request.getfixturevalue(f"{profile}_stack")
    facts = stack.clinic_facts
    assert (facts["emergency_number"], facts["crisis_line"]) == (
        ("911", "988") if profile == "us" else ("112", "024"))
    emergency = stack.patient(channel).say(ES_EMERGENCY, "emergency")
    assert_emergency_first(stack, emergency, "es")
    crisis = stack.patient(channel).say(ES_CRISIS, "crisis")
    assert_crisis_first(stack, crisis, "es")
    assert_log_clean(stack)


# ---------------------------------------------------------------------------------- 7. minimising
@pytest.mark.parametrize("channel", CHANNELS)
def test_minimising_after_an_emergency_is_told_again(us_stack: FaultStack, channel: str) -> None:
    """"Can I just wait and see?" right after the emergency reply: the firm repeat first."""
    patient = us_stack.patient(channel)
    assert_emergency_first(us_stack, patient.say(EMERGENCY, "emergency"))
    us_stack.fault = "minimising after an emergency"
    try:
        assert_emergency_first(us_stack, patient.say(MINIMISING, "minimising"),
                               key="triage.repeat")
    finally:
        us_stack.fault = "none"
    assert_log_clean(us_stack)


# ---------------------------------------------------------------------------------- 8. shell
def test_rasa_shell_with_the_action_server_stopped(us_stack: FaultStack,
                                                   tmp_path_factory: pytest.TempPathFactory
                                                   ) -> None:
    """`rasa shell` (staff and development) against the stack's action server, stopped."""
    shell = ShellSession(us_stack, tmp_path_factory.mktemp("shell"))
    try:
        shell.wait_ready()
        emergency_number = us_stack.clinic_facts["emergency_number"]
        with us_stack.action_server_stopped():
            emergency = shell.say(EMERGENCY, expect=emergency_number, kind="emergency")
            assert_emergency_first(us_stack, emergency)
            routine = shell.say(ROUTINE, expect=us_stack.clinic_facts["phone"], kind="routine")
            assert_polite(us_stack, routine)
    finally:
        shell.close()
    assert_log_clean(us_stack)


# ---------------------------------------------------------------------------------- 9. facts kept
CRISIS_WITH_TIME = ("my procedure is tomorrow at 10am but with this pain there's no point going "
                    "on, I'm tired of being alive")


def test_the_appointment_in_a_message_the_gate_answered_is_kept(us_stack: FaultStack) -> None:
    """The gate answers the crisis first; the appointment time given in the same message is
    kept (action_keep_facts after utter_triage), so the arrival time asked next is known."""
    patient = us_stack.patient("rest")
    assert_crisis_first(us_stack, patient.say(CRISIS_WITH_TIME, "crisis"))
    assert_recorded(us_stack, patient, [CRISIS_WITH_TIME])
    arrival = patient.say("what time do I have to be there?", "question")
    assert arrival.status == 200
    assert "9:30" in plain(" ".join(arrival.messages)), arrival.messages
    assert_log_clean(us_stack)
