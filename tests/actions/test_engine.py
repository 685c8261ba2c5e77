"""The conversation engine on the shipped KB: follow-ups, corrections, several questions, short
answers, open questions that never loop, fallback, and safety of medicine answers."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import sessionmaker

from actions.conversation.engine import LONG_REPLY, SHORT_REPLY
from actions.kb.db import get_engine
from actions.kb.snapshot import KbSnapshot, build_snapshot
from tests.actions.conversation_harness import Conversation

SHORT = SHORT_REPLY  # two SMS segments


@pytest.fixture(scope="module")
def kb(kb_url: str) -> KbSnapshot:
    with sessionmaker(get_engine(kb_url))() as session:
        return build_snapshot(session)


@pytest.fixture
def chat(kb: KbSnapshot) -> Conversation:
    return Conversation(kb)


def test_fasting_answer_is_short_and_a_follow_up_about_water_is_the_water_answer(
        chat: Conversation) -> None:
    first = chat.say("when do i have to stop eating", "ask_fasting")
    assert len(first) <= SHORT and "6 hours" in first and "Tell me more" in chat.buttons
    water = chat.say("and water?", "ask_fasting", confidence=0.4)
    assert "water" in water.lower() and "2 hours" in water and "6 hours" not in water


def test_gum_gets_the_gum_answer_not_the_fasting_block(chat: Conversation) -> None:
    reply = chat.say("can i chew gum?", "ask_fasting")
    assert "gum" in reply.lower() and "fatty" not in reply.lower()
    assert chat.state.last_key == "fasting.gum.until_clear_liquids_cutoff"


def test_tell_me_more_gives_the_detail_of_the_last_answer(chat: Conversation) -> None:
    short = chat.say("can i have coffee in the morning", "ask_fasting")
    more = chat.say("tell me more", "ask_more")
    assert more and more != short


def test_a_blood_thinner_asks_the_site_then_answers_and_resumes(chat: Conversation) -> None:
    ask = chat.say("do i need to stop my eliquis", "ask_blood_thinners",
                   drugs=(("eliquis", "apixaban"),))
    assert "?" in ask and chat.buttons == ["Lower back", "Neck"]
    answer = chat.say("neck", "inform", sites=(("neck", "cervical"),))
    assert "apixaban" in answer and "3 days" in answer and "prescribed" in answer
    assert chat.state.procedure_site == "cervical" and chat.state.pending is None


def test_restart_follow_up_uses_the_drug_already_discussed(chat: Conversation) -> None:
    chat.say("I take Xarelto, it's the neck one, when do I stop?", "ask_blood_thinners",
             drugs=(("xarelto", "rivaroxaban"),), sites=(("neck", "cervical"),))
    restart = chat.say("and when can I restart?", "ask_blood_thinners", confidence=0.5)
    assert "rivaroxaban" in restart and "24 hours" in restart


def test_a_correction_replaces_the_drug_everywhere(chat: Conversation) -> None:
    chat.say("I take Eliquis, neck procedure", "ask_blood_thinners",
             drugs=(("eliquis", "apixaban"),), sites=(("neck", "cervical"),))
    reply = chat.say("sorry, it's Xarelto not Eliquis", "inform",
                     drugs=(("xarelto", "rivaroxaban"), ("eliquis", "apixaban")))
    assert "rivaroxaban" in reply and "apixaban" not in reply.lower()
    assert chat.state.medications_taken == ("rivaroxaban",)


def test_inr_is_only_for_warfarin(chat: Conversation) -> None:
    warfarin = chat.say("I'm on warfarin, neck procedure", "ask_blood_thinners",
                        drugs=(("warfarin", "warfarin"),), sites=(("neck", "cervical"),))
    assert "INR" in warfarin
    eliquis = chat.say("and my eliquis?", "ask_blood_thinners", drugs=(("eliquis", "apixaban"),))
    assert "INR" not in eliquis


def test_the_prescriber_who_forbids_stopping_is_respected(chat: Conversation) -> None:
    reply = chat.say("my cardiologist told me i must never stop the clopidogrel because of "
                     "the stent", "ask_blood_thinners", drugs=(("clopidogrel", "clopidogrel"),))
    assert "7 days" not in reply and "stop" in reply.lower()


def test_a_draft_medicine_never_steers_the_answer(chat: Conversation) -> None:
    reply = chat.say("do i keep taking my sertraline", "ask_medications",
                     drugs=(("sertraline", "sertraline"),))
    assert "+1 555 010 0100" in reply and "Keep taking your usual medicines" not in reply


def test_two_questions_in_one_message_are_both_answered_in_order(chat: Conversation) -> None:
    chat.say("do i need to fast and do i need a driver?", "ask_fasting",
             topics=("ask_fasting", "ask_driver"))
    assert chat.last is not None and chat.last.topics == ["fasting", "driver"]
    assert len(chat.reply) <= LONG_REPLY


def test_a_plan_question_never_loops(chat: Conversation) -> None:
    chat.say("what's my plan?", "ask_plan")
    assert chat.state.pending is not None and chat.state.pending.ask == "appointment"
    chat.say("hmm", "nlu_fallback", confidence=0.2)
    second = chat.say("err not sure", "nlu_fallback", confidence=0.2)
    assert "+1 555 010 0100" in second  # explains what it needs, offers a way out
    left = chat.say("blah", "nlu_fallback", confidence=0.2)
    assert chat.state.pending is None and left


def test_asking_something_else_leaves_the_open_question(chat: Conversation) -> None:
    chat.say("what's my plan?", "ask_plan")
    reply = chat.say("can i drink coffee?", "ask_fasting")
    assert "coffee" in reply.lower() and chat.state.pending is None


def test_the_second_miss_offers_a_person(chat: Conversation) -> None:
    first = chat.say("asdf qwerty", "nlu_fallback", confidence=0.1,
                     ranking=(("ask_fasting", 0.1), ("ask_driver", 0.05)))
    assert chat.buttons[:2] == ["Eating and drinking", "Getting home"] and first
    second = chat.say("zzz", "nlu_fallback", confidence=0.1)
    assert "+1 555 010 0100" in second and chat.buttons == ["Talk to a person"]


def test_every_reply_names_its_kb_entries(chat: Conversation) -> None:
    chat.say("how will i lie on the table", "ask_positioning")
    chat.say("lower back", "inform", sites=(("lower back", "lumbar"),))
    assert chat.entries and all(e.startswith("text.") or e.startswith("medication.")
                                for e in chat.entries)
