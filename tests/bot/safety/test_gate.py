"""The safety gate with the shipped triage and the shipped KB texts: alarms answered first and by
the gate itself, the firm repeat, the crisis line again after a crisis, ordinary turns passed on
with the verdict, and never silence."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage  # noqa: E402

from bot.nlu.language import LanguageTagger  # noqa: E402
from bot.safety.gate import ConversationLanguages, GateSettings, SafetyGate  # noqa: E402
from bot.safety.triage import Triage  # noqa: E402
from common.patient_texts import PatientTexts  # noqa: E402
from common.patient_texts import load as load_texts  # noqa: E402

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def triage() -> Triage:
    shared = Triage()
    shared.warm_up()
    return shared


@pytest.fixture(scope="module")
def texts() -> PatientTexts:
    """The export `make kb` wrote (the Makefile's test targets build it first)."""
    return load_texts(REPO / ".data" / "generated" / "patient_texts.json")


class Rasa:
    """Rasa's turn: records what reached it and answers with one text (or nothing, or late)."""

    def __init__(self, reply: str = "the preparation answer", delay_s: float = 0.0) -> None:
        self.reply, self.delay_s = reply, delay_s
        self.seen: List[Dict[str, Any]] = []

    async def __call__(self, agent: Any, message: UserMessage) -> None:
        self.seen.append({"text": message.text, "metadata": dict(message.metadata or {})})
        await asyncio.sleep(self.delay_s)
        if self.reply:
            await message.output_channel.send_text_message(message.sender_id, self.reply)


def gate_for(triage: Triage, texts: PatientTexts, budget_s: float = 2.0) -> SafetyGate:
    return SafetyGate(triage, ConversationLanguages(), alerts=None,
                      settings=GateSettings(turn_budget_s=budget_s), texts=lambda: texts)


async def say(gate: SafetyGate, rasa: Rasa, text: str, sender: str = "web:one") -> List[str]:
    output = CollectingOutputChannel()
    await gate.handle(object(), UserMessage(text, output, sender, input_channel="rest"), rasa)
    await asyncio.sleep(0.05)  # the background recording of an alarm turn
    return [str(m.get("text") or "") for m in output.messages]


async def test_an_emergency_is_answered_by_the_gate_first(triage: Triage,
                                                          texts: PatientTexts) -> None:
    rasa = Rasa()
    replies = await say(gate_for(triage, texts), rasa, "i cant feel my legs since the procedure")
    assert replies[0].startswith("Call 911 now")
    assert "the preparation answer" not in replies
    recorded = rasa.seen[0]["metadata"]["triage"]
    assert recorded["level"] == "emergency" and recorded["text"] == replies[0]


async def test_a_spanish_crisis_gets_the_crisis_line_in_spanish(triage: Triage,
                                                                texts: PatientTexts) -> None:
    replies = await say(gate_for(triage, texts), Rasa(), "ya no puedo más, quiero quitarme la vida")
    assert "988" in replies[0] and "911" in replies[0] and "Llame" in replies[0]


async def test_an_ordinary_question_goes_to_rasa_with_the_verdict(triage: Triage,
                                                                  texts: PatientTexts) -> None:
    rasa = Rasa()
    replies = await say(gate_for(triage, texts), rasa, "can i drink water before?")
    assert replies == ["the preparation answer"]
    assert rasa.seen[0]["metadata"]["triage"] == {"level": "routine"}
    assert rasa.seen[0]["metadata"]["language"] == "en"


async def test_playing_an_emergency_down_gets_the_firm_repeat(triage: Triage,
                                                              texts: PatientTexts) -> None:
    gate = gate_for(triage, texts)
    await say(gate, Rasa(), "my legs have gone numb and weak since the rf this morning")
    replies = await say(gate, Rasa(), "i dont want to make a fuss, can i just wait and see?")
    assert replies[0].startswith("Please call 911 now")


async def test_after_a_crisis_playing_it_down_gets_the_crisis_line_again(
        triage: Triage, texts: PatientTexts) -> None:
    gate = gate_for(triage, texts)
    await say(gate, Rasa(), "I keep thinking everyone would be better off without me")
    rasa = Rasa()
    replies = await say(gate, rasa, "i won't do anything, i'm fine really")
    assert "988" in replies[0] and "the preparation answer" not in replies
    assert rasa.seen[0]["metadata"]["triage"]["level"] == "after_crisis"


async def test_an_emergency_with_a_self_harm_signal_gives_the_crisis_line_too(
        triage: Triage, texts: PatientTexts) -> None:
    """"not wake up" reads as collapse and as suicidal thoughts: the emergency instruction
    first, then the crisis line, not the collapse advice; what follows is after a crisis."""
    gate, rasa = gate_for(triage, texts), Rasa()
    replies = await say(gate, rasa, "this probably sounds dramatic but some nights I just want "
                                    "to go to sleep and not wake up")
    assert replies[0].startswith("Call 911 now") and "988" in replies[0]
    assert "Stay with them" not in replies[0]
    assert rasa.seen[0]["metadata"]["triage"]["follow_up"] == "crisis"
    assert gate.memory.recent_alarm("web:one") == "crisis"


async def test_a_plain_emergency_keeps_its_own_advice(triage: Triage,
                                                      texts: PatientTexts) -> None:
    rasa = Rasa()
    replies = await say(gate_for(triage, texts), rasa, "my husband collapsed and won't wake up")
    assert replies[0].startswith("Call 911 now") and "988" not in replies[0]
    assert rasa.seen[0]["metadata"]["triage"]["follow_up"] is None


async def test_the_same_words_without_a_crisis_before_are_an_ordinary_turn(
        triage: Triage, texts: PatientTexts) -> None:
    replies = await say(gate_for(triage, texts), Rasa(), "i'm fine really")
    assert replies == ["the preparation answer"]


async def test_a_silent_or_slow_turn_gets_the_clinics_please_call_text(
        triage: Triage, texts: PatientTexts) -> None:
    unavailable = texts.text("assistant.unavailable", "en").text
    assert await say(gate_for(triage, texts), Rasa(reply=""), "do i need a driver") == [
        unavailable]
    slow, gate = Rasa(delay_s=1.0), gate_for(triage, texts, budget_s=0.2)
    assert await say(gate, slow, "do i need a driver") == [unavailable]
    await asyncio.gather(*list(gate._background))  # the late turn still finishes (not lost)
    assert slow.seen[0]["text"] == "do i need a driver"


def test_the_export_the_tests_read_is_the_shipped_kb(texts: PatientTexts) -> None:
    data = json.loads((REPO / ".data" / "generated" / "patient_texts.json").read_text("utf-8"))
    assert texts.fingerprint == data["kb_fingerprint"] and texts.text("triage.emergency").text


@pytest.mark.parametrize("text, wanted", [
    ("English please", "en"), ("en español por favor", "es"), ("castellano", "es"),
    ("I don't speak Spanish", "en"), ("no hablo inglés", "es"),
    ("my english is not great", None), ("is the clinic spanish speaking?", None),
    ("can I drink water before?", None),
    # the last request wins, and a negation reaches three words back
    ("mi marido no lee bien el castellano. Can you answer in English please?", "en"),
])
def test_a_language_request_is_read_as_the_nlu_reads_it(text: str, wanted: Optional[str]) -> None:
    """The gate decides the reply's language with the same reader as the LanguageTagger: a
    negated request asks for the other language, a language named in passing asks nothing."""
    assert ConversationLanguages().requested(text) == wanted
    tagged = LanguageTagger(LanguageTagger.get_default_config()).switch_in(text)
    assert (tagged[0] if tagged else None) == wanted


def test_every_language_request_of_the_registry_is_read_as_its_language() -> None:
    """data/kb/topics.yml `language_requests` (exported to the KB vocabulary) and the reader
    agree: each phrase the clinic lists asks for its language."""
    vocabulary = REPO / "bot" / "generated" / "kb_vocabulary.json"
    phrases = json.loads(vocabulary.read_text(encoding="utf-8"))["language_requests"]
    for language, listed in phrases.items():
        for phrase in listed:
            assert ConversationLanguages().requested(phrase) == language, phrase


class TentativeCrisis:
    """The shipped triage, except that it reads every message as a tentative crisis (a low
    classifier probability and no pattern), as it does "can't sleep for thinking about it"."""

    def __init__(self, triage: Triage) -> None:
        self._triage = triage
        self.vocabulary = triage.vocabulary  # the topic intents the gate's question test reads

    def assess(self, text: str, language: Optional[str] = None) -> Any:
        from dataclasses import replace
        verdict = self._triage.assess(text, language)
        return replace(verdict, level="crisis", flag_id="red_flag.suicidal_thoughts",
                       category="suicidal_thoughts", tentative=True, crisis_probability=0.3)

    def is_minimising(self, text: str) -> bool:
        return self._triage.is_minimising(text)


def tentative_gate(triage: Triage, texts: PatientTexts, budget_s: float = 2.0) -> SafetyGate:
    return SafetyGate(TentativeCrisis(triage), ConversationLanguages(), alerts=None,
                      settings=GateSettings(turn_budget_s=budget_s), texts=lambda: texts)


async def test_a_tentative_crisis_gets_the_crisis_reply_first_then_the_answer(
        triage: Triage, texts: PatientTexts) -> None:
    rasa = Rasa()
    replies = await say(tentative_gate(triage, texts), rasa, "do i need a driver")
    crisis = texts.text("triage.crisis", "en").text
    assert len(replies) == 2 and replies[0].startswith(crisis) and "988" in replies[0]
    assert replies[1] == "the preparation answer"
    # the dialogue answers the question: it is not told that a crisis happened
    assert rasa.seen[0]["metadata"]["triage"] == {"level": "routine",
                                                  "answered_after": "crisis"}


async def test_a_tentative_crisis_in_spanish_gets_the_spanish_crisis_reply(
        triage: Triage, texts: PatientTexts) -> None:
    replies = await say(tentative_gate(triage, texts), Rasa(), "¿necesito que me lleven a casa?")
    assert replies[0].startswith(texts.text("triage.crisis", "es").text)


async def test_a_tentative_crisis_without_an_answer_still_gets_the_crisis_reply_first(
        triage: Triage, texts: PatientTexts) -> None:
    crisis = texts.text("triage.crisis", "en").text
    unavailable = texts.text("assistant.unavailable", "en").text
    silent = await say(tentative_gate(triage, texts), Rasa(reply=""), "do i need a driver")
    assert silent[0].startswith(crisis) and silent[1:] == [unavailable]
    gate = tentative_gate(triage, texts, budget_s=0.2)
    slow = await say(gate, Rasa(delay_s=1.0), "do i need a driver")
    assert slow[0].startswith(crisis) and "988" in slow[0] and slow[1:] == [unavailable]
    await asyncio.gather(*list(gate._background))  # the late turn still finishes (not lost)


class ReadingAgent:
    """The Rasa agent as the gate's question test sees it: an NLU with one fixed reading."""

    def __init__(self, intent: str, confidence: float, delay_s: float = 0.0,
                 fails: bool = False) -> None:
        self.processor = self
        self.reading = {"intent": {"name": intent, "confidence": confidence}}
        self.delay_s, self.fails = delay_s, fails
        self.seen: List[Dict[str, Any]] = []

    async def parse_message(self, message: UserMessage) -> Dict[str, Any]:
        self.seen.append(dict(message.metadata or {}))
        await asyncio.sleep(self.delay_s)
        if self.fails:
            raise RuntimeError("the NLU is broken")
        return self.reading


async def say_to(gate: SafetyGate, agent: Any, rasa: Rasa, text: str) -> List[str]:
    output = CollectingOutputChannel()
    await gate.handle(agent, UserMessage(text, output, "web:one", input_channel="rest"), rasa)
    return [str(m.get("text") or "") for m in output.messages]


async def test_a_tentative_crisis_that_is_a_clear_question_gets_the_one_line_check_first(
        triage: Triage, texts: PatientTexts) -> None:
    """"I live alone and nobody can drive me, can I get an Uber?" reads a little like a crisis:
    the crisis line comes first, in one line, then the driver answer."""
    agent, rasa = ReadingAgent("ask_driver", 0.9), Rasa()
    replies = await say_to(tentative_gate(triage, texts), agent, rasa, "do i need a driver")
    check = texts.text("triage.crisis_check", "en").text
    assert replies == [check, "the preparation answer"]
    assert "988" in check and "911" in check and check.index("988") < check.index("911")
    # read without the gate's verdict, in the conversation's language
    assert agent.seen == [{"language": "en", "triage": {"level": "routine"}}]
    spanish = await say_to(tentative_gate(triage, texts), ReadingAgent("ask_driver", 0.9),
                           Rasa(), "¿necesito que me lleven a casa?")
    assert spanish[0] == texts.text("triage.crisis_check", "es").text  # in Spanish


@pytest.mark.parametrize("agent", [
    ReadingAgent("express_anxiety", 0.95),       # a fear: where real crises hide
    ReadingAgent("ask_driver", 0.3),             # not clearly a question
    ReadingAgent("nlu_fallback", 0.9),           # not a topic
    ReadingAgent("ask_driver", 0.9, fails=True),  # the NLU fails
    ReadingAgent("ask_driver", 0.9, delay_s=2.0),  # the NLU does not answer in time
], ids=["fear", "unclear", "no-topic", "nlu-fails", "nlu-slow"])
async def test_a_tentative_crisis_that_is_not_a_clear_question_keeps_the_full_crisis_reply(
        triage: Triage, texts: PatientTexts, agent: ReadingAgent) -> None:
    replies = await say_to(tentative_gate(triage, texts), agent, Rasa(), "do i need a driver")
    assert replies[0].startswith(texts.text("triage.crisis", "en").text)
    assert replies[-1] == "the preparation answer"


async def test_a_tentative_crisis_soon_after_an_alarm_gets_only_the_crisis_reply(
        triage: Triage, texts: PatientTexts) -> None:
    gate = tentative_gate(triage, texts)
    gate.memory.note("web:one", "crisis")
    rasa = Rasa()
    replies = await say(gate, rasa, "do i need a driver")
    assert replies[0].startswith(texts.text("triage.crisis", "en").text)
    assert "the preparation answer" not in replies
    assert rasa.seen[0]["metadata"]["triage"]["level"] == "crisis"


# ------------------------------------------------------------------------ urgent: today's hours
def test_urgent_reply_in_opening_hours_names_todays_closing_time(texts: PatientTexts) -> None:
    """"Call the clinic today, before 4:00 pm" on a Friday (the US profile closes earlier on
    Fridays): today's closing time, not the whole week's hours, keeps the reply within two SMS
    segments with the flag's own advice."""
    from bot.safety.gate import closes_at

    friday_noon = dt.datetime(2026, 12, 4, 17, 0, tzinfo=dt.timezone.utc)  # 12:00 New York
    monday_noon = dt.datetime(2026, 12, 7, 17, 0, tzinfo=dt.timezone.utc)
    assert closes_at(texts, "en", friday_noon) == "4:00 pm"
    assert closes_at(texts, "en", monday_noon) == "5:00 pm"
    filled = texts.text("triage.urgent", "en").fill(closes_at=closes_at(texts, "en", friday_noon))
    assert "before 4:00 pm" in filled and "{" not in filled and "911" in filled


def test_urgent_reply_fills_the_closing_time_in_the_gate(
    triage: Triage, texts: PatientTexts, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.safety import gate as gate_module

    monkeypatch.setattr(gate_module, "clinic_open", lambda _texts: True)
    verdict = triage.assess("i have a temperature of 38.5 since the procedure yesterday")
    assert verdict.level == "urgent"
    reply = gate_module.alarm_reply(verdict, "en", texts)
    assert "{closes_at}" not in reply and re.search(r"before \d{1,2}:\d\d [ap]m", reply)
    assert len(reply) <= 320
