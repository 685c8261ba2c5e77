"""Topic answers: for every registry topic, in both languages, the right KB text for the
intent, the site, the clinic's settings and the patient's words; short, filled in, with the
entries and sources it came from.

The topics, cue words and expected keys are read from the registry (data/kb/topics.yml), so a
topic added there is tested here without editing this file.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from actions.conversation.engine import LONG_REPLY
from actions.conversation.turn import State
from actions.kb.loader import KbContent
from actions.kb.registry import AnswerSpec, TopicKind, TopicSpec, cue_pattern
from actions.kb.snapshot import KbSnapshot
from tests.actions.conftest import ActionServer, slot_events
from tests.actions.conversation_harness import Conversation

LANGUAGES = ("en", "es")
MESSAGE_LIMIT = LONG_REPLY  # one message of a reply: three SMS segments (one KB text: two)
NOT_ENGINE = {"human"}  # request_human goes to action_request_human (test_safety_actions.py)
CONVERSATION = {"greet": "assistant.greet", "goodbye": "assistant.goodbye",
                "thank": "assistant.thanks", "bot_challenge": "assistant.disclosure",
                "ask_capabilities": "assistant.capabilities",
                "out_of_scope": "assistant.out_of_scope"}


def _topics(kb: KbSnapshot) -> list[TopicSpec]:
    return [t for t in kb.registry.topics if t.id not in NOT_ENGINE]


def _topic_ids() -> list[str]:
    from pathlib import Path

    import yaml

    registry = yaml.safe_load((Path(__file__).resolve().parents[2] / "data" / "kb" /
                               "topics.yml").read_text("utf-8"))["registry"]
    return [t["id"] for t in registry["topics"] if t["id"] not in NOT_ENGINE]


def _question(kb: KbSnapshot, topic: TopicSpec, language: str) -> str:
    """The KB's own question for the topic (what its quick reply sends)."""
    served = kb.text(f"question.{topic.id}", language)
    assert served is not None and served.translated
    return served.item.short


def _assert_well_formed(chat: Conversation, kb_content: KbContent, language: str) -> None:
    """Non-empty, short, filled in, in the patient's language, and each message names the
    approved KB entries (and their sources) it was made from."""
    assert chat.last is not None and chat.last.messages
    sources = {t.id: t.entry.source for t in kb_content.texts}
    templates = {t.id: t.entry.short for t in kb_content.texts}
    for message in chat.last.messages:
        assert message.text.strip() and len(message.text) <= MESSAGE_LIMIT, message.text
        assert "{" not in message.text and "}" not in message.text
        assert message.entries and len(message.sources) == len(message.entries)
        for entry, source in zip(message.entries, message.sources, strict=True):
            assert entry.startswith(f"text.{language}.") or entry.startswith("medication."), entry
            if entry.startswith("text."):
                assert sources[entry] == source
                opening = templates[entry].split("{", 1)[0][:25]
                assert opening in message.text, (entry, message.text)
        for button in message.buttons:
            assert button.title and button.payload and not button.payload.startswith("/")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("topic_id", _topic_ids())
def test_every_topic_is_answered_in_both_languages(kb_snapshot: KbSnapshot,
                                                   kb_content: KbContent, topic_id: str,
                                                   language: str) -> None:
    topic = kb_snapshot.registry.topic(topic_id)
    chat = Conversation(kb_snapshot, language=language)
    chat.say(_question(kb_snapshot, topic, language), topic.intent)
    _assert_well_formed(chat, kb_content, language)
    assert chat.state.last_topic == topic.id
    assert chat.last is not None and chat.last.topics == [topic.id]


def _distinct_cue(topic: TopicSpec, index: int, language: str) -> str | None:
    """A cue of the answer that no later answer's cues also match (the last match wins; the
    general answer's cues, which name the whole topic, win over all)."""
    if index == 0:
        return next(iter(topic.answers[0].cues.get(language, [])), "").rstrip("*") or None
    later = [c for answer in topic.answers[index + 1:] for c in answer.cues.get(language, [])]
    for cue in topic.answers[index].cues.get(language, []):
        word = cue.rstrip("*")
        if not later or not cue_pattern(later).search(word):
            return word
    return None


def _cue_cases(kb: KbSnapshot) -> list[tuple[str, TopicSpec, AnswerSpec, str]]:
    cases = []
    for topic in _topics(kb):
        if topic.kind is not TopicKind.topic or topic.id in ("plan", "illness"):
            continue
        for index, answer in enumerate(topic.answers):
            for language in LANGUAGES:
                if answer.cues.get(language):
                    cue = _distinct_cue(topic, index, language)
                    assert cue is not None, f"{answer.key} ({language}): every cue is shadowed"
                    cases.append((language, topic, answer, cue))
    return cases


def test_every_answer_is_reached_by_its_own_cue_words(kb_snapshot: KbSnapshot,
                                                      kb_content: KbContent) -> None:
    """"and water?" gets the water answer, not the general one: every answer key with cue
    words, in each language that has them."""
    cases = _cue_cases(kb_snapshot)
    assert len(cases) >= 60
    for language, topic, answer, cue in cases:
        chat = Conversation(kb_snapshot, language=language, state=State(procedure_site="lumbar"))
        chat.say(cue, topic.intent)
        assert chat.state.last_key is not None and (
            chat.state.last_key == answer.key or chat.state.last_key.startswith(
                answer.key + ".")), (language, answer.key, cue, chat.state.last_key)
        _assert_well_formed(chat, kb_content, language)


def _position(kb_content: KbContent, site: str) -> str:
    return next(p.position.value for p in kb_content.procedures if p.site.value == site
                and p.status.value == "approved")


@pytest.mark.parametrize("site", ["lumbar", "cervical"])
def test_per_site_answers_follow_the_patients_site(kb_snapshot: KbSnapshot,
                                                   kb_content: KbContent, site: str) -> None:
    chat = Conversation(kb_snapshot, state=State(procedure_site=site))
    chat.say("how will i lie on the table", "ask_positioning")
    assert chat.entries == [f"text.en.positioning.main.{_position(kb_content, site)}"]
    chat.say("what happens during the procedure", "ask_procedure_steps")
    assert chat.entries == [f"text.en.procedure_steps.main.{site}"]


def test_without_a_site_a_per_site_topic_asks_or_gives_the_general_text(
        kb_snapshot: KbSnapshot) -> None:
    """Positioning differs by site and has no general text: ask. The procedure steps have a
    general text: give it, with the two sites as quick replies."""
    chat = Conversation(kb_snapshot)
    chat.say("how will i lie on the table", "ask_positioning")
    assert chat.entries == ["text.en.question.site"]
    assert chat.buttons == ["Lower back", "Neck"]
    chat.say("my neck", "inform", sites=(("neck", "cervical"),))
    assert chat.entries[0].startswith("text.en.positioning.main.")
    steps = Conversation(kb_snapshot)
    steps.say("what happens during the procedure", "ask_procedure_steps")
    assert steps.entries == ["text.en.procedure_steps.main"]
    assert steps.buttons[:2] == ["Lower back", "Neck"]


@pytest.mark.parametrize(("owner", "field", "value", "question", "intent", "key"), [
    ("clinic", "driver_required_without_sedation", False, "do i need a driver", "ask_driver",
     "driver.main.false"),
    ("clinic", "taxi_allowed_alone", True, "can i take a taxi", "ask_driver", "driver.taxi.true"),
    ("fasting", "gum_and_candy", "allowed", "can i chew gum", "ask_fasting",
     "fasting.gum.allowed"),
    ("fasting", "medicines_with_sip_of_water", False, "can i take my tablets", "ask_fasting",
     "fasting.medicines.false"),
])
def test_variants_follow_the_clinic_settings(kb_snapshot: KbSnapshot, owner: str, field: str,
                                             value: Any, question: str, intent: str,
                                             key: str) -> None:
    """A clinic that changes a setting changes the answer with no text edit."""
    shipped = Conversation(kb_snapshot)
    shipped.say(question, intent)
    assert shipped.state.last_key != key  # the shipped profile uses the other value
    settings = getattr(kb_snapshot, owner)
    changed = dataclasses.replace(kb_snapshot, **{owner: dataclasses.replace(
        settings, **{field: value})})
    chat = Conversation(changed)
    chat.say(question, intent)
    assert chat.state.last_key == key and chat.entries == [f"text.en.{key}"]


def test_a_missing_translation_is_english_with_the_kb_note(kb_snapshot: KbSnapshot,
                                                          kb_content: KbContent) -> None:
    texts = {k: v for k, v in kb_snapshot.texts.items() if k != ("es", "driver.no_driver", "any")}
    partial = dataclasses.replace(kb_snapshot, texts=texts)
    chat = Conversation(partial, language="es")
    chat.say("no tengo a nadie que me lleve", "ask_driver")
    assert chat.entries == ["text.es.assistant.untranslated_note", "text.en.driver.no_driver"]
    english = next(t.entry.short for t in kb_content.texts if t.id == "text.en.driver.no_driver")
    assert english.split("{", 1)[0][:30] in chat.reply
    assert chat.reply.startswith("Esta respuesta todavía no está disponible en español")


@pytest.mark.parametrize(("text", "drugs", "key"), [
    ("what about my ozempic", (("ozempic", "semaglutide"),), "medications.glp1"),
    ("I'm diabetic, what about my metformin", (), "medications.diabetes"),
    ("should i take my blood pressure pills", (), "medications.blood_pressure"),
    ("can i take my usual meds", (), "medications.main"),
])
def test_medication_subtopics(kb_snapshot: KbSnapshot, text: str,
                              drugs: tuple[tuple[str, str], ...], key: str) -> None:
    chat = Conversation(kb_snapshot)
    chat.say(text, "ask_medications", drugs=drugs)
    assert chat.entries == [f"text.en.{key}"]


def test_a_blood_thinner_asked_as_a_medicine_question_gets_its_hold_rule(
        kb_snapshot: KbSnapshot) -> None:
    chat = Conversation(kb_snapshot, state=State(procedure_site="cervical"))
    chat.say("should i keep taking my eliquis", "ask_medications",
             drugs=(("eliquis", "apixaban"),))
    assert chat.entries == ["text.en.blood_thinners.rule_hold_days", "medication.apixaban"]


def test_illness_gives_the_screening_advice_it_names(kb_snapshot: KbSnapshot) -> None:
    chat = Conversation(kb_snapshot)
    chat.say("i have a pacemaker, is that a problem?", "report_illness")
    assert chat.entries == ["text.en.screening.cardiac_device"]
    plain = Conversation(kb_snapshot)
    plain.say("i feel a bit off", "report_illness")
    assert plain.entries == ["text.en.illness.main"]


def test_a_fact_without_a_question_is_acknowledged(kb_snapshot: KbSnapshot) -> None:
    chat = Conversation(kb_snapshot)
    chat.say("its my neck", "inform", sites=(("neck", "cervical"),))
    assert chat.entries == ["text.en.assistant.noted"]
    assert chat.state.procedure_site == "cervical"


def test_anxiety_is_reassured_and_offered_a_person(kb_snapshot: KbSnapshot) -> None:
    chat = Conversation(kb_snapshot)
    chat.say("im really nervous about being awake", "express_anxiety")
    assert chat.entries == ["text.en.anxiety.main"]
    human = kb_snapshot.text("label.human", "en")
    assert human is not None and human.item.short in chat.buttons


@pytest.mark.parametrize("language", LANGUAGES)
def test_tell_me_more_gives_the_detail_of_the_same_entry(kb_snapshot: KbSnapshot,
                                                         kb_content: KbContent,
                                                         language: str) -> None:
    chat = Conversation(kb_snapshot, language=language)
    chat.say(_question(kb_snapshot, kb_snapshot.registry.topic("risks"), language), "ask_risks")
    first = chat.entries
    more = chat.buttons[0]
    chat.say(more, "ask_more")
    assert chat.entries == first
    detail = next(t.entry.detail for t in kb_content.texts if t.id == first[0])
    assert detail is not None and detail.split("{", 1)[0][:30] in chat.reply


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("intent", sorted(CONVERSATION))
def test_conversation_intents_get_their_kb_text(kb_snapshot: KbSnapshot, kb_content: KbContent,
                                                intent: str, language: str) -> None:
    chat = Conversation(kb_snapshot, language=language)
    chat.say("hello", intent)
    assert chat.entries == [f"text.{language}.{CONVERSATION[intent]}"]
    _assert_well_formed(chat, kb_content, language)


async def test_the_action_answers_in_the_conversations_language(
        action_server: ActionServer, kb_content: KbContent) -> None:
    """Through the action server: the language slot picks the texts; the metadata carries
    every entry and source; the changed slots come back as events."""
    result = await action_server("action_respond", "¿puedo ir en taxi?", "ask_driver",
                                 slots={"language": "es"})
    [message] = result["responses"]
    assert message["kb_entries"] == ["text.es.driver.taxi.false"]
    source = next(t.entry.source for t in kb_content.texts if t.id == "text.es.driver.taxi.false")
    assert message["kb_sources"] == [source]
    assert [b["payload"] for b in message["buttons"]] == ["Más información"]
    assert slot_events(result["events"]) == {"last_topic": "driver",
                                            "last_key": "driver.taxi.false"}


async def test_without_a_language_the_clinic_default_is_used(action_server: ActionServer,
                                                             kb_content: KbContent) -> None:
    result = await action_server("action_respond", "can i take a taxi", "ask_driver")
    default = kb_content.clinic.default_language.value
    assert result["responses"][0]["kb_entries"] == [f"text.{default}.driver.taxi.false"]
