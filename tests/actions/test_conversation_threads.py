"""The conversation keeps the thread: several answers per message within the length budget,
follow-ups resolved against the last answer, corrections, appointment facts, the language of
the conversation, unclear messages and the KB answers added for them.

One test per behaviour, in the wording of these tests (never an evaluation message). The
Spanish ones run on the Spanish example clinic (+34 phone, 24-hour clock, 112).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from actions.conversation.engine import LONG_REPLY, SHORT_REPLY
from actions.conversation.language import kept_language, started_in
from actions.conversation.turn import State
from actions.kb.builder import build_database
from actions.kb.loader import load_kb
from actions.kb.snapshot import KbSnapshot, build_snapshot
from tests.actions.conversation_harness import Conversation

REPO = Path(__file__).resolve().parents[2]
SHORT, LONG = SHORT_REPLY, LONG_REPLY  # two and three SMS segments
# Tue 1 Dec 2026, 10:00 in Barcelona
NOW_ES = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def kb_es(tmp_path_factory: pytest.TempPathFactory) -> KbSnapshot:
    """The shipped KB with the Spanish example clinic."""
    content, problems = load_kb(REPO / "data" / "kb", "es_barcelona_example")
    assert content is not None, problems
    url = f"sqlite:///{tmp_path_factory.mktemp('kb_es') / 'kb.sqlite3'}"
    build_database(content, create_engine(url), "data/kb")
    with sessionmaker(create_engine(url))() as session:
        return build_snapshot(session)


@pytest.fixture
def chat(kb_snapshot: KbSnapshot) -> Conversation:
    return Conversation(kb_snapshot)


@pytest.fixture
def charla(kb_es: KbSnapshot) -> Conversation:
    return Conversation(kb_es, language="es", now=NOW_ES)


def keys(talk: Conversation) -> list[str]:
    """The text keys behind the last reply, in order (language prefix removed)."""
    return [e.split(".", 2)[2] for e in talk.entries if e.startswith("text.")]


# ---------------------------------------------------------------- several questions (class 1)
def test_two_questions_on_one_topic_are_both_answered_in_order(chat: Conversation) -> None:
    reply = chat.say("could i just get the bus back? and how long until i can drive",
                     "ask_driver", confidence=0.99)
    assert keys(chat) == ["driver.taxi.false", "driver.drive_again"]
    assert "adult" in reply and "24 hours" in reply and len(reply) <= LONG


def test_a_question_part_without_a_cue_gets_the_general_answer(chat: Conversation) -> None:
    reply = chat.say("when will i notice a difference and how many months of relief is normal?",
                     "ask_effectiveness")
    assert keys(chat) == ["effectiveness.onset", "effectiveness.main"]
    assert "week" in reply and "month" in reply and len(reply) <= LONG


def test_nails_and_clothes_in_one_message(chat: Conversation) -> None:
    reply = chat.say("do my gel nails have to come off? and is a tracksuit ok to wear?",
                     "ask_what_to_bring")
    assert keys(chat) == ["what_to_bring.nails", "what_to_bring.clothes"]
    assert "nail" in reply.lower() and "loose" in reply and len(reply) <= LONG


def test_an_either_or_question_is_one_question(chat: Conversation) -> None:
    chat.say("will they knock me out or is it just a bit of sedation?", "ask_sedation")
    assert keys(chat) == ["sedation.general"] and len(chat.reply) <= SHORT


def test_a_question_part_about_another_topic_is_answered_too(chat: Conversation) -> None:
    reply = chat.say("I'm booked for the lower back. Do I have to fast from midnight, and can "
                     "I still take my amlodipine that morning?", "ask_fasting")
    assert chat.last is not None and chat.last.topics == ["fasting", "medications"]
    assert "sip" in reply and len(reply) <= LONG


def test_two_nouns_joined_by_and_are_one_question(chat: Conversation) -> None:
    chat.say("can I have toast and a black coffee in the morning?", "ask_fasting")
    assert len(keys(chat)) == 1


# ---------------------------------------------------------------- length budget (class 2)
def test_a_part_that_asks_nothing_adds_no_topic(chat: Conversation) -> None:
    text = ("My heart doctor says I can never come off my Brilinta. It's my neck being done. "
            "So what now?")
    reply = chat.say(text, "ask_blood_thinners", drugs=(("brilinta", "ticagrelor"),),
                     sites=(("neck", "cervical"),),
                     parts=(("ask_blood_thinners", "My heart doctor says I can never come off "
                                                   "my Brilinta"),
                            ("ask_procedure_steps", "So what now")),
                     ranking=(("ask_blood_thinners", 0.99), ("ask_procedure_steps", 0.001)))
    assert keys(chat) == ["blood_thinners.prescriber_forbids"] and len(reply) <= SHORT


def test_a_statement_read_as_a_second_question_is_not_answered(chat: Conversation) -> None:
    text = "what if I can't stay on my front that long? I have asthma"
    chat.say(text, "ask_positioning", parts=(("ask_positioning", "what if I can't stay on my "
                                                                 "front that long"),
                                             ("ask_eligibility", "I have asthma")),
             ranking=(("ask_positioning", 0.98), ("ask_eligibility", 0.01)))
    assert chat.last is not None and chat.last.topics == ["positioning"]


def test_a_drug_the_patient_came_off_is_not_planned(chat: Conversation) -> None:
    text = "I'm on Clexane shots now (came off warfarin) for the low back one. Last shot when?"
    reply = chat.say(text, "ask_blood_thinners",
                     drugs=(("clexane", "enoxaparin"), ("warfarin", "warfarin")),
                     sites=(("low back", "lumbar"),))
    assert "enoxaparin" in reply and "warfarin" not in reply and len(reply) <= SHORT
    assert chat.state.medications_taken == ("enoxaparin",)


def test_a_blood_thinner_answer_leaves_other_medicines_to_a_quick_reply(
        chat: Conversation) -> None:
    chat.state = State(procedure_site="lumbar")
    reply = chat.say("I'm on eliquis and metformin", "ask_blood_thinners",
                     drugs=(("eliquis", "apixaban"), ("metformin", "metformin")))
    assert "apixaban" in reply and "metformin" not in reply and len(reply) <= SHORT
    assert "What about metformin?" in chat.buttons


# ---------------------------------------------------------------- follow-ups (class 3)
def test_the_gp_passing_the_question_on_gets_who_decides(chat: Conversation) -> None:
    chat.say("do I stop my xarelto for a lower back one?", "ask_blood_thinners",
             drugs=(("xarelto", "rivaroxaban"),), sites=(("lower back", "lumbar"),))
    reply = chat.say("my family doctor told me to check with you lot", "ask_logistics",
                     confidence=0.25)
    assert keys(chat) == ["blood_thinners.who_decides"] and "+1 555 010 0100" in reply


def test_stop_or_not_after_the_prescriber_answer_repeats_it(chat: Conversation) -> None:
    chat.say("my cardiologist won't let me stop the plavix", "ask_blood_thinners",
             drugs=(("plavix", "clopidogrel"),))
    first = chat.reply
    again = chat.say("ok but should I keep taking it or not", "deny", confidence=0.6)
    assert again == first and keys(chat) == ["blood_thinners.prescriber_forbids"]


def test_whether_a_young_driver_counts_stays_on_the_driver_topic(chat: Conversation) -> None:
    chat.say("do I need a lift home?", "ask_driver")
    reply = chat.say("she is 17 with a provisional licence, is that enough", "ask_eligibility",
                     confidence=0.3)
    assert keys(chat) == ["driver.who_counts"] and "adult" in reply


def test_a_short_question_about_it_stays_on_the_last_answer(chat: Conversation) -> None:
    chat.say("the needle spots feel sore and a bit burny, is that normal", "ask_recovery")
    assert chat.state.last_key == "recovery.soreness"
    reply = chat.say("how long does that go on", "ask_effectiveness", confidence=0.98)
    assert keys(chat) == ["recovery.soreness"] and "week" in reply


def test_who_decides_in_spanish_after_sintrom(charla: Conversation) -> None:
    charla.say("mi padre toma sintrom, es para la zona lumbar, ¿lo deja?", "ask_blood_thinners",
               drugs=(("sintrom", "acenocoumarol"),), sites=(("zona lumbar", "lumbar"),))
    reply = charla.say("y eso quién se lo dice, ¿su médico de cabecera o la clínica?",
                       "ask_driver", confidence=0.2)
    assert keys(charla) == ["blood_thinners.who_decides"] and "+34 930 000 000" in reply


def test_another_site_asked_about_is_answered_but_not_kept(charla: Conversation) -> None:
    charla.say("¿tengo que dejar la aspirina? me lo hacen en la zona lumbar",
               "ask_blood_thinners", drugs=(("aspirina", "aspirin"),),
               sites=(("zona lumbar", "lumbar"),))
    reply = charla.say("¿y si fuera en el cuello?", "inform", confidence=0.4,
                       sites=(("cuello", "cervical"),))
    assert "cuello" in reply and "recet" in reply
    assert charla.state.procedure_site == "lumbar"


def test_a_site_correction_answers_the_last_topic_again(charla: Conversation) -> None:
    charla.say("¿cómo me tumban para la zona lumbar?", "ask_positioning",
               sites=(("zona lumbar", "lumbar"),))
    charla.say("¿y si no puedo estar mucho rato así?", "ask_positioning")
    reply = charla.say("perdone, me equivoqué: es en el cuello, no en la lumbar", "inform",
                       sites=(("cuello", "cervical"), ("lumbar", "lumbar")))
    assert charla.state.procedure_site == "cervical"
    assert any(k.startswith("positioning.main") for k in keys(charla)) and reply


def test_restart_uses_the_drug_restart_time_when_the_prescriber_decides(
        charla: Conversation) -> None:
    charla.say("tomo eliquis, es la lumbar", "ask_blood_thinners",
               drugs=(("eliquis", "apixaban"),), sites=(("lumbar", "lumbar"),))
    reply = charla.say("¿y después cuándo vuelvo a tomarlo?", "ask_recovery", confidence=0.8)
    assert keys(charla) == ["blood_thinners.restart_rule"] and "24 horas" in reply


# ---------------------------------------------------------------- appointment (class 4)
def test_a_time_alone_gives_clock_times_and_survives_a_language_switch(
        charla: Conversation) -> None:
    reply = charla.say("¿a qué hora tengo que llegar? me han citado a las 10:00",
                       "ask_logistics")
    assert "09:30" in reply and charla.state.procedure_start is None
    charla.language = "en"  # the safety gate switches the conversation before the engine
    charla.say("English please", "inform")
    assert "English" in charla.reply and "09:30" in charla.reply  # the last answer again
    reply = charla.say("and how late can I drink water?", "ask_fasting")
    assert "07:30" in reply


def test_next_weekday_is_answered_with_the_date_stated(chat: Conversation) -> None:
    reply = chat.say("lower back, next thursday at 9am", "inform",
                     sites=(("lower back", "lumbar"),))
    assert "Just to check" not in reply and "Dec 3" in reply
    assert chat.state.procedure_start is not None and chat.state.pending is None


def test_a_day_in_a_question_about_something_else_is_not_the_appointment(
        charla: Conversation) -> None:
    reply = charla.say("¿abrís el sábado por la mañana?", "ask_logistics", confidence=0.4)
    assert "08:00" in reply and charla.state.appointment_candidate is None


def test_the_checklist_names_the_hold_and_who_decides(chat: Conversation) -> None:
    chat.say("what's my plan?", "ask_plan")
    reply = chat.say("neck, december 11 at 8am, eliquis, my husband is driving", "inform",
                     drugs=(("eliquis", "apixaban"),), sites=(("neck", "cervical"),))
    assert "7:30 am" in reply and "3 days before" in reply and "prescribed" in reply
    assert chat.state.has_driver is True
    chat.say("sorry, it's december 4 not the 11th", "inform")  # now the pause has started
    assert "(3 days) has started" in chat.reply


def test_a_carer_asking_for_the_list_with_all_facts_gets_the_plan(charla: Conversation) -> None:
    text = ("¿me haces la lista de lo que tiene que hacer mi madre? lumbar, el jueves que "
            "viene a las 11:00, toma adiro, la llevo yo")
    reply = charla.say(text, "inform", confidence=0.6, drugs=(("adiro", "aspirin"),),
                       sites=(("lumbar", "lumbar"),))
    assert keys(charla)[0] == "plan.checklist_header" and "10:30" in reply


# ---------------------------------------------------------------- Spanish facts (class 5)
def test_kidneys_are_not_the_lower_back(charla: Conversation) -> None:
    text = "tomo pradaxa, tengo los riñones regular y la rizolisis es en el cuello"
    reply = charla.say(text, "ask_blood_thinners", confidence=0.5,
                       drugs=(("pradaxa", "dabigatran"),),
                       sites=(("riñones", "lumbar"), ("cuello", "cervical")))
    assert charla.state.procedure_site == "cervical" and charla.state.renal_impaired is True
    assert "4 días" in reply and "6 días" in reply


def test_a_spanish_conversation_stays_spanish(kb_es: KbSnapshot) -> None:
    registry = kb_es.registry
    assert kept_language(registry, "¿y la insulina? soy diabético", "en", "es") == "es"
    assert kept_language(registry, "and what about my insulin?", "en", "es") == "en"
    assert kept_language(registry, "in english please", "en", "es") == "en"
    assert started_in({"session_started_metadata": {"language": "es"}}) == "es"
    assert started_in({"session_started_metadata": "es"}) == ""


def test_metformin_gets_the_diabetes_answer_in_spanish(charla: Conversation) -> None:
    reply = charla.say("¿y la metformina?", "ask_medications",
                       drugs=(("metformina", "metformin"),))
    assert keys(charla) == ["medications.diabetes"] and "clínica" in reply


@pytest.mark.parametrize(("word", "name"), [("mounjaro", "Mounjaro"), ("iscover", "Iscover")])
def test_unconfirmed_brands_are_recognised_and_sent_to_the_clinic(
        chat: Conversation, word: str, name: str) -> None:
    reply = chat.say(f"do I keep taking my {word}?", "ask_medications", drugs=((word, word),))
    assert name in reply and "+1 555 010 0100" in reply
    assert "Ozempic" not in reply and "clopidogrel" not in reply and "days" not in reply


def test_opening_hours_asked_in_spanish(charla: Conversation) -> None:
    charla.say("¿a qué hora abre la clínica?", "ask_logistics", confidence=0.4)
    assert keys(charla) == ["logistics.hours"]


# ---------------------------------------------------------------- KB answers (class 6)
@pytest.mark.parametrize(("text", "intent", "key"), [
    ("isn't this the same as the cortisone jab i had?", "ask_procedure_info",
     "procedure_info.vs_steroid"),
    ("can I keep my contact lenses in?", "ask_what_to_bring", "what_to_bring.glasses"),
    ("do my earrings have to come out?", "ask_what_to_bring", "what_to_bring.jewellery"),
    ("how many hours will the block's numbing wear off in?", "ask_diagnostic_block",
     "diagnostic_block.duration"),
])
def test_new_answers_are_reached_by_their_words(chat: Conversation, text: str, intent: str,
                                                key: str) -> None:
    chat.say(text, intent)
    assert keys(chat) == [key] and len(chat.reply) <= SHORT


def test_numbness_afterwards_is_reached_from_a_risks_question(chat: Conversation) -> None:
    reply = chat.say("what do I do if my legs go numb once I'm home?", "ask_risks",
                     confidence=0.7, ranking=(("ask_risks", 0.7), ("ask_recovery", 0.2)))
    assert keys(chat) == ["recovery.numbness"] and "hours" in reply


def test_tell_me_more_after_clock_times_lists_the_clear_drinks(chat: Conversation) -> None:
    chat.say("my appointment is at 3pm tomorrow, can I have lunch?", "ask_fasting")
    more = chat.say("tell me more", "ask_more")
    assert "apple juice" in more and "black tea" in more


def test_out_of_hours_urgent_text_never_says_call_the_emergency_number_now(
        kb_snapshot: KbSnapshot, kb_es: KbSnapshot) -> None:
    for kb, language in ((kb_snapshot, "en"), (kb_es, "es")):
        served = kb.text("triage.urgent_out_of_hours", language)
        assert served is not None
        text = served.item.short
        assert "{emergency_number} now" not in text and "ya al {emergency_number}" not in text
        assert "{emergency_number}" in text


def test_the_spanish_procedure_description_says_it_uses_heat(kb_es: KbSnapshot) -> None:
    served = kb_es.text("procedure_info.main", "es")
    assert served is not None and "radiofrecuencia" in served.item.short


# ---------------------------------------------------------------- unclear (class 7), driver (8)
def test_a_message_that_names_nothing_is_not_answered_with_a_guess(chat: Conversation) -> None:
    reply = chat.say("that thingy u said earlier??", "ask_fasting", confidence=0.7,
                     ranking=(("ask_fasting", 0.7), ("ask_driver", 0.1)))
    assert chat.state.misses == 1 and "?" in reply and chat.buttons


def test_an_unsure_intent_without_its_words_is_not_answered(chat: Conversation) -> None:
    chat.say("hmm and the other bit", "ask_sedation", confidence=0.4,
             ranking=(("ask_sedation", 0.4), ("ask_logistics", 0.2)))
    assert chat.state.misses == 1


def test_an_unsure_intent_with_its_words_is_answered(chat: Conversation) -> None:
    chat.say("will i be sedated", "ask_sedation", confidence=0.45)
    assert chat.state.last_topic == "sedation" and chat.state.misses == 0


def test_naming_the_driver_is_noted(chat: Conversation) -> None:
    chat.say("lower back, next tuesday 10am", "inform", sites=(("lower back", "lumbar"),))
    reply = chat.say("my brother will drive me home", "inform", confidence=0.95)
    assert chat.state.has_driver is True and keys(chat) == ["driver.confirmed"] and reply
    chat.say("nobody can drive me though", "inform")
    assert keys(chat) != ["driver.confirmed"]


def test_answering_the_plan_question_with_a_time_continues_the_plan(chat: Conversation) -> None:
    chat.say("can you do my checklist", "ask_plan")
    chat.say("it's on the 9th at 1pm", "inform")  # "1pm" is also a fasting cue word
    assert chat.state.pending is not None and chat.state.pending.ask == "site"
    chat.say("my neck", "inform", sites=(("neck", "cervical"),))
    reply = chat.say("none", "inform")
    assert keys(chat)[0] == "plan.checklist_header" and "12:30 pm" in reply


def test_two_drugs_are_both_answered_before_any_general_text(chat: Conversation) -> None:
    reply = chat.say("I'm on naproxen and aspirin, it's for the lower back", "ask_blood_thinners",
                     drugs=(("naproxen", "naproxen"), ("aspirin", "aspirin")),
                     sites=(("lower back", "lumbar"),))
    assert "naproxen" in reply and "aspirin" in reply and len(reply) <= LONG
    assert not chat.buttons or "What about aspirin?" not in chat.buttons


def test_a_drug_corrected_while_the_site_is_asked_is_the_one_answered(
        charla: Conversation) -> None:
    charla.say("tomo eliquis", "ask_blood_thinners", drugs=(("eliquis", "apixaban"),))
    charla.say("perdón, me he confundido, es xarelto", "inform",
               drugs=(("xarelto", "rivaroxaban"),))
    reply = charla.say("en el cuello", "inform", sites=(("cuello", "cervical"),))
    assert "rivaroxabán" in reply and "apixabán" not in reply


def test_a_very_short_question_leans_on_the_last_answer(charla: Conversation) -> None:
    charla.say("¿hay que llegar antes de la hora?", "ask_logistics")
    charla.say("¿cuánto antes?", "ask_fasting", confidence=0.3)
    assert keys(charla) == ["logistics.main"]


def test_why_after_an_answer_gives_its_detail(chat: Conversation) -> None:
    chat.say("how will I lie? it's my lower back", "ask_positioning",
             sites=(("lower back", "lumbar"),))
    chat.say("why?", "ask_blood_thinners", confidence=0.5)
    assert chat.last is not None and chat.state.last_topic == "positioning"
    assert chat.last.messages and chat.last.messages[0].entries[0].endswith(
        "positioning.main.face_down")


# ---------------------------------------------------------------- follow-ups, carers, leaving
def opening(talk: Conversation, key: str) -> str:
    """The start of a KB text (up to its first placeholder), as the reply must contain it."""
    served = talk.kb.text(key, talk.language)
    assert served is not None, key
    return served.item.short.split("{", 1)[0][:25]


def test_forgetting_after_a_blood_thinner_answer_gets_the_missed_dose_answer(
        chat: Conversation, charla: Conversation) -> None:
    for talk, first, forget in (
            (chat, "do i have to come off my eliquis, it's the lower back", "what if i forget?"),
            (charla, "¿tengo que dejar el eliquis? es la lumbar", "¿y si se me olvida?")):
        talk.say(first, "ask_blood_thinners", drugs=(("eliquis", "apixaban"),),
                 sites=(("lower back" if talk is chat else "lumbar", "lumbar"),))
        reply = talk.say(forget, "deny", confidence=0.3)  # read as "no" or as blood thinners
        assert keys(talk) == ["blood_thinners.missed_dose"]
        assert opening(talk, "blood_thinners.missed_dose") in reply


def test_other_tablets_after_a_blood_thinner_answer_get_the_usual_medicines_answer(
        chat: Conversation) -> None:
    chat.say("do i have to come off my eliquis, it's the lower back", "ask_blood_thinners",
             drugs=(("eliquis", "apixaban"),), sites=(("lower back", "lumbar"),))
    reply = chat.say("what about my other tablets?", "ask_medications", confidence=0.97)
    assert keys(chat) == ["medications.main"] and opening(chat, "medications.main") in reply


def test_other_tablets_without_a_blood_thinner_get_the_usual_medicines_answer(
        chat: Conversation, charla: Conversation) -> None:
    for talk, text in ((chat, "what about my other tablets?"),
                       (charla, "¿y las otras pastillas?")):
        reply = talk.say(text, "ask_medications")
        assert keys(talk) == ["medications.main"] and opening(talk, "medications.main") in reply


def test_and_for_him_after_an_answer_gives_the_same_answer(
        chat: Conversation, charla: Conversation) -> None:
    for talk, first, other in ((chat, "when do i stop eating the night before", "and for him?"),
                               (charla, "¿cuándo dejo de comer?", "¿y para él?")):
        talk.say(first, "ask_fasting")
        assert keys(talk) == ["fasting.main"]
        reply = talk.say(other, "inform", confidence=0.5)
        assert keys(talk) == ["fasting.main"] and opening(talk, "fasting.main") in reply


def test_another_site_asked_about_in_english_is_answered_but_not_kept(
        chat: Conversation) -> None:
    chat.say("do i have to come off my eliquis, it's the lower back", "ask_blood_thinners",
             drugs=(("eliquis", "apixaban"),), sites=(("lower back", "lumbar"),))
    reply = chat.say("what about the neck one?", "inform", confidence=0.3,
                     sites=(("neck", "cervical"),))
    assert "neck" in reply and "apixaban" in reply
    assert chat.state.procedure_site == "lumbar"


def test_two_drugs_in_spanish_are_both_answered(charla: Conversation) -> None:
    reply = charla.say("tomo adiro y a veces ibuprofeno, es la lumbar", "ask_blood_thinners",
                       drugs=(("adiro", "aspirin"), ("ibuprofeno", "ibuprofen")),
                       sites=(("lumbar", "lumbar"),))
    for drug in ("aspirin", "ibuprofen"):
        med = charla.kb.medication(drug)
        assert med is not None, drug
        assert med.generic_names.get("es", med.generic).lower() in reply.lower(), drug
    assert len(reply) <= LONG


def test_a_carer_naming_a_drug_is_asked_the_site_then_answered(
        chat: Conversation, charla: Conversation) -> None:
    for talk, text, drug, site in (
            (chat, "my dad is 84 and on warfarin", "warfarin", "lower back"),
            (charla, "mi padre tiene 84 años y toma sintrom", "sintrom", "lumbar")):
        value = "warfarin" if drug == "warfarin" else "acenocoumarol"
        talk.say(text, "ask_blood_thinners", confidence=0.6, drugs=((drug, value),))
        assert keys(talk) == ["question.site_for_drug"]
        reply = talk.say(site, "inform", sites=((site, "lumbar"),))
        assert keys(talk)[0].startswith("blood_thinners.") and "INR" in reply
        assert talk.state.medications_taken == (value,)


@pytest.mark.parametrize("when", ["thursday at 9.30", "thursday at half nine"])
def test_a_time_in_a_common_form_continues_the_plan(chat: Conversation, when: str) -> None:
    chat.say("whats my plan", "ask_plan")
    chat.say(when, "inform")
    assert chat.state.pending is not None and chat.state.pending.ask == "site"
    chat.say("lower back", "inform", sites=(("lower back", "lumbar"),))
    reply = chat.say("none", "inform")
    assert keys(chat)[0] == "plan.checklist_header" and "Dec 3, 9:30 am" in reply


def test_a_time_in_a_common_form_continues_the_plan_in_spanish(charla: Conversation) -> None:
    charla.say("dame mi plan", "ask_plan")
    charla.say("el jueves a las nueve y media", "inform")
    assert charla.state.pending is not None and charla.state.pending.ask == "site"
    charla.say("lumbar", "inform", sites=(("lumbar", "lumbar"),))
    reply = charla.say("ninguno", "inform")
    assert keys(charla)[0] == "plan.checklist_header" and "9:30" in reply


def test_first_thing_is_read_and_checked(chat: Conversation) -> None:
    chat.say("whats my plan", "ask_plan")
    reply = chat.say("thursday first thing", "inform")
    assert keys(chat) == ["question.confirm_date"] and "Dec 3" in reply
    assert opening(chat, "question.confirm_date") in reply


def test_stop_leaves_the_plan_question(chat: Conversation, charla: Conversation) -> None:
    for talk, ask, leave in ((chat, "whats my plan", "stop"), (charla, "dame mi plan", "déjalo"),
                             (charla, "dame mi plan", "olvídalo")):
        talk.say(ask, "ask_plan")
        assert talk.state.pending is not None
        reply = talk.say(leave, "deny")
        assert talk.state.pending is None and keys(talk) == ["question.left"]
        assert opening(talk, "question.left") in reply


def test_forget_it_leaves_the_plan_question(chat: Conversation) -> None:
    chat.say("whats my plan", "ask_plan")
    reply = chat.say("forget it", "deny")
    assert chat.state.pending is None and keys(chat) == ["question.left"]
    assert opening(chat, "question.left") in reply


def test_the_spanish_acceptance_conversation_carries_on_through_the_plan(
        charla: Conversation) -> None:
    """Issue 14: the Sintrom question with the day, then the time alone, then the plan."""
    first = charla.say("hola, tengo la rizolisis lumbar el martes y tomo Sintrom, ¿cuándo lo dejo?",
                       "ask_blood_thinners", drugs=(("Sintrom", "acenocoumarol"),),
                       sites=(("lumbar", "lumbar"),))
    assert keys(charla)[0].startswith("blood_thinners.") and "INR" in first
    charla.say("a las 9:30", "inform", confidence=0.6)
    assert charla.state.procedure_start is not None and "T09:30" in charla.state.procedure_start
    plan = charla.say("¿cuál es mi plan?", "ask_plan")
    assert "9:30" in plan and "acenocumarol" in plan.lower()


# ---------------------------------------------------------------- second dev suites' lessons
def test_a_plan_request_that_names_a_drug_gets_the_checklist(chat: Conversation) -> None:
    """The drugs named with the plan are the medicines answer; the checklist has their line."""
    reply = chat.say("need my checklist, its thursday at 10am, lower back, im on xarelto",
                     "ask_blood_thinners", drugs=(("xarelto", "rivaroxaban"),),
                     sites=(("lower back", "lumbar"),))
    assert keys(chat)[0] == "plan.checklist_header"
    assert "plan.checklist_fasting" in keys(chat) and "9:30 am" in reply  # arrival
    assert "medication.rivaroxaban" in chat.entries and chat.state.pending is None


def test_the_plan_gives_its_times_before_asking_about_medicines(chat: Conversation) -> None:
    chat.say("can you give me a timeline, its thursday at 10am, lower back", "ask_plan",
             sites=(("lower back", "lumbar"),))
    assert keys(chat)[-1] == "question.medication_short"  # the short form after the times
    assert keys(chat)[:3] == ["plan.checklist_header", "plan.checklist_arrival",
                              "plan.checklist_fasting"]


def test_kidneys_said_after_a_dabigatran_answer_answer_it_again(chat: Conversation) -> None:
    chat.say("its my neck, on december 17 at 10am, and i take pradaxa", "ask_blood_thinners",
             drugs=(("pradaxa", "dabigatran"),), sites=(("neck", "cervical"),))
    assert "plan.kidney_unknown" in keys(chat)
    chat.say("my kidneys are fine as far as i know", "ask_effectiveness", confidence=0.4)
    assert chat.state.renal_impaired is False
    assert "plan.kidney_unknown" not in keys(chat) and "plan.last_dose_before" in keys(chat)


def test_driving_yourself_home_has_its_own_answer_and_follow_up(chat: Conversation) -> None:
    reply = chat.say("can i drive myself home afterwards", "ask_driver")
    assert keys(chat) == ["driver.drive_home.true"] and reply.startswith("No.")
    chat.say("and for him?", "inform", confidence=0.5)
    assert keys(chat) == ["driver.drive_home.true"]


def test_the_dated_drug_line_names_the_usual_pause(chat: Conversation) -> None:
    reply = chat.say("i take eliquis and its my neck, next thursday at 10am",
                     "ask_blood_thinners", drugs=(("eliquis", "apixaban"),),
                     sites=(("neck", "cervical"),))
    rule = chat.kb.medication("apixaban")
    assert rule is not None
    days = rule.rule_for("intermediate")
    assert days is not None and f"{days.hold_days} days" in reply


def test_a_drug_not_stopped_stays_in_the_plan(chat: Conversation) -> None:
    """"haven't stopped it" is no "stopped": the drug must stay in the patient's medicines."""
    chat.say("need my plan for december 17 at 10am, neck, i'm on eliquis twice a day and "
             "haven't stopped it", "ask_plan", drugs=(("eliquis", "apixaban"),),
             sites=(("neck", "cervical"),))
    assert chat.state.medications_taken == ("apixaban",)
    assert "medication.apixaban" in chat.entries
    chat.say("i stopped taking the eliquis", "inform", drugs=(("eliquis", "apixaban"),))
    assert chat.state.medications_taken == ()


def test_a_carer_asking_for_someone_on_the_same_drug_gets_the_drug_answer(
        charla: Conversation) -> None:
    charla.say("tomo xarelto y me lo hacen en el cuello", "ask_blood_thinners",
               drugs=(("xarelto", "rivaroxaban"),), sites=(("cuello", "cervical"),))
    reply = charla.say("y para él? a mi marido se lo hacen en la lumbar y toma lo mismo que yo",
                       "ask_recovery", confidence=0.7, sites=(("lumbar", "lumbar"),))
    assert keys(charla)[0].startswith(("blood_thinners.", "plan.")) and "rivaroxab" in reply


def test_asking_how_long_to_come_off_a_drug_keeps_it(chat: Conversation) -> None:
    """A question about stopping is no statement that the patient stopped."""
    chat.say("coumadin, cervical. how long do i come off it?", "ask_blood_thinners",
             drugs=(("coumadin", "warfarin"),), sites=(("cervical", "cervical"),))
    assert chat.state.medications_taken == ("warfarin",)
    reply = chat.say("and restart?", "ask_more", confidence=0.3)  # as the NLU reads it
    assert "warfarin" in reply and "6 hours" in reply


def test_a_day_named_in_passing_with_a_site_correction_is_no_appointment(
        chat: Conversation) -> None:
    chat.say("do i stop xarelto before my back one", "ask_blood_thinners",
             drugs=(("xarelto", "rivaroxaban"),), sites=(("back", "lumbar"),))
    reply = chat.say("no wait, its my neck not my back. brain fog today, sorry", "inform",
                     sites=(("neck", "cervical"),))
    assert chat.state.procedure_site == "cervical" and chat.state.appointment_candidate is None
    assert "rivaroxaban" in reply.lower() and "3 days" in reply


# ---------------------------------------------------------------- round-6 dev behaviours
def test_the_medicines_question_after_the_general_answer_stays_within_budget(
        chat: Conversation) -> None:
    reply = chat.say("do i have to come off my blood thinner", "ask_blood_thinners")
    assert keys(chat) == ["blood_thinners.main", "question.medication_short"]
    assert len(reply) <= SHORT and chat.state.pending is not None


def test_someone_staying_during_the_procedure_is_asked_of_the_clinic(chat: Conversation) -> None:
    reply = chat.say("could my husband come in with me while they do it", "ask_logistics",
                     confidence=0.5)
    assert keys(chat) == ["logistics.companion"] and "555 010 0100" in reply


def test_forgetting_to_mention_a_drug_is_no_missed_dose(chat: Conversation) -> None:
    chat.say("its my neck", "inform", sites=(("neck", "cervical"),))
    chat.say("oh and i forgot to mention i take eliquis", "ask_blood_thinners",
             drugs=(("eliquis", "apixaban"),))
    assert "blood_thinners.missed_dose" not in keys(chat)
    assert chat.state.medications_taken == ("apixaban",)
    chat.say("i forgot my eliquis this morning, is that bad", "ask_blood_thinners",
             drugs=(("eliquis", "apixaban"),))
    assert keys(chat) == ["blood_thinners.missed_dose"]


def test_more_about_a_named_topic_gives_that_topics_detail(chat: Conversation) -> None:
    chat.say("will i be knocked out? and how long does the whole thing take",
             "ask_sedation", topics=("ask_sedation", "ask_logistics"))
    assert chat.state.last_topic == "logistics"
    chat.say("more about the sedation bit please", "ask_more")
    shown = [e for e in chat.entries if e.startswith("text.")]
    assert len(shown) == 1 and shown[0].startswith("text.en.sedation.main")


def test_a_site_correction_after_the_plan_gives_the_plan_again(chat: Conversation) -> None:
    chat.say("can i have my plan, next thursday at 8am, its my neck", "ask_plan",
             sites=(("neck", "cervical"),))
    chat.say("none", "deny")
    reply = chat.say("sorry, its my lower back not my neck", "inform",
                     sites=(("lower back", "lumbar"), ("neck", "cervical")))
    assert chat.state.procedure_site == "lumbar"
    assert keys(chat)[0] == "plan.checklist_header" and "lower back" in reply


def test_a_carer_correcting_the_site_replaces_it(chat: Conversation) -> None:
    """"not her lower back": the negation reads past his/her/their, as for "not my"."""
    chat.say("plan for my dad please, friday at 10am, his lower back", "ask_plan",
             sites=(("lower back", "lumbar"),))
    chat.say("none", "deny")
    reply = chat.say("oops, it's his neck not his lower back", "inform",
                     sites=(("neck", "cervical"), ("lower back", "lumbar")))
    assert chat.state.procedure_site == "cervical"
    assert keys(chat)[0] == "plan.checklist_header" and "neck" in reply


def test_skipping_a_dose_after_a_drug_answer_is_about_that_drug(chat: Conversation) -> None:
    chat.say("neck, i take xarelto, when do i stop", "ask_blood_thinners",
             drugs=(("xarelto", "rivaroxaban"),), sites=(("neck", "cervical"),))
    reply = chat.say("can i just skip tonights dose instead", "out_of_scope", confidence=0.3)
    assert "rivaroxaban" in reply.lower() and "prescribed" in reply


def test_explain_that_a_bit_more_gives_the_last_answers_detail(chat: Conversation) -> None:
    chat.say("do i have to fast", "ask_fasting")
    chat.say("could you go over that in a bit more detail", "ask_procedure_info",
             confidence=0.6)
    assert [e for e in chat.entries if e.startswith("text.")][0].startswith("text.en.fasting.")
    chat.say("do i have to fast", "ask_fasting")
    chat.say("can you explain that bit in more depth", "ask_procedure_info", confidence=0.6)
    assert [e for e in chat.entries if e.startswith("text.")][0].startswith("text.en.fasting.")


def test_a_question_on_the_same_topic_is_answered_while_the_site_is_asked(
        chat: Conversation) -> None:
    chat.say("my mum is on warfarin, what does she stop", "ask_blood_thinners",
             drugs=(("warfarin", "warfarin"),))
    assert chat.state.pending is not None and chat.state.pending.ask == "site"
    reply = chat.say("and who decides that, her gp or you", "ask_blood_thinners",
                     confidence=0.5)
    assert "blood_thinners.who_decides" in keys(chat) and "prescri" in reply


def test_the_opening_hours_are_in_the_clinics_clock(chat: Conversation) -> None:
    reply = chat.say("what are your opening hours", "ask_logistics")
    assert "8:00 am-5:00 pm" in reply and "17:00" not in reply
    assert "Sat-Sun closed" in reply  # "and Saturdays?"


def test_kidney_trouble_said_as_an_illness_answers_the_drug_again(charla: Conversation) -> None:
    charla.say("tomo pradaxa y es en el cuello", "ask_blood_thinners",
               drugs=(("pradaxa", "dabigatran"),), sites=(("cuello", "cervical"),))
    reply = charla.say("ah, y tengo los riñones mal desde hace años", "report_illness")
    assert charla.state.renal_impaired is True
    assert keys(charla)[0].startswith(("blood_thinners.", "plan.")) and "dabigatr" in reply


def test_a_blood_thinner_question_read_as_another_topic_is_about_the_drug(
        chat: Conversation) -> None:
    reply = chat.say("brilinta 90mg, its for the neck one, how many days off it?",
                     "ask_eligibility", confidence=0.5, drugs=(("brilinta", "ticagrelor"),),
                     sites=(("neck", "cervical"),),
                     ranking=(("ask_eligibility", 0.5), ("ask_blood_thinners", 0.3)))
    assert "ticagrelor" in reply.lower() and "5 days" in reply


def test_a_stent_alone_gets_the_drugs_rule_not_the_do_not_stop_answer(
        chat: Conversation) -> None:
    reply = chat.say("i've had a stent since spring and take plavix, neck rf soon, what's the rule",
                     "ask_blood_thinners", drugs=(("plavix", "clopidogrel"),),
                     sites=(("neck", "cervical"),))
    assert "blood_thinners.prescriber_forbids" not in keys(chat) and "7 days" in reply


def test_a_moved_appointment_gives_the_new_times(chat: Conversation) -> None:
    chat.say("can i have my plan, its next thursday at 10am, lower back, no blood thinners",
             "ask_plan", sites=(("lower back", "lumbar"),))
    reply = chat.say("they just rang and moved me to 8am, same day", "inform", confidence=0.5)
    assert chat.state.procedure_start is not None and "T08:00" in chat.state.procedure_start
    assert "7:30 am" in reply


def test_first_thing_is_the_clinics_opening_time_to_confirm(charla: Conversation) -> None:
    charla.say("dame mi plan", "ask_plan")
    reply = charla.say("el jueves a primera hora", "inform")
    assert keys(charla) == ["question.confirm_date"] and "08:00" in reply


def test_a_pillow_question_is_about_lying_comfortably(charla: Conversation) -> None:
    reply = charla.say("puedo traer un cojin para estar mas comoda en la camilla?",
                       "ask_positioning")
    assert keys(charla) == ["positioning.cannot_lie"] and "930 000 000" in reply


def test_a_carer_asking_to_drive_the_patient_home_is_told_yes_as_an_adult(
        chat: Conversation, charla: Conversation) -> None:
    reply = chat.say("i'm not having anything done, so i can drive my wife home after?",
                     "ask_driver")
    assert keys(chat) == ["driver.carer_drives"] and "adult" in reply
    reply = charla.say("yo no me lo hago, puedo llevarla a casa en mi coche?", "ask_driver")
    assert keys(charla) == ["driver.carer_drives"] and "adulto" in reply


def test_holding_warfarin_with_an_inr_mentioned_gets_the_drugs_rule(chat: Conversation) -> None:
    reply = chat.say("do i have to hold my coumadin for the lower back one? my inr is steady",
                     "ask_blood_thinners", drugs=(("coumadin", "warfarin"),),
                     sites=(("lower back", "lumbar"),))
    assert keys(chat)[0] != "blood_thinners.inr" and "prescribed" in reply


def test_two_supplements_with_the_same_rule_share_one_sentence(chat: Conversation) -> None:
    chat.say("lower back", "inform", sites=(("lower back", "lumbar"),))
    reply = chat.say("i also take garlic pills and ginkgo, is that a problem",
                     "ask_blood_thinners", drugs=(("garlic pills", "garlic"), ("ginkgo", "ginkgo")))
    assert len(reply) <= SHORT, reply
    assert reply.lower().count("before a procedure") == 1


def test_a_corrected_time_in_spanish_gives_the_new_times(charla: Conversation) -> None:
    charla.say("dame mi plan: el jueves 10 de diciembre a las 10, lumbar, no tomo nada",
               "ask_plan", sites=(("lumbar", "lumbar"),))
    assert charla.state.procedure_start is not None
    reply = charla.say("perdona, me he equivocado, es a las 11 y media no a las 10", "inform",
                       confidence=0.5)
    assert "T11:30" in (charla.state.procedure_start or "") and "11:00" in reply


def test_a_drug_said_with_sin_is_not_taken(charla: Conversation) -> None:
    reply = charla.say("es el jueves 10 de diciembre a las 8:30, lumbar, sin sintrom ni nada",
                       "inform", drugs=(("sintrom", "acenocoumarol"),),
                       sites=(("lumbar", "lumbar"),))
    assert charla.state.medications_taken == ()
    assert "acenocumarol" not in reply.lower()


def test_a_condition_put_to_the_last_answer_stays_on_its_topic(
        chat: Conversation, charla: Conversation) -> None:
    chat.say("do i really need someone to drive me home", "ask_driver")
    chat.say("even if i only get the local and nothing to relax me?", "ask_sedation",
             confidence=0.9)
    assert keys(chat)[0].startswith("driver.without_sedation")
    charla.say("tengo que ir en ayunas?", "ask_fasting")
    charla.say("y si al final es solo con anestesia local?", "ask_sedation", confidence=0.9)
    assert keys(charla)[0].startswith("fasting.no_sedation")


def test_someone_staying_the_night_after_is_a_recovery_answer(chat: Conversation) -> None:
    reply = chat.say("does someone need to stay with me overnight after it", "ask_recovery")
    assert keys(chat) == ["recovery.someone_stays"] and "first few hours" in reply


def test_usual_tablets_asked_with_fasting_get_the_sip_of_water_answer(
        chat: Conversation) -> None:
    reply = chat.say("can i have a black coffee that morning and do i still take my pills",
                     "ask_fasting", parts=(("ask_fasting", "can i have a black coffee"),
                                           ("ask_medications", "do i still take my pills")))
    assert keys(chat)[0].startswith("fasting.coffee")
    assert keys(chat)[1].startswith("fasting.medicines") and "medications.main" not in keys(chat)
    assert "sip" in reply


def test_the_arrival_time_said_back_is_not_a_new_appointment_time(chat: Conversation) -> None:
    chat.say("my plan please, lower back, next tuesday at 9:30am, no blood thinners",
             "ask_plan", sites=(("lower back", "lumbar"),))
    start = chat.state.procedure_start
    chat.say("hold on, so i actually need to get there for 9?", "ask_logistics")
    assert chat.state.procedure_start == start


def test_a_time_given_after_another_question_continues_the_plan(chat: Conversation) -> None:
    chat.say("what do i need to do and when, lumbar, next monday first thing", "ask_plan",
             sites=(("lumbar", "lumbar"),))
    chat.say("hang on, does someone have to take me home?", "ask_driver")
    chat.say("my letter says 7.45", "inform")
    assert chat.state.procedure_start is not None and "T07:45" in chat.state.procedure_start
    assert "question.medication" in " ".join(keys(chat)) or keys(chat)[0].startswith("plan.")


def test_a_site_given_after_a_drug_answer_with_does_it_matter_re_answers_the_drug(
        charla: Conversation) -> None:
    charla.say("ayer no me tome el eliquis, pasa algo?", "ask_blood_thinners",
               drugs=(("eliquis", "apixaban"),))
    reply = charla.say("la rizolisis es en la zona lumbar, eso afecta?", "ask_procedure_info",
                       sites=(("lumbar", "lumbar"),))
    assert keys(charla)[0].startswith("blood_thinners.") and "procedure_info" not in keys(charla)[0]
    assert "930 000 000" in reply or "médico" in reply


def test_all_the_times_written_down_is_the_plan(charla: Conversation) -> None:
    charla.say("es el jueves 10 de diciembre a las 9:30, lumbar, no tomo nada", "inform",
               sites=(("lumbar", "lumbar"),))
    reply = charla.say("me lo pones todo junto con las horas de comer y beber?", "ask_fasting")
    assert keys(charla)[0] == "plan.checklist_header" and "09:00" in reply


def test_who_sorts_it_out_after_a_do_not_stop_answer_is_who_decides(chat: Conversation) -> None:
    chat.say("my heart doctor says i must never stop my brilinta, it's my neck",
             "ask_blood_thinners", drugs=(("brilinta", "ticagrelor"),),
             sites=(("neck", "cervical"),))
    reply = chat.say("so who organises all that, me or you lot?", "ask_logistics", confidence=0.5)
    assert keys(chat) == ["blood_thinners.who_decides"] and len(reply) <= SHORT, len(reply)


def test_a_first_statement_without_the_topics_words_is_not_answered(chat: Conversation) -> None:
    reply = chat.say("ok i'll phone them later. what time do i stop drinking?", "ask_fasting",
                     parts=(("ask_what_to_bring", "ok i'll phone them later"),
                            ("ask_fasting", "what time do i stop drinking?")))
    assert [k.split(".")[0] for k in keys(chat)] == ["fasting"] and "2 hours" in reply


def test_a_stated_fast_with_a_tablets_question_is_the_tablets_answer(chat: Conversation) -> None:
    reply = chat.say("as i'm fasting, do i leave out my morning pills?", "ask_fasting",
                     parts=(("ask_fasting", "as i'm fasting,"),
                            ("ask_medications", "do i leave out my morning pills?")))
    assert len(keys(chat)) == 1 and keys(chat)[0].startswith("fasting.medicines")
    assert "sip" in reply and len(reply) <= SHORT


def test_a_drug_named_in_a_first_part_without_a_question_is_still_answered(
        chat: Conversation) -> None:
    reply = chat.say("eliquis before the neck one, how long off", "ask_blood_thinners",
                     drugs=(("eliquis", "apixaban"),), sites=(("neck", "cervical"),),
                     parts=(("ask_blood_thinners", "eliquis before the neck one"),
                            ("ask_recovery", "how long off")),
                     ranking=(("ask_blood_thinners", 0.95), ("ask_recovery", 0.02)))
    assert keys(chat)[0].startswith(("blood_thinners.", "plan.")) and "3 days" in reply


# ---------------------------------------------------------------- round 7
def test_a_statement_that_names_a_later_answer_is_its_condition(chat: Conversation) -> None:
    """"Local only, no sedation for me. Do I still need to fast?": the no-sedation fasting
    answer, not a sedation answer for the statement."""
    text = "Local only, no sedation for me. Do I still need to fast?"
    chat.say(text, "ask_sedation",
             parts=(("ask_sedation", "Local only, no sedation for me"),
                    ("ask_fasting", "Do I still need to fast")),
             ranking=(("ask_sedation", 0.6), ("ask_fasting", 0.35)))
    assert len(keys(chat)) == 1 and keys(chat)[0].startswith("fasting.no_sedation")


def test_the_shots_again_after_a_drug_answer_is_its_restart(chat: Conversation) -> None:
    chat.say("I'm on Lovenox injections, it's my lower back", "ask_blood_thinners",
             drugs=(("lovenox", "enoxaparin"),), sites=(("lower back", "lumbar"),))
    chat.say("and when are the injections back on after?", "ask_effectiveness", 0.6)
    assert keys(chat)[0].startswith("blood_thinners.restart")


def test_driving_again_after_a_drug_answer_is_the_driving_answer(chat: Conversation) -> None:
    chat.say("I'm on warfarin, neck", "ask_blood_thinners", drugs=(("warfarin", "warfarin"),),
             sites=(("neck", "cervical"),))
    chat.say("how soon could I drive again, is that ok?", "ask_driver", 0.6)
    assert keys(chat)[0].startswith("driver.")


def test_a_clear_thank_you_below_the_threshold_is_a_thank_you(charla: Conversation) -> None:
    reply = charla.say("vale, ya estoy más tranquilo, muchas gracias", "thank", 0.5,
                       ranking=(("thank", 0.5), ("ask_more", 0.25)))
    assert keys(charla) == ["assistant.thanks"] and "entendido" not in reply


def test_a_past_event_is_not_called_a_date_of_birth(chat: Conversation) -> None:
    """"she had the RF this morning" is left out of the appointment, but it is no birth date."""
    reply = chat.say("she had the RF this morning and is a bit sleepy, is that ok", "ask_recovery",
                     0.3, ranking=(("ask_recovery", 0.3), ("ask_sedation", 0.25)))
    assert "birth" not in reply


def test_an_unsure_condition_put_to_the_last_answer_gives_it_again(charla: Conversation) -> None:
    charla.say("¿cuándo puedo volver al trabajo?", "ask_recovery")
    first = keys(charla)
    charla.say("y si fuera camionero, conduciendo todo el día?", "ask_plan", 0.3,
               ranking=(("ask_plan", 0.3), ("ask_what_to_bring", 0.2)))
    assert keys(charla) == first


def test_food_eaten_without_thinking_is_the_broken_fast_answer(chat: Conversation) -> None:
    chat.say("I had a slice of toast without thinking this morning, what now?", "ask_fasting")
    assert keys(chat)[0].startswith("fasting.broke_fast")


def test_a_time_correction_read_as_another_topic_gives_the_last_answer_again(
        charla: Conversation) -> None:
    """"uy no, perdona, es a las 10" after the water answer: the water answer at the new time,
    whatever topic the words of the correction were classified as."""
    charla.say("la radiofrecuencia es el martes que viene a las 11, hasta que hora bebo agua?",
               "ask_fasting")
    first = keys(charla)
    reply = charla.say("uy no, perdona, es a las 10, me he liado con la cita", "ask_logistics",
                       0.7)
    assert keys(charla) == first and "07:30" in reply


def test_a_time_correction_with_no_other_cue_word_is_taken(charla: Conversation) -> None:
    charla.say("dame mi plan: lumbar, el viernes que viene a las 11, no tomo nada",
               "ask_plan", sites=(("lumbar", "lumbar"),))
    charla.say("no, es a las 10, lo acabo de mirar en el papel", "inform", 0.6)
    assert charla.state.procedure_start is not None
    assert charla.state.procedure_start.endswith("T10:00:00+01:00")


def test_needing_to_move_during_it_is_answered_without_the_site(chat: Conversation) -> None:
    """"What if I need to move halfway through?": tell the team, whatever the site; no site
    question first."""
    reply = chat.say("what if I need to move halfway through?", "ask_positioning")
    assert keys(chat) == ["positioning.need_to_move"] and "team" in reply


def test_a_specific_follow_up_beats_a_topic_of_general_words(chat: Conversation) -> None:
    """"When should I actually worry?" after the soreness answer: when to call the clinic,
    not the anxiety answer the word "worry" was classified as."""
    chat.say("my back is sore where the needles went in, is that normal?", "ask_recovery")
    chat.say("and when should I actually worry?", "express_anxiety", 0.7)
    assert keys(chat) == ["recovery.when_to_call"]


def test_coming_into_the_room_is_the_companion_answer(chat: Conversation) -> None:
    chat.say("can I come in the room with him while it's done?", "ask_logistics")
    assert keys(chat) == ["logistics.companion"]


def test_tiredness_after_sedation_is_expected_with_the_signs_that_are_not(
        chat: Conversation) -> None:
    reply = chat.say("my wife had it done this morning and she's very drowsy, is that normal?",
                     "ask_recovery")
    assert keys(chat) == ["recovery.tired"] and "911" in reply


@pytest.mark.parametrize("text,arrival", [
    ("does she have to fast? her slot is at twenty past nine", "8:50"),
    ("my appointment is 7.45 in the morning next week, does that mean no breakfast?", "7:15"),
])
def test_a_booking_time_in_a_question_gives_clock_times(chat: Conversation, text: str,
                                                        arrival: str) -> None:
    """A time said about the booking, in words or before the clinic's usual opening, is kept
    for clock times until the date is known."""
    reply = chat.say(text, "ask_fasting")
    assert f"arrival at {arrival}" in reply


def test_gum_with_a_known_time_gives_the_clock_limit(chat: Conversation) -> None:
    """The US example clinic allows gum until the clear-liquid cut-off (fasting.yml)."""
    reply = chat.say("can i chew gum before the rf? my appointment is at 12:00", "ask_fasting")
    assert keys(chat) == ["plan.gum_until"] and "9:30" in reply


def test_a_stricter_gum_rule_never_gets_the_clock_limit(kb_snapshot: KbSnapshot) -> None:
    """A clinic with no gum on the day keeps its own text, even with the time known."""
    from dataclasses import replace as replaced

    strict = replaced(kb_snapshot, fasting=replaced(kb_snapshot.fasting,
                                                    gum_and_candy="not_on_the_day"))
    talk = Conversation(strict)
    talk.say("can i chew gum before the rf? my appointment is at 12:00", "ask_fasting")
    assert keys(talk) == ["fasting.gum.not_on_the_day"]


def test_a_dated_answer_gives_the_last_dose_and_the_restart_within_two_segments(
        charla: Conversation) -> None:
    reply = charla.say("lixiana 60, me la hacen en el cuello el lunes q viene a las 9. "
                       "cuando me tomo la ultima?", "ask_blood_thinners",
                       drugs=(("lixiana", "edoxaban"),), sites=(("cuello", "cervical"),))
    assert "última dosis" in reply and "vie 4 dic" in reply and "mar 8 dic" in reply
    assert len(reply) <= SHORT_REPLY


def test_a_dated_answer_too_long_for_two_segments_offers_the_restart_as_a_quick_reply(
        chat: Conversation) -> None:
    """The kidney question and the last dose are what matter now; the restart is one tap
    away ("When can I restart dabigatran?"), not cut off mid-sentence."""
    reply = chat.say("I take Pradaxa, neck procedure on December 21 at 9am. When's my last "
                     "dose?", "ask_blood_thinners", drugs=(("Pradaxa", "dabigatran"),),
                     sites=(("neck", "cervical"),))
    assert "last dose" in reply and "kidneys" in reply
    assert "plan.restart_after_hold" not in keys(chat)
    restart = [b for b in chat.buttons if b.startswith("When can I restart")]
    assert restart, chat.buttons
    again = chat.say(restart[0], "ask_blood_thinners", drugs=(("dabigatran", "dabigatran"),))
    assert "restart" in again


def test_how_long_after_a_specific_answer_is_that_answer_again(chat: Conversation) -> None:
    """The soreness answer says how long; the procedure's length is asked in its own words."""
    chat.say("is it normal to have a sunburn feeling on my back after?", "ask_recovery")
    assert keys(chat) == ["recovery.soreness"]
    chat.say("how long does that usually go on for", "ask_logistics", confidence=0.7)
    assert keys(chat) == ["recovery.soreness"]
    chat.say("hw long will the bruisng hang around for", "nlu_fallback", confidence=0.1)
    assert keys(chat) == ["recovery.soreness"]
    chat.say("how long is the procedure itself?", "ask_logistics", confidence=0.9)
    assert "recovery.soreness" not in keys(chat)


def test_cuanto_dura_after_the_soreness_answer(charla: Conversation) -> None:
    charla.say("me ha salido un moratón donde me pincharon, es normal?", "ask_recovery")
    assert keys(charla) == ["recovery.soreness"]
    charla.say("¿y eso cuánto dura?", "ask_logistics", confidence=0.6)
    assert keys(charla) == ["recovery.soreness"]


def test_plasters_and_hot_tubs_get_the_shower_answer(chat: Conversation,
                                                     charla: Conversation) -> None:
    chat.say("When can the plasters come off?", "ask_recovery")
    assert keys(chat) == ["recovery.shower_after"]
    chat.say("wat about the hot tub at the wkend", "nlu_fallback", confidence=0.1)
    assert keys(chat) == ["recovery.shower_after"]
    charla.say("cuando me puedo duchar?", "ask_recovery")
    charla.say("y las tiritas cuando me las quito?", "nlu_fallback", confidence=0.1)
    assert keys(charla) == ["recovery.shower_after"]


def test_a_driver_named_after_the_driver_answer_is_noted(chat: Conversation) -> None:
    """Not the activity answer for "walk", not a miss; "nobody can" is still no driver."""
    chat.say("does someone have to drive me?", "ask_driver")
    chat.say("my neighbour could walk back with me, she's 70 but sharp as a tack",
             "ask_recovery", confidence=0.5)
    assert keys(chat) == ["driver.confirmed"]
    chat.say("my sister could come along with him, she's 45", "nlu_fallback", confidence=0.2)
    assert keys(chat) == ["driver.confirmed"]
    chat.say("there's nobody who can come with me", "ask_driver", confidence=0.8)
    assert "driver.confirmed" not in keys(chat)


def test_a_condition_in_the_last_topics_words_goes_on_with_it(chat: Conversation) -> None:
    chat.say("im absolutely terrified about this", "express_anxiety")
    chat.say("what if I panic on the table", "ask_positioning", confidence=0.6)
    assert keys(chat) == ["anxiety.main"]


def test_a_misspelt_cue_in_a_short_follow_up_is_read(chat: Conversation) -> None:
    chat.say("what time do i stop eating? im booked at 11:30 on friday", "ask_fasting")
    reply = chat.say("k and cofee", "nlu_fallback", confidence=0.2)
    assert "9:00 am" in reply and "coffee" in reply


def test_misspelt_words_need_five_letters_and_one_slip(kb_snapshot: KbSnapshot) -> None:
    from actions.conversation.cues import Cues
    registry = kb_snapshot.registry
    fasting, cues = registry.topic("fasting"), Cues(registry, "en")
    assert cues.answer_for_misspelt(fasting, "and cofee?") is not None
    assert cues.answer_for_misspelt(fasting, "and later?") is None  # "water" is 0.8 away


def test_how_long_after_an_answer_that_says_no_time_is_a_new_question(
        chat: Conversation) -> None:
    chat.say("what's the test current for?", "ask_procedure_steps")
    first = keys(chat)
    chat.say("how long does it take", "ask_logistics", confidence=0.7)
    assert keys(chat) != first


def test_a_long_condition_naming_a_driver_answer_stays_with_the_driver(
        charla: Conversation) -> None:
    """"solo" (only) is not "alone": the condition is no sedation, put to the driver answer."""
    charla.say("puedo volver en taxi?", "ask_driver")
    charla.say("y si al final no me ponen sedacion? el doctor dijo q a lo mejor solo "
               "anestesia local", "ask_sedation", confidence=0.7)
    assert [k.rsplit(".", 1)[0] for k in keys(charla)] == ["driver.without_sedation"]
    charla.say("no tengo a nadie que me lleve", "ask_driver")
    charla.say("y si al final solo me ponen anestesia local, sin sedacion?", "ask_sedation",
               confidence=0.7)
    assert [k.rsplit(".", 1)[0] for k in keys(charla)] == ["driver.without_sedation"]


def test_taking_something_off_asks_about_it(chat: Conversation) -> None:
    """"take my nail polish off" is about the polish (only "leave the milk out" leaves it out)."""
    chat.say("do i need to take my nail polish off? got gels on", "ask_what_to_bring")
    assert keys(chat) == ["what_to_bring.nails"]


def test_a_question_after_a_comma_is_a_question(chat: Conversation) -> None:
    chat.say("can i chew gum before? and im a smoker, can i have a cigarette in the morning "
             "before i come in", "ask_fasting", confidence=0.8)
    assert [k.split(".")[1] for k in keys(chat)] == ["gum", "smoking"]


def test_a_condition_that_names_the_classified_topics_answer_is_that_topic(
        charla: Conversation) -> None:
    charla.say("si solo me ponen anestesia local tengo que ir en ayunas?", "ask_fasting")
    charla.say("y si no me sedan puedo volver sola a casa o necesito que venga alguien igual?",
               "ask_driver", confidence=0.8)
    assert keys(charla)[0].startswith("driver.")


def test_watch_out_for_is_not_a_wristwatch(chat: Conversation) -> None:
    chat.say("my partner had the rf today and is very drowsy", "ask_recovery")
    chat.say("what should I watch out for tonight?", "ask_recovery", confidence=0.6)
    assert keys(chat) == ["recovery.when_to_call"]
    chat.say("can I wear my watch?", "ask_what_to_bring")
    assert keys(chat) == ["what_to_bring.jewellery"]


# ---------------------------------------------------------------- round 9 (blind dev6 suites)
def test_an_appointment_time_given_after_the_fasting_answer_is_that_answer_in_clock_times(
        chat: Conversation) -> None:
    chat.say("cn i eat b4 it", "ask_fasting")
    reply = chat.say("its at 1030", "inform")
    assert "4:00 am" in reply and "8:00 am" in reply  # arrival 10:00: toast 4:00, water 8:00
    assert "Thanks for letting me know" not in reply


def test_an_appointment_time_after_the_arrival_answer_gives_the_arrival_clock_time(
        chat: Conversation) -> None:
    chat.say("what time should i get there", "ask_logistics")
    assert "10:45 am" in chat.say("its at 11:15", "inform")


def test_a_four_digit_time_after_appt_is_the_appointment_time(chat: Conversation) -> None:
    reply = chat.say("plan pls - appt 1115 tmrw, lumbar, no thinners, hubby driving", "ask_plan",
                     sites=(("lumbar", "lumbar"),))
    assert "11:15 am" in reply and "10:45 am" in reply
    reply = chat.say("wait no its 1145 sorry", "inform")
    assert "11:45 am" in reply and "11:15 am" in reply


def test_a_blood_thinner_named_in_a_plan_request_is_planned_not_screened(
        charla: Conversation) -> None:
    """"toma Sintrom" names a screening term too; the plan (with its drug line) answers."""
    reply = charla.say("Hola, soy el hijo de Carmen. Le toca la rizolisis cervical el lunes a las "
                       "11:30 y toma Sintrom. ¿Me haces un plan con horas para ella?", "ask_plan",
                       sites=(("cervical", "cervical"),), drugs=(("Sintrom", "acenocoumarol"),))
    assert keys(charla)[0].startswith("plan.")
    assert "11:00" in reply and "INR" in reply  # arrival 30 minutes before 11:30


def test_the_same_clock_times_are_said_once(chat: Conversation) -> None:
    chat.say("I'm booked for 3 pm next Wednesday, neck. What should my day look like?",
             "ask_plan", sites=(("neck", "cervical"),))
    reply = chat.say("and lunch? can I eat something small around noon?", "ask_fasting")
    assert reply.count("For arrival at") == 1


def test_two_blood_thinners_in_one_message_are_both_answered(chat: Conversation) -> None:
    reply = chat.say("warfarin + aspirin, having lumbar facet ablation. whats the deal with "
                     "those", "ask_blood_thinners", drugs=(("warfarin", "warfarin"),
                                                          ("aspirin", "aspirin")),
                     sites=(("lumbar", "lumbar"),))
    assert "warfarin" in reply and "aspirin" in reply and len(reply) <= LONG_REPLY


def test_switching_to_the_other_site_after_the_inr_answer_gives_the_hold_rule(
        chat: Conversation) -> None:
    chat.say("warfarin + aspirin, having lumbar facet ablation", "ask_blood_thinners",
             drugs=(("warfarin", "warfarin"), ("aspirin", "aspirin")),
             sites=(("lumbar", "lumbar"),))
    chat.say("do i need the inr thing", "ask_blood_thinners")
    reply = chat.say("what if they switch it to my neck instead", "ask_procedure_info",
                     confidence=0.67, sites=(("neck", "cervical"),))
    assert "5 days" in reply and "neck" in reply


def test_a_gp_named_in_passing_does_not_turn_the_question_into_who_decides(
        chat: Conversation) -> None:
    reply = chat.say("My GP has me on rivaroxaban. I'm having the neck injection, the burning "
                     "one. When do I stop?", "ask_blood_thinners",
                     drugs=(("rivaroxaban", "rivaroxaban"),), sites=(("neck", "cervical"),))
    assert "3 days" in reply
    chat.say("should I ask my GP or you?", "ask_blood_thinners")
    assert keys(chat) == ["blood_thinners.who_decides"]


def test_a_meal_time_is_not_the_appointment_time(chat: Conversation) -> None:
    chat.say("my procedure is monday morning, can I have a fry up on sunday night?",
             "ask_fasting")
    chat.say("its at 9", "inform")
    reply = chat.say("so a roast at 7 on the sunday evening is fine?", "ask_fasting")
    assert "8:30 am" in reply  # arrival for 9:00, not a 7 o'clock appointment


def test_mnn_is_tomorrow_in_spanish_sms(charla: Conversation) -> None:
    reply = charla.say("mñn a las 7:30 tengo la rizolisis lumbar, no tomo pastillas d la sangre. "
                       "dime a q hora dejo d comer y beber xfa", "ask_fasting",
                       sites=(("lumbar", "lumbar"),))
    tomorrow = (NOW_ES + dt.timedelta(days=1)).day
    assert f" {tomorrow} " in reply and "07:00" in reply


def test_a_drug_someone_else_takes_is_not_the_patients(chat: Conversation,
                                                       charla: Conversation) -> None:
    chat.say("does being on eliquis mean i need one of those INR checks before the neck "
             "procedure? my friend on coumadin had to", "ask_blood_thinners",
             drugs=(("eliquis", "apixaban"), ("coumadin", "warfarin")),
             sites=(("neck", "cervical"),))
    reply = chat.say("ok so how many days before do i stop it", "ask_blood_thinners")
    assert "apixaban" in reply and "warfarin" not in reply
    charla.say("tomo lixiana, la rf es cervical", "ask_blood_thinners",
               drugs=(("lixiana", "edoxaban"),), sites=(("cervical", "cervical"),))
    reply = charla.say("y tengo q hacerme el INR como mi vecina con el sintrom?",
                       "ask_blood_thinners", drugs=(("sintrom", "acenocoumarol"),))
    assert reply.startswith("No.") and "edoxabán" in reply
    # a carer's "my dad is on warfarin" is the patient's drug
    chat.say("my dad is on warfarin, his neck rf is next week", "ask_blood_thinners",
             drugs=(("warfarin", "warfarin"),), sites=(("neck", "cervical"),))
    assert "warfarin" in chat.reply and "5 days" in chat.reply


def test_a_plan_asked_for_a_day_the_clinic_is_closed_asks_to_check_the_date(
        kb_es: KbSnapshot) -> None:
    talk = Conversation(kb_es, language="es",
                        now=dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.timezone.utc))  # a Wednesday
    reply = talk.say("Hazme el plan porfa: dentro de 10 días a las nueve y media, cervical, "
                     "tomo Xarelto 20", "inform", 1.0, drugs=(("Xarelto", "rivaroxaban"),),
                     sites=(("cervical", "cervical"),))
    assert "cerrada" in reply and "sáb" in reply  # Saturday 12 December
    assert talk.state.pending is not None and talk.state.pending.ask == "confirm_date"


def test_a_leave_phrase_before_a_new_question_leaves_the_open_question(
        charla: Conversation) -> None:
    charla.say("hazme el plan, es el jueves", "ask_plan")
    assert charla.state.pending is not None
    reply = charla.say("déjalo, otra pregunta: puedo tomar café esa mañana?", "ask_fasting",
                       confidence=0.6)
    assert "2 horas" in reply and charla.state.pending is None


def test_what_the_day_looks_like_is_the_plan(chat: Conversation) -> None:
    chat.say("I'm booked for 3 pm next Wednesday, neck. I'm not on any blood thinners and my "
             "daughter will take me home. What should my day look like?", "inform", 0.9,
             sites=(("neck", "cervical"),))
    assert keys(chat)[0].startswith("plan.") and "2:30 pm" in chat.reply


def test_naming_the_arrival_time_as_a_question_gets_the_arrival_answer(
        chat: Conversation) -> None:
    chat.say("Can you give me my checklist? Lower back RF next Tuesday at 9:30am. No blood "
             "thinners. My wife is driving.", "inform", 0.997, sites=(("Lower back", "lumbar"),),
             ranking=(("inform", 0.997), ("ask_plan", 0.002)))
    reply = chat.say("wait so I have to actually be there at 9?", "ask_logistics", 0.548,
                     ranking=(("ask_logistics", 0.548), ("ask_fasting", 0.194)))
    assert "9:00 am" in reply and keys(chat) == ["plan.arrival_at"]  # the dated arrival answer


def test_a_question_that_also_gives_the_time_is_answered_not_taken_as_telling(
        charla: Conversation) -> None:
    charla.say("que tengo que llevar el dia de la prueba?", "ask_what_to_bring")
    reply = charla.say("y donde esta la clinica exactamente? y a que hora tengo que estar alli "
                       "si la cita es a las 9:30?", "ask_logistics")
    assert "Exemple" in reply and "09:00" in reply


def test_a_drug_question_with_a_day_but_no_time_is_the_drug_answer(chat: Conversation) -> None:
    reply = chat.say("I'm on warfarin (Coumadin) and my neck procedure is in two weeks. What do I "
                     "need to do about it?", "ask_blood_thinners",
                     drugs=(("warfarin", "warfarin"),), sites=(("neck", "cervical"),))
    assert "5 days" in reply


def test_kidneys_said_to_be_fine_give_the_usual_pause_only(chat: Conversation,
                                                           charla: Conversation) -> None:
    chat.say("i take pradaxa, neck rf", "ask_blood_thinners",
             drugs=(("pradaxa", "dabigatran"),), sites=(("neck", "cervical"),))
    assert "6 days" in chat.reply  # both lengths until the kidneys are known
    reply = chat.say("my kidneys are fine", "inform", 0.8)
    assert "4 days" in reply and "6 days" not in reply
    charla.say("tomo pradaxa, la rizolisis es cervical", "ask_blood_thinners",
               drugs=(("pradaxa", "dabigatran"),), sites=(("cervical", "cervical"),))
    reply = charla.say("los riñones bien, que yo sepa", "inform", 0.8)  # a hedge, no question
    assert "4 días" in reply and "6 días" not in reply


def test_asking_to_talk_during_it_after_the_sedation_answer_stays_with_sedation(
        chat: Conversation) -> None:
    chat.say("will i be asleep for it?", "ask_sedation")
    chat.say("so I'll be able to talk to them during it?", "ask_procedure_steps", 0.43,
             ranking=(("ask_procedure_steps", 0.43), ("ask_sedation", 0.3)))
    assert keys(chat)[0].startswith("sedation.")


def test_an_acknowledgement_after_an_answer_is_taken_in_not_a_miss(chat: Conversation,
                                                                   charla: Conversation) -> None:
    """"ok noted", "ugh fine ill ask my neighbour": nothing asked; "anything else?", not the
    fallback. A question with the same words is still a question."""
    chat.say("do i need a driver", "ask_driver")
    chat.say("ugh fine ill ask my neighbour", "inform", confidence=0.51)
    assert keys(chat)[-1:] == ["assistant.anything_else"]
    charla.say("necesito que me lleven a casa?", "ask_driver")
    charla.say("vale, entendido", "affirm", confidence=0.4)
    assert keys(charla)[-1:] == ["assistant.anything_else"]
    chat.say("ok but what do i do?", "affirm", confidence=0.3)
    assert keys(chat)[-1:] != ["assistant.anything_else"]


def test_why_the_drug_is_taken_after_its_answer_is_who_decides(chat: Conversation,
                                                               charla: Conversation) -> None:
    """"I had a stent", "is that even safe for my heart" after a drug answer: the prescriber and
    the clinic decide together, not the procedure's risks or an illness to report."""
    chat.say("when do i stop my clopidogrel, lumbar rf", "ask_blood_thinners",
             drugs=(("clopidogrel", "clopidogrel"),), sites=(("lumbar", "lumbar"),))
    chat.say("a whole week?? is that really safe for me, I've got a stent", "ask_risks", 0.77)
    assert keys(chat)[0] == "blood_thinners.who_decides"
    chat.say("I had a heart attack two years ago", "report_illness", 0.5)
    assert keys(chat)[0] == "blood_thinners.who_decides"
    charla.say("tomo plavix, me hacen lo lumbar", "ask_blood_thinners",
               drugs=(("plavix", "clopidogrel"),), sites=(("lumbar", "lumbar"),))
    charla.say("una semana? y eso no es peligroso para mi corazón?", "ask_risks", 0.79)
    assert keys(charla)[0] == "blood_thinners.who_decides"
    chat.say("what are the risks of the procedure itself?", "ask_risks", 0.9)
    assert keys(chat)[0].startswith("risks.")


def test_a_stent_named_with_a_new_drug_gets_that_drugs_rule(chat: Conversation) -> None:
    chat.say("when do i stop my clopidogrel, lumbar rf", "ask_blood_thinners",
             drugs=(("clopidogrel", "clopidogrel"),), sites=(("lumbar", "lumbar"),))
    reply = chat.say("and the aspirin, I take it for my stent", "ask_blood_thinners",
                     drugs=(("aspirin", "aspirin"),))
    assert "aspirin" in reply.lower() and keys(chat)[0] != "blood_thinners.who_decides"


def test_a_question_after_an_opening_joiner_is_a_question(charla: Conversation) -> None:
    """"y a q hora llego si me citan a las 11:15": a question word after "y" still asks."""
    charla.say("cuanto tiempo dura todo? y tengo q coger el dia libre?", "ask_logistics")
    reply = charla.say("y a q hora llego si me citan a las 11:15", "ask_logistics", 0.99)
    assert "10:45" in reply


def test_eating_and_drinking_together_get_the_whole_fasting_answer(chat: Conversation,
                                                                   charla: Conversation) -> None:
    reply = charla.say("la cita es a las 11. hasta cuando puedo comer y beber?", "ask_fasting")
    assert keys(charla)[0] == "plan.fasting_cutoffs"  # fasting.main, in clock times
    assert "04:30" in reply and "08:30" in reply
    chat.say("what's the cut off time for food and drink", "ask_fasting")
    assert keys(chat)[0].startswith("fasting.main")


def test_the_appointment_told_before_a_question_gives_its_times(charla: Conversation) -> None:
    """"Mi cita es a las 12:00. ¿Puedo desayunar?": the booking, then the question, answered
    in clock times (not the arrival answer for a statement)."""
    text = "Hola. Mi cita es a las 12:00. ¿Puedo desayunar algo ese día?"
    charla.say(text, "ask_logistics", 0.6,
               parts=(("ask_logistics", "Mi cita es a las 12:00"),
                      ("ask_fasting", "¿Puedo desayunar algo ese día?")))
    assert len(keys(charla)) == 1 and "05:30" in charla.reply  # the breakfast line, timed
    assert "Llegue" not in charla.reply


def test_the_appointment_time_with_a_check_reanswers_in_clock_times(chat: Conversation) -> None:
    chat.say("can I have a black coffee on the morning?", "ask_fasting")
    reply = chat.say("my appointment's at 10 so what's that, 8?", "inform", 0.6)
    assert keys(chat) == ["plan.clear_liquids_at"] and "7:30" in reply


def test_a_question_phrase_inside_a_part_makes_it_a_question(chat: Conversation) -> None:
    chat.say("hello, I was wondering if I can have tea with milk the night before and also "
             "what the cut off times are", "ask_fasting")
    assert [k.split(".")[1] for k in keys(chat)] == ["milk", "main"]


def test_a_sure_new_topic_in_its_own_words_beats_the_last_answers_cue(
        chat: Conversation) -> None:
    chat.say("I'm only having local anaesthetic, no sedation. Do I still need to fast?",
             "ask_fasting")
    assert keys(chat)[0].startswith("fasting.no_sedation")
    chat.say("and do I still need a lift home without the sedation?", "ask_driver", 0.95)
    assert keys(chat)[0].startswith("driver.")


def test_skipping_tablets_while_fasting_is_the_medicines_answer(chat: Conversation) -> None:
    chat.say("i take my pills with breakfast. if i'm fasting should i skip them?", "ask_fasting")
    assert keys(chat)[0].startswith("fasting.medicines")


def test_sms_spelling_asks_for_the_plan_and_the_last_meal(charla: Conversation) -> None:
    """"dime todo lo q tengo q hacer" is the plan; "a q hora como por ultima vez" is fasting
    (not "como" = how), in clock times once the appointment is known."""
    charla.say("el jueves 10 a las 12h me hacen lo lumbar y no tomo nada para la sangre. dime "
               "todo lo q tengo q hacer", "inform", 0.7, sites=(("lumbar", "lumbar"),))
    assert keys(charla)[0].startswith("plan.")
    charla.say("y a q hora como por ultima vez", "ask_more", 0.3)
    assert keys(charla)[0] == "plan.fasting_cutoffs" and "05:30" in charla.reply


def test_electricity_and_shocks_are_the_test_current(chat: Conversation) -> None:
    chat.say("will they shock the needles with electricity?", "ask_procedure_steps")
    assert keys(chat)[0].startswith("procedure_steps.test_current")


# ---------------------------------------------------------------- round 12 (dev8 failures)
def test_a_wish_for_no_sedation_makes_the_fasting_question_the_no_sedation_answer(
        chat: Conversation) -> None:
    """The wish is kept for the conversation, never as the plan: the answer is the KB's
    "usually not, the clinic confirms"."""
    chat.say("is it possible to skip the sedation? i only want the local", "ask_sedation")
    assert chat.state.sedation_declined is True and chat.state.sedation_planned is None
    chat.say("so do i need to fast then", "ask_fasting")
    assert keys(chat)[0].startswith("fasting.no_sedation")
    assert "clinic" in chat.reply


def test_without_a_sedation_wish_the_fasting_question_is_the_whole_answer(
        chat: Conversation) -> None:
    chat.say("so do i need to fast then", "ask_fasting")
    assert keys(chat) == ["fasting.main"]


def test_a_corrected_time_replaces_a_time_only_booking(chat: Conversation) -> None:
    chat.say("my slot is 9.30am, what time should I get there", "ask_logistics")
    assert "9:00" in chat.reply
    reply = chat.say("wait no, just checked the letter and it's 10.15", "inform", 0.5)
    assert "9:45" in reply and "9:00" not in reply


def test_a_bare_no_after_a_drug_takes_it_off_the_list(charla: Conversation) -> None:
    charla.say("la rizolisis es en el cuello", "inform", sites=(("cuello", "cervical"),))
    charla.say("tomo xarelto, aspirina no", "ask_blood_thinners",
               drugs=(("xarelto", "rivaroxaban"), ("aspirina", "aspirin")))
    assert charla.state.medications_taken == ("rivaroxaban",)
    assert "aspirina" not in charla.reply.lower()


def test_nothing_more_is_not_a_request_for_more(charla: Conversation) -> None:
    charla.say("¿puedo beber agua?", "ask_fasting")
    charla.say("no, nada más, hasta luego", "goodbye", 0.95)
    assert keys(charla) == ["assistant.goodbye"]


# ---------------------------------------------------------------- round 13
def test_a_time_after_a_fasting_and_driver_reply_dates_the_fasting_answer(
        chat: Conversation) -> None:
    chat.say("when is my last meal and can my son collect me? it's on friday", "ask_fasting",
             parts=(("ask_fasting", "when is my last meal"),
                    ("ask_driver", "can my son collect me?")))
    assert chat.state.last_topic == "driver"
    reply = chat.say("it's at 2.30 in the afternoon", "inform")
    assert keys(chat)[0].startswith("plan.fasting") and "2:00 pm" in reply, reply


def test_a_clock_time_answer_is_forgotten_after_a_later_reply(chat: Conversation) -> None:
    chat.say("when is my last meal and can my son collect me? it's on friday", "ask_fasting",
             parts=(("ask_fasting", "when is my last meal"),
                    ("ask_driver", "can my son collect me?")))
    chat.say("will i be lying on my tummy?", "ask_positioning")
    assert chat.state.timed_key is None
    chat.say("it's at 2.30 in the afternoon", "inform")
    assert not any(k.startswith(("fasting.", "plan.fasting")) for k in keys(chat))


def test_an_inverted_can_i_after_a_time_word_is_a_question_of_its_own(
        chat: Conversation) -> None:
    reply = chat.say("the day after can i have a bath, and is heat or cold better",
                     "ask_recovery")
    assert keys(chat)[:2] == ["recovery.shower_after", "recovery.soreness"], keys(chat)
    assert len(reply) <= LONG


def test_a_bare_time_after_a_general_fasting_answer_dates_it(chat: Conversation) -> None:
    chat.say("what time do i have to stop eating", "ask_fasting")
    assert not any(k.startswith("plan.") for k in keys(chat))
    reply = chat.say("11am i believe", "inform", confidence=0.4)
    assert keys(chat)[0].startswith("plan.fasting") and "10:30 am" in reply, reply


def test_a_time_alone_read_as_another_topic_is_taken_in_not_missed(chat: Conversation) -> None:
    chat.say("is chewing gum allowed", "ask_fasting")
    reply = chat.say("my appt is 2pm", "ask_logistics", confidence=0.3)
    assert "not sure I understood" not in reply
    assert chat.state.appointment_candidate is not None


def test_a_corrected_time_after_no_wait_replaces_the_time_only_booking(
        chat: Conversation) -> None:
    chat.say("my appointment is 10:00, until when can i drink water", "ask_fasting")
    reply = chat.say("no wait, i got it mixed up, it's 12.30", "inform")
    assert "noon" in reply and "10:00 am" in reply and "7:30 am" not in reply, reply


def test_usual_tablets_right_after_a_fasting_answer_get_the_sip_of_water(
        chat: Conversation) -> None:
    chat.say("can i drink anything in the morning", "ask_fasting")
    chat.say("and my usual pills that morning?", "ask_medications")
    assert keys(chat)[0].startswith("fasting.medicines"), keys(chat)


def test_a_fasting_question_and_a_tablets_statement_both_get_answers(
        charla: Conversation) -> None:
    reply = charla.say("hay q venir sin comer?? y la pastilla de la tension me la tomo",
                       "ask_fasting")
    assert keys(charla)[0] == "fasting.main" and keys(charla)[1].startswith("fasting.medicines")
    assert len(reply) <= LONG


@pytest.mark.parametrize(("text", "confidence"), [
    ("el jueves a las 9 me hacen lo de la espalda, hasta q hora ceno?", 0.6),  # supper word
    ("dema a les 9 em fan la rizolisi, a quina hora deixo de menjar?", 0.5),  # Catalan
])
def test_a_booking_and_a_meal_question_in_one_message_get_the_fasting_times(
        charla: Conversation, text: str, confidence: float) -> None:
    reply = charla.say(text, "inform", confidence=confidence)
    assert keys(charla)[0].startswith("plan.fasting"), keys(charla)
    assert "08:30" in reply


def test_who_exactly_to_ask_after_a_drug_answer_is_who_decides(chat: Conversation) -> None:
    chat.say("i take eliquis, it's my lower back, do i come off it", "ask_blood_thinners",
             drugs=(("eliquis", "apixaban"),), sites=(("lower back", "lumbar"),))
    chat.say("ok so who exactly do i ring about it", "affirm", confidence=0.6)
    assert keys(chat) == ["blood_thinners.who_decides"], keys(chat)


def test_the_number_again_is_the_clinic_phone(chat: Conversation) -> None:
    chat.say("what days are you open", "ask_logistics")
    reply = chat.say("sorry whats your number again", "ask_logistics", confidence=0.25)
    assert "555 010 0100" in reply and keys(chat) == ["logistics.hours"], keys(chat)


def test_a_follow_up_read_weakly_as_the_plan_goes_on_with_the_last_topic(
        chat: Conversation) -> None:
    chat.say("what should i pack for the day", "ask_what_to_bring")
    chat.say("and the tablets themselves or only a list of them", "ask_plan", confidence=0.4)
    assert keys(chat)[0].startswith("what_to_bring."), keys(chat)
    assert chat.state.pending is None


def test_a_condition_before_the_question_is_not_a_question_of_its_own(
        chat: Conversation) -> None:
    reply = chat.say("if they give me the sedation after all, do i need to fast",
                     "ask_sedation", parts=(("ask_sedation", "if they give me the sedation"),
                                            ("ask_fasting", "do i need to fast")))
    assert keys(chat) == ["fasting.main"], keys(chat)
    assert len(reply) <= SHORT


def test_how_long_at_a_time_after_the_ice_answer_stays_with_it(chat: Conversation) -> None:
    chat.say("should i put ice on it afterwards", "ask_recovery")
    chat.say("how long at a time", "ask_logistics", confidence=0.75)
    assert keys(chat) == ["recovery.soreness"], keys(chat)
    chat.say("what about a heat pack", "ask_recovery", confidence=0.2)
    assert keys(chat) == ["recovery.soreness"], keys(chat)


def test_a_one_word_question_first_names_the_last_topics_answer(chat: Conversation) -> None:
    chat.say("when can i go back to my job", "ask_recovery")
    chat.say("gym? i go every morning before my shift", "ask_driver", confidence=0.3)
    assert keys(chat) == ["recovery.activity"], keys(chat)


def test_a_yes_or_no_demand_after_a_drug_answer_repeats_the_drugs_rule(
        chat: Conversation) -> None:
    chat.say("i'm on warfarin and it's my lower back, what do i do", "ask_blood_thinners",
             drugs=(("warfarin", "warfarin"),), sites=(("lower back", "lumbar"),))
    reply = chat.say("just tell me yes or no, do i stop", "deny", confidence=0.3)
    assert keys(chat)[0].startswith("blood_thinners.") and "prescribed" in reply, keys(chat)


def test_a_named_replacement_driver_is_taken_in(chat: Conversation) -> None:
    chat.say("do i need someone to take me home", "ask_driver")
    chat.say("ok my sister can come instead", "ask_driver", confidence=0.35)
    assert keys(chat) == ["driver.confirmed"] and chat.state.has_driver is True


def test_a_young_driver_by_age_in_spanish_is_who_counts(charla: Conversation) -> None:
    charla.say("me tiene que llevar alguien a casa?", "ask_driver")
    charla.say("mi sobrina tiene 17, sirve igual?", "ask_driver", confidence=0.35)
    assert keys(charla) == ["driver.who_counts"], keys(charla)


def test_something_to_calm_me_down_is_the_sedation_topic(chat: Conversation) -> None:
    chat.say("will they give me something to calm me down, i'm so on edge", "ask_sedation",
             confidence=0.5)
    assert keys(chat)[0].startswith("sedation."), keys(chat)


def test_where_is_it_again_is_the_address_not_a_repeat_treatment(chat: Conversation) -> None:
    chat.say("what time do i need to get there", "ask_logistics")
    reply = chat.say("sorry where is it again", "ask_logistics", confidence=0.5)
    assert keys(chat)[0].startswith("logistics.") and "100 Main Street" in reply, keys(chat)


def test_a_statement_after_one_question_gives_one_answer(chat: Conversation) -> None:
    chat.say("when do i stop drinking", "ask_fasting")
    chat.say("and food? i normally have cereal with milk", "ask_fasting")
    assert len(keys(chat)) == 1, keys(chat)


# ---------------------------------------------------------------- round 14: asked again
def test_another_weekday_right_after_the_hours_asks_the_hours_again(chat: Conversation) -> None:
    """"and on friday?" after the opening hours was read as an illness report; "and sat?" as
    "tell me more" ("that's all I have"): a weekday right after the hours asks them again."""
    chat.say("till what time do they answer the phone on a thursday", "ask_procedure_steps",
             confidence=0.33)
    assert keys(chat) == ["logistics.hours"], keys(chat)
    chat.say("and on friday?", "report_illness", confidence=0.6)
    assert keys(chat) == ["logistics.hours"], keys(chat)
    reply = chat.say("and sat?", "ask_more", confidence=0.59)
    assert keys(chat) == ["logistics.hours"] and "closed" in reply, keys(chat)


def test_a_weekday_after_another_answer_is_not_the_hours(chat: Conversation) -> None:
    chat.say("when do i stop eating", "ask_fasting")
    chat.say("and on friday?", "ask_fasting", confidence=0.6)
    assert "logistics.hours" not in keys(chat), keys(chat)


def test_spanish_weekday_follow_up_after_the_hours(charla: Conversation) -> None:
    charla.say("hasta q hora estais abiertos?", "ask_logistics", confidence=0.5)
    assert keys(charla) == ["logistics.hours"], keys(charla)
    reply = charla.say("y el sabado?", "ask_more", confidence=0.6)
    assert keys(charla) == ["logistics.hours"] and "cerrad" in reply, keys(charla)


def test_parallel_questions_after_a_comma_each_get_their_answer(charla: Conversation) -> None:
    """"q puedo comer, q puedo beber y el chicle hasta q hora?" got the gum answer only (the
    last cue of one long part): after a comma, the same question word opens a new question."""
    reply = charla.say("me toca a las 14:45. q puedo comer, q puedo beber y el chicle hasta q "
                       "hora?", "ask_fasting")
    assert keys(charla)[:2] == ["plan.fasting_cutoffs", "plan.gum_until"], keys(charla)
    assert "08:15" in reply and "12:15" in reply


def test_a_comma_before_another_kind_of_clause_keeps_one_question(chat: Conversation) -> None:
    chat.say("when i get there, do i go straight to reception", "ask_logistics")
    assert len(keys(chat)) == 1, keys(chat)


def test_a_statement_of_drug_and_site_before_what_do_i_do_is_the_drug(
        charla: Conversation) -> None:
    """Read as procedure info with its question part as the plan, and no booking: the drug."""
    text = ("buenas tardes, tomo pradaxa 110 dos veces al dia y me van a hacer radiofrecuencia "
            "en el cuello. que tengo que hacer con la pastilla")
    reply = charla.say(text, "ask_procedure_info", confidence=0.8,
                       drugs=(("pradaxa", "dabigatran"),), sites=(("cuello", "cervical"),),
                       parts=(("ask_procedure_info", "y me van a hacer radiofrecuencia en el "
                               "cuello"), ("ask_plan", "que tengo que hacer con la pastilla")),
                       ranking=(("ask_procedure_info", 0.8), ("ask_blood_thinners", 0.74),
                                ("ask_plan", 0.01)))
    assert keys(charla)[0].startswith("blood_thinners."), keys(charla)
    assert "4 días" in reply


def test_the_site_question_names_the_drug_it_is_for(charla: Conversation) -> None:
    reply = charla.say("xarelto 20, q hago con el antes de la radiofrecuencia",
                       "ask_blood_thinners", drugs=(("xarelto", "rivaroxaban"),))
    assert keys(charla) == ["question.site_for_drug"] and "rivaroxabán" in reply
    assert "lumbar" in reply and "cuello" in reply


@pytest.mark.parametrize("text", ["what time am i nil by mouth from? op is 8.30am",
                                  "can i have a cup of tea first? procedure's at 9 o'clock"])
def test_more_ways_to_give_the_procedure_time_give_clock_times(chat: Conversation,
                                                               text: str) -> None:
    reply = chat.say(text, "ask_fasting")
    assert re.search(r"\d:\d\d [ap]m", reply), reply


def test_tengo_hora_a_las_gives_the_spanish_clock_times(charla: Conversation) -> None:
    reply = charla.say("tengo hora a las 6 de la tarde, a mediodia puedo comer?", "ask_fasting")
    assert "11:30" in reply and "puede" in reply, reply


def test_a_drug_taken_off_already_is_not_the_one_asked_about(charla: Conversation) -> None:
    """"me han quitado el sintrom y me pincho clexane ...": the Clexane answer, not Sintrom's."""
    reply = charla.say("me han quitado el sintrom y me pincho clexane hasta la rizolisis "
                       "lumbar, cuando es la ultima inyeccion?", "ask_blood_thinners",
                       drugs=(("sintrom", "acenocoumarol"), ("clexane", "enoxaparin")),
                       sites=(("lumbar", "lumbar"),))
    assert "Clexane" in reply and "Sintrom" not in reply and "24 horas" in reply, reply


def test_how_long_alone_after_a_question_is_about_that_question(charla: Conversation) -> None:
    """"... me va a doler la espalda? cuanto tiempo mas o menos" got the procedure's duration
    (the how-long words are a logistics cue): how long the soreness lasts."""
    reply = charla.say("despues me va a doler la espalda? cuanto tiempo mas o menos",
                       "ask_recovery", confidence=0.85, sites=(("espalda", "lumbar"),),
                       parts=(("ask_recovery", "despues me va a doler la espalda"),
                              ("ask_logistics", "cuanto tiempo mas o menos")),
                       ranking=(("ask_recovery", 0.85), ("ask_logistics", 0.36),
                                ("ask_procedure_steps", 0.13)))
    assert all(k.startswith("recovery.") for k in keys(charla)), keys(charla)
    assert "semanas" in reply


def test_a_cue_of_a_close_topic_beats_repeating_the_last_answer(charla: Conversation) -> None:
    charla.say("cuando puedo volver a conducir?", "ask_driver")
    charla.say("y el hielo va bien?", "ask_effectiveness", confidence=0.37,
               ranking=(("ask_effectiveness", 0.37), ("ask_recovery", 0.23)))
    assert keys(charla) == ["recovery.soreness"], keys(charla)


def test_a_small_bruise_in_spanish_is_the_soreness_answer(charla: Conversation) -> None:
    charla.say("despues de la prueba me va a doler?", "ask_recovery")
    charla.say("tb tengo un morado pequeñito en uno de los pinchazos", "ask_recovery",
               confidence=0.5)
    assert keys(charla) == ["recovery.soreness"], keys(charla)


def test_the_question_after_a_statement_names_its_own_topic(chat: Conversation) -> None:
    """Read as sedation (the statement's word): the question's own words are fasting."""
    reply = chat.say("my doctor said im only getting the local numbing, no sedation. still got "
                     "to starve myself?", "ask_sedation", confidence=0.6,
                     ranking=(("ask_sedation", 0.6), ("ask_fasting", 0.17)))
    assert keys(chat)[0].startswith("fasting."), keys(chat)
    assert "usually don't need to fast" in reply


def test_a_close_topic_with_the_words_beats_a_confident_one_without(chat: Conversation) -> None:
    chat.say("what time should i turn up", "ask_what_to_bring", confidence=0.63,
             ranking=(("ask_what_to_bring", 0.63), ("ask_logistics", 0.1)))
    assert keys(chat) == ["logistics.main"], keys(chat)


def test_a_follow_up_naming_an_answer_read_as_more_gets_that_answer(chat: Conversation) -> None:
    chat.say("what time do i stop eating and can i still take my tablets? its at 12.30 "
             "tomorrow", "ask_fasting")
    reply = chat.say("and liquids", "ask_more", confidence=0.73)
    assert keys(chat) == ["plan.clear_liquids_at"] and "10:00 am" in reply, keys(chat)


@pytest.mark.parametrize("text,ranking", [
    # a cue of the third choice only ("test": the test block), and a how-long cue only
    ("y si el test sale negativo puedo ir tranquila?",
     (("ask_what_to_bring", 0.33), ("ask_driver", 0.12), ("ask_diagnostic_block", 0.1))),
])
def test_a_weak_cue_elsewhere_does_not_take_the_follow_up(charla: Conversation, text: str,
                                                          ranking: tuple) -> None:
    charla.say("tengo un retraso de la regla, puede ser un problema para la rizolisis?",
               "report_illness")
    charla.say(text, ranking[0][0], confidence=ranking[0][1], ranking=ranking)
    assert not keys(charla)[0].startswith("diagnostic_block."), keys(charla)


def test_how_long_alone_after_the_regrowth_answer_is_not_the_positioning(
        chat: Conversation) -> None:
    chat.say("do the nerves grow back", "ask_effectiveness")
    chat.say("how long till they do", "ask_procedure_steps", confidence=0.38,
             ranking=(("ask_procedure_steps", 0.38), ("ask_logistics", 0.24),
                      ("ask_positioning", 0.17)))
    assert not keys(chat)[0].startswith("positioning."), keys(chat)


@pytest.mark.parametrize("follow_up,intent,confidence", [
    ("its an older one, a medtronic i think", "report_illness", 0.3),
    ("does it matter which make it is", "ask_logistics", 0.28),
])
def test_more_about_a_condition_is_worth_telling_the_clinic(chat: Conversation, follow_up: str,
                                                            intent: str,
                                                            confidence: float) -> None:
    """After "tell the clinic" (a `clinic_decides` topic), an unplaced follow-up is more for
    the clinic to know, not "I'm not sure I understood"."""
    chat.say("i have a pacemaker does that change anything", "report_illness")
    reply = chat.say(follow_up, intent, confidence=confidence,
                     ranking=((intent, confidence), ("inform", 0.16)))
    assert keys(chat) == ["assistant.noted_for_clinic"], keys(chat)
    assert "555 010 0100" in reply and "doctor" in reply
    assert chat.state.misses == 0


def test_a_question_about_another_topic_after_a_condition_is_not_for_the_clinic(
        chat: Conversation) -> None:
    chat.say("also im 82, am i too old for it", "ask_eligibility")
    chat.say("should i just book the day off then", "ask_what_to_bring", confidence=0.5,
             ranking=(("ask_what_to_bring", 0.5), ("ask_recovery", 0.33)))
    assert keys(chat) == ["recovery.work"], keys(chat)


def test_an_unplaced_message_after_an_ordinary_answer_is_still_a_miss(chat: Conversation) -> None:
    chat.say("how long will i be there", "ask_logistics")
    chat.say("its an older one, a medtronic i think", "report_illness", confidence=0.3,
             ranking=(("report_illness", 0.3), ("inform", 0.16)))
    assert keys(chat) == ["assistant.fallback"], keys(chat)


def test_a_dye_reaction_is_the_contrast_screening_answer(chat: Conversation) -> None:
    chat.say("i react badly to the dye they use for ct scans, is that used in this?",
             "report_illness", confidence=0.3,
             ranking=(("report_illness", 0.3), ("ask_procedure_steps", 0.25)))
    assert keys(chat) == ["screening.allergy_contrast"], keys(chat)


def test_a_site_named_as_last_time_is_not_this_procedure(chat: Conversation) -> None:
    chat.say("i'm on brilinta, they're doing my neck", "inform",
             drugs=(("brilinta", "ticagrelor"),), sites=(("neck", "cervical"),))
    reply = chat.say("wait no sorry its my lower back, the neck was last time", "inform",
                     sites=(("lower back", "lumbar"), ("neck", "cervical")))
    assert chat.state.procedure_site == "lumbar"
    assert "lower back" in reply and "5 days" not in reply


def test_un_sitio_de_la_otra_vez_no_es_el_de_ahora(charla: Conversation) -> None:
    charla.say("tomo plavix, q tengo q hacer antes de la rizolisis", "ask_blood_thinners",
               drugs=(("plavix", "clopidogrel"),))
    charla.say("lumbar", "inform", sites=(("lumbar", "lumbar"),))
    reply = charla.say("ay no perdona, me equivoco, es en el cuello, lo lumbar fue el año "
                       "pasado", "inform", sites=(("cuello", "cervical"), ("lumbar", "lumbar")))
    assert charla.state.procedure_site == "cervical"
    assert "7 días" in reply


def test_last_time_before_the_site_is_an_earlier_procedure_too(chat: Conversation) -> None:
    chat.say("i take xarelto", "inform", drugs=(("xarelto", "rivaroxaban"),))
    chat.say("last time it was my neck, this time its the lower back", "inform",
             sites=(("neck", "cervical"), ("lower back", "lumbar")))
    assert chat.state.procedure_site == "lumbar"


def test_a_statement_of_the_site_before_a_drug_question_is_not_a_question(
        charla: Conversation) -> None:
    """The NLU splits "Me van a hacer una rizolisis lumbar y ..." off as procedure_info (0.66
    for the part); the whole message gives it almost nothing (blood thinners 0.95)."""
    text = ("Me van a hacer una rizolisis lumbar y tomo rivaroxaban (Xarelto 20). ¿Tengo que "
            "dejarlo?")
    charla.say(text, "ask_procedure_info", confidence=0.66,
               ranking=(("ask_procedure_info", 0.66), ("ask_blood_thinners", 0.95)),
               drugs=(("rivaroxaban", "rivaroxaban"),), sites=(("lumbar", "lumbar"),),
               parts=(("ask_procedure_info", "Me van a hacer una rizolisis lumbar", 0.01),
                      ("ask_blood_thinners", "tomo rivaroxaban (Xarelto 20). ¿Tengo que "
                       "dejarlo?", 0.95)))
    assert keys(charla) == ["blood_thinners.rule_prescriber_decides"], keys(charla)


def test_a_stated_part_the_whole_message_supports_is_still_answered(
        charla: Conversation) -> None:
    text = "me van a poner sedacion y tomo sintrom. cuando dejo de comer y cuando dejo el sintrom?"
    charla.say(text, "ask_fasting", confidence=0.8,
               ranking=(("ask_fasting", 0.8), ("ask_blood_thinners", 0.45)),
               drugs=(("sintrom", "acenocoumarol"),),
               parts=(("ask_fasting", "cuando dejo de comer", 0.4),
                      ("ask_blood_thinners", "cuando dejo el sintrom?", 0.45)))
    assert keys(charla)[0].startswith("fasting."), keys(charla)
    assert len(keys(charla)) >= 2, keys(charla)


def test_the_plan_for_each_drug_is_the_drug_answers(chat: Conversation) -> None:
    text = ("my neck RFA is in 3 weeks. I take Eliquis and also a low dose aspirin. what's the "
            "plan for each?")
    reply = chat.say(text, "ask_blood_thinners", confidence=0.96,
                     ranking=(("ask_blood_thinners", 0.96), ("inform", 0.31),
                              ("ask_plan", 0.0)),
                     drugs=(("Eliquis", "apixaban"), ("aspirin", "aspirin")),
                     sites=(("neck", "cervical"),),
                     parts=(("ask_blood_thinners", "I take Eliquis and also a low dose aspirin",
                             0.96), ("ask_plan", "what's the plan for each?", 0.0)))
    assert "3 days" in reply and "aspirin" in reply, reply
    assert not any(k.startswith("question.") for k in keys(chat)), keys(chat)


def test_a_plan_the_whole_message_asks_for_is_still_the_plan(chat: Conversation) -> None:
    text = "I take Eliquis. can you give me the whole plan?"
    chat.say(text, "ask_blood_thinners", confidence=0.7,
             ranking=(("ask_blood_thinners", 0.7), ("ask_plan", 0.4)),
             drugs=(("Eliquis", "apixaban"),),
             parts=(("ask_blood_thinners", "I take Eliquis", 0.3),
                    ("ask_plan", "can you give me the whole plan?", 0.4)))
    assert not any(k.startswith("blood_thinners.") for k in keys(chat)), keys(chat)


@pytest.mark.parametrize("text,site", [
    ("I give myself Lovenox shots. When's my last one before the lower back procedure?",
     "lumbar"),
    ("hace años que me duele la zona lumbar, tomo sintrom, cuando lo dejo?", "lumbar"),
])
def test_words_about_a_dose_or_how_long_do_not_make_the_site_an_earlier_one(
        chat: Conversation, charla: Conversation, text: str, site: str) -> None:
    talk = chat if text.startswith("I ") else charla
    word = "lower back" if "lower back" in text else "zona lumbar"
    drug = ("Lovenox", "enoxaparin") if "Lovenox" in text else ("sintrom", "acenocoumarol")
    talk.say(text, "ask_blood_thinners", drugs=(drug,), sites=((word, site),))
    assert talk.state.procedure_site == site


def test_a_report_after_the_procedure_is_the_recovery_answer(chat: Conversation) -> None:
    chat.say("Mum had it this morning with sedation and she's been sleepy all afternoon, is "
             "that ok?", "ask_sedation", confidence=0.42,
             ranking=(("ask_sedation", 0.42), ("report_illness", 0.22)))
    assert keys(chat) == ["recovery.tired"], keys(chat)


def test_un_entumecimiento_que_se_pasa_tras_la_prueba_es_la_recuperacion(
        charla: Conversation) -> None:
    charla.say("sali hace 3 horas y todavia tengo un poco dormido el muslo pero cada vez menos, "
               "ya casi ni lo noto", "express_anxiety", confidence=0.28,
               ranking=(("express_anxiety", 0.28), ("ask_procedure_steps", 0.14)))
    assert keys(charla) == ["recovery.numbness"], keys(charla)


def test_a_sure_question_about_sedation_after_the_procedure_stays_sedation(
        chat: Conversation) -> None:
    chat.say("i had it done yesterday, what was the sedation they gave me called?",
             "ask_sedation", confidence=0.9)
    assert keys(chat)[0].startswith("sedation."), keys(chat)


def test_how_long_this_lasts_after_the_soreness_answer_is_that_answer(
        charla: Conversation) -> None:
    charla.say("hace 4 dias de la rizolisis y tengo la piel como quemada del sol en la zona, me "
               "molesta hasta el roce de la camiseta", "ask_recovery", confidence=0.39,
               ranking=(("ask_recovery", 0.39), ("report_illness", 0.14)))
    assert keys(charla) == ["recovery.soreness"], keys(charla)
    reply = charla.say("cuanto dura esto?", "ask_logistics", confidence=0.83,
                       ranking=(("ask_logistics", 0.83), ("ask_effectiveness", 0.14)))
    assert keys(charla) == ["recovery.soreness"] and "semanas" in reply, keys(charla)


@pytest.mark.parametrize("text,key", [
    ("is there a number I can reach them on?", "logistics.hours"),
    ("ok who do i ring", "logistics.hours"),
    ("can i move it to the week after instead", "logistics.change_appointment"),
])
def test_the_clinics_number_and_moving_the_date(chat: Conversation, text: str, key: str) -> None:
    chat.say(text, "ask_what_to_bring", confidence=0.5,
             ranking=(("ask_what_to_bring", 0.5), ("ask_logistics", 0.1)))
    assert keys(chat) == [key], keys(chat)


def test_opening_hours_and_where_are_two_answers(chat: Conversation) -> None:
    chat.say("what are your opening hours and where exactly are you", "ask_logistics")
    assert keys(chat) == ["logistics.hours", "logistics.main"], keys(chat)


def test_milk_once_the_time_is_known_says_it_is_not_a_clear_drink(chat: Conversation) -> None:
    chat.say("its at 10am tomorrow", "inform")
    reply = chat.say("can i have a splash of semi-skimmed in my tea?", "ask_fasting")
    assert keys(chat) == ["plan.milk_at"], keys(chat)
    assert "not a clear drink" in reply and "3:30 am" in reply and "7:30 am" in reply, reply


def test_black_after_the_milk_answer_is_the_coffee_answer(chat: Conversation) -> None:
    chat.say("Am I allowed a cuppa with milk on the morning?", "ask_fasting")
    chat.say("fine, black it is. up to when?", "nlu_fallback", confidence=0.15,
             ranking=(("ask_effectiveness", 0.13), ("affirm", 0.11)))
    assert keys(chat) == ["fasting.coffee"], keys(chat)


@pytest.mark.parametrize("text,key", [
    ("puedo volver a casa en taxi yo sola?", "driver.taxi.false"),
    ("vivo sola y no tengo a nadie q me lleve a casa despues, puedo pillar un taxi?",
     "driver.taxi.false"),
    ("y si no me ponen sedacion tampoco puedo ir sola?", "driver.without_sedation.true"),
])
def test_a_taxi_or_no_sedation_beats_going_alone(charla: Conversation, text: str,
                                                 key: str) -> None:
    """"sola" is also the no-driver answer's cue: the taxi and the no-sedation answers, listed
    after it, are what these ask."""
    charla.say(text, "ask_driver")
    assert keys(charla) == [key], keys(charla)


def test_a_sixteen_year_old_driver_is_who_counts(chat: Conversation) -> None:
    chat.say("do i need someone to drive me", "ask_driver")
    reply = chat.say("my 16 yo son could ride w me", "inform", confidence=0.6)
    assert keys(chat) == ["driver.who_counts"] and not reply.startswith("Yes"), keys(chat)


def test_even_without_sedation_after_a_driving_answer_is_that_answer(chat: Conversation) -> None:
    chat.say("brill so I can drive myself home as well then", "ask_driver")
    chat.say("even without any sedation? seems a bit much", "ask_sedation", confidence=0.6,
             ranking=(("ask_sedation", 0.6), ("ask_driver", 0.2)))
    assert keys(chat) == ["driver.without_sedation.true"], keys(chat)


def test_a_wish_to_be_put_to_sleep_is_the_sedation_answer(charla: Conversation) -> None:
    charla.say("quiero que me duerman del todo por favor, no voy a poder estar quieta",
               "ask_sedation", confidence=0.7,
               ranking=(("ask_sedation", 0.7), ("ask_positioning", 0.14)))
    assert keys(charla)[0].startswith("sedation."), keys(charla)


def test_when_will_i_notice_it_after_the_effectiveness_answer(charla: Conversation) -> None:
    charla.say("funciona de verdad esto?", "ask_effectiveness")
    charla.say("y cuando se supone q lo notare?", "ask_procedure_steps", confidence=0.7,
               ranking=(("ask_procedure_steps", 0.7), ("ask_effectiveness", 0.14)))
    assert keys(charla) == ["effectiveness.onset"], keys(charla)


def test_feeling_calmer_is_taken_in_not_a_miss(charla: Conversation) -> None:
    charla.say("y si me muevo sin querer mientras me pinchan?", "ask_positioning")
    charla.say("gracias, me quedo un poco mas tranquila", "thank", confidence=0.42,
               ranking=(("thank", 0.42), ("ask_more", 0.36)))
    assert "assistant.fallback" not in keys(charla), keys(charla)


@pytest.mark.parametrize("talk,text", [("en", "how many needles go in"),
                                       ("es", "y cuantas agujas me ponen")])
def test_how_many_needles_is_its_own_answer(chat: Conversation, charla: Conversation,
                                            talk: str, text: str) -> None:
    conversation = chat if talk == "en" else charla
    reply = conversation.say(text, "ask_procedure_steps")
    assert keys(conversation) == ["procedure_steps.how_many"], keys(conversation)
    assert ("several" in reply) if talk == "en" else ("varias" in reply)


@pytest.mark.parametrize("talk,text,drugs,site", [
    ("en", "my back one: do the baby aspirin and the brilinta both have to stop?",
     (("baby aspirin", "aspirin"), ("brilinta", "ticagrelor")), ("back", "lumbar")),
    ("en", "on coumadin plus aspirin, its for the neck",
     (("coumadin", "warfarin"), ("aspirin", "aspirin")), ("neck", "cervical")),
    ("es", "para el cuello, el adiro y el nolotil los dejo?",
     (("adiro", "aspirin"), ("nolotil", "metamizole")), ("cuello", "cervical")),
])
def test_several_drugs_get_one_line_each_within_two_segments(
        chat: Conversation, charla: Conversation, talk: str, text: str,
        drugs: tuple[tuple[str, str], ...], site: tuple[str, str]) -> None:
    conversation = chat if talk == "en" else charla
    reply = conversation.say(text, "ask_blood_thinners", drugs=drugs, sites=(site,))
    names = [conversation.kb.medication(value) for _, value in drugs]
    assert all(m is not None and m.name_in(talk).lower() in reply.lower() for m in names), reply
    assert len(reply) <= (SHORT if len(drugs) == 2 and "coumadin" not in text else LONG), reply
    assert keys(conversation)[0] == "blood_thinners.list_intro", keys(conversation)
    assert keys(conversation)[-1] == "blood_thinners.list_close", keys(conversation)
    assert ("prescribed" if talk == "en" else "recetó") in reply


def test_warfarin_in_a_drug_list_keeps_its_inr_line(chat: Conversation) -> None:
    chat.say("on coumadin plus aspirin, its for the neck", "ask_blood_thinners",
             drugs=(("coumadin", "warfarin"), ("aspirin", "aspirin")),
             sites=(("neck", "cervical"),))
    assert "blood_thinners.list_inr" in keys(chat), keys(chat)


def test_a_draft_supplement_in_a_drug_list_gets_no_number(chat: Conversation) -> None:
    reply = chat.say("fish oil and garlic pills every morning, is that a problem? lower back",
                     "ask_blood_thinners",
                     drugs=(("fish oil", "fish oil"), ("garlic", "garlic")),
                     sites=(("lower back", "lumbar"),))
    assert keys(chat)[:2] == ["blood_thinners.list_intro", "blood_thinners.list_not_reviewed"]
    fish_line = reply.split("fish oil", 1)[1].split(".", 1)[0]
    assert not re.search(r"\d", fish_line), reply


def test_one_drug_keeps_its_full_rule_text(chat: Conversation) -> None:
    chat.say("the brilinta, lower back", "ask_blood_thinners",
             drugs=(("brilinta", "ticagrelor"),), sites=(("lower back", "lumbar"),))
    assert not any(k.startswith("blood_thinners.list_") for k in keys(chat)), keys(chat)


def test_a_drug_taken_before_is_not_the_drug_asked_about(chat: Conversation) -> None:
    chat.say("pradaxa for my neck one", "ask_blood_thinners",
             drugs=(("pradaxa", "dabigatran"),), sites=(("neck", "cervical"),))
    reply = chat.say("is an INR needed, like in the days when I was on coumadin?",
                     "ask_blood_thinners", drugs=(("coumadin", "warfarin"),))
    assert keys(chat) == ["blood_thinners.inr_not_needed"], keys(chat)
    assert "dabigatran" in reply and chat.state.medications_taken == ("dabigatran",)


def test_going_back_on_it_after_a_drug_answer_is_its_restart(chat: Conversation) -> None:
    chat.say("xarelto, lower back", "ask_blood_thinners",
             drugs=(("xarelto", "rivaroxaban"),), sites=(("lower back", "lumbar"),))
    chat.say("and once it's all done, when am I allowed back on it", "ask_recovery",
             confidence=0.95, ranking=(("ask_recovery", 0.95), ("ask_blood_thinners", 0.03)))
    assert keys(chat)[0] == "blood_thinners.restart_rule", keys(chat)


@pytest.mark.parametrize("text", ["his one is at 9.15, when does he stop eating",
                                  "she's in at 9.15, when does she stop eating"])
def test_a_time_said_of_a_relatives_booking_gives_clock_times(chat: Conversation,
                                                             text: str) -> None:
    reply = chat.say(text, "ask_fasting")
    assert "8:45" in reply and "2:45" in reply, reply  # arrival, then 6 h before it


def test_la_rf_a_las_gives_clock_times(charla: Conversation) -> None:
    reply = charla.say("tengo la rf a las 11:30, hasta q hora puedo beber agua?", "ask_fasting")
    assert "9:00" in reply, reply  # arrival 11:00, clear drinks until 2 h before


def test_no_sedation_said_then_a_cut_off_question_gets_the_no_sedation_answer(
        chat: Conversation) -> None:
    chat.say("they're doing mine with just the local, no sedation. do I need to fast?",
             "ask_fasting")
    assert keys(chat) == ["fasting.no_sedation.false"], keys(chat)
    reply = chat.say("and a bowl of cereal in the morning is fine?", "ask_fasting")
    assert keys(chat) == ["fasting.no_sedation.false"], keys(chat)
    assert not reply.lower().startswith(("no", "usually not")), reply


@pytest.mark.parametrize("talk,first,then", [
    ("en", "no sedation for me, only local. still fasting?",
     "what if they do sedate me in the end"),
    ("es", "me lo hacen sin sedar, solo local. tengo que ir en ayunas?", "y si al final me sedan?"),
])
def test_sedation_after_all_brings_back_the_fasting_times(
        chat: Conversation, charla: Conversation, talk: str, first: str, then: str) -> None:
    conversation = chat if talk == "en" else charla
    conversation.say(first, "ask_fasting")
    reply = conversation.say(then, "ask_sedation", confidence=0.95)
    assert keys(conversation)[0].startswith("fasting.main"), keys(conversation)
    assert "6" in reply and "2" in reply, reply


def test_asking_whether_i_am_awake_says_nothing_about_sedation(chat: Conversation) -> None:
    chat.say("will I be awake for the whole thing?", "ask_sedation")
    chat.say("and is breakfast ok that morning?", "ask_fasting")
    assert keys(chat) == ["fasting.breakfast"], keys(chat)


def test_what_a_drink_counts_as_keeps_its_answer_without_sedation(charla: Conversation) -> None:
    charla.say("me lo hacen solo con anestesia local, tengo que ir en ayunas?", "ask_fasting")
    charla.say("y el zumo de manzana cuenta como liquido claro?", "ask_fasting")
    assert keys(charla) == ["fasting.juice"], keys(charla)


def test_oh_no_is_not_a_negation(chat: Conversation) -> None:
    chat.say("oh no I forgot and took my xarelto today, its my neck one on monday",
             "ask_blood_thinners", drugs=(("xarelto", "rivaroxaban"),),
             sites=(("neck", "cervical"),))
    assert keys(chat) == ["blood_thinners.missed_dose"], keys(chat)


def test_late_for_the_appointment_is_not_an_afternoon_slot(charla: Conversation) -> None:
    charla.say("a q hora tengo q llegar?", "ask_logistics")
    charla.say("y si llego tarde por un atasco?", "ask_fasting", confidence=0.5,
               ranking=(("ask_fasting", 0.5), ("ask_logistics", 0.3)))
    assert "fasting.afternoon" not in keys(charla), keys(charla)


def test_telefono_alone_is_the_clinics_number(charla: Conversation) -> None:
    reply = charla.say("telefono de la clinica?", "ask_logistics")
    assert "930 000 000" in reply, reply


@pytest.mark.parametrize("talk,booking,question,cutoff", [
    ("en", "my appointment is next tuesday at 10am", "and a fry up with sausages at 1am?",
     "1:30"),  # arrival 9:30, fatty food 8 h before
    ("es", "mi cita es el martes a las 10", "y unos huevos fritos con chorizo a las 2?", "01:30"),
])
def test_fatty_food_gets_its_own_cut_off(chat: Conversation, charla: Conversation, talk: str,
                                         booking: str, question: str, cutoff: str) -> None:
    conversation = chat if talk == "en" else charla
    conversation.say(booking, "inform")
    reply = conversation.say(question, "ask_fasting")
    assert keys(conversation) == ["plan.fatty_meal_at"], keys(conversation)
    assert cutoff in reply and "8" in reply, reply


def test_fatty_food_without_a_time_names_its_hours(chat: Conversation) -> None:
    reply = chat.say("is a greasy burger the night before ok?", "ask_fasting")
    assert keys(chat) == ["fasting.fatty"], keys(chat)
    assert "8 hours" in reply, reply


def test_milk_is_said_not_to_be_a_clear_drink(chat: Conversation) -> None:
    reply = chat.say("can I have a latte that morning?", "ask_fasting")
    assert keys(chat) == ["fasting.milk"] and "isn't a clear drink" in reply, reply


def test_a_site_question_waits_through_one_other_question(chat: Conversation) -> None:
    chat.say("how long before do I stop my eliquis", "ask_blood_thinners",
             drugs=(("eliquis", "apixaban"),))
    assert chat.state.pending is not None and chat.state.pending.ask == "site"
    chat.say("hang on, where do I park?", "ask_logistics")
    assert keys(chat) == ["logistics.parking"], keys(chat)
    reply = chat.say("mine is the neck one", "inform", sites=(("neck", "cervical"),))
    assert "apixaban" in reply and "3 days" in reply, reply


def test_a_set_aside_question_is_dropped_not_asked_again(chat: Conversation) -> None:
    chat.say("how long before do I stop my eliquis", "ask_blood_thinners",
             drugs=(("eliquis", "apixaban"),))
    chat.say("hang on, where do I park?", "ask_logistics")
    chat.say("thanks", "thank")
    assert chat.state.pending is None
    assert "question.site_for_drug" not in keys(chat) and "question.site" not in keys(chat)


@pytest.mark.parametrize("text", ["so what am I supposed to do then?",
                                  "right, so what do I have to do?"])
def test_a_generic_question_after_an_answer_gets_that_answer_again(chat: Conversation,
                                                                   text: str) -> None:
    chat.say("brilinta, for the neck", "ask_blood_thinners",
             drugs=(("brilinta", "ticagrelor"),), sites=(("neck", "cervical"),))
    first = keys(chat)
    chat.say(text, "ask_capabilities", confidence=0.3,
             ranking=(("ask_capabilities", 0.3), ("ask_plan", 0.2)))
    assert keys(chat) == first, keys(chat)


def test_ok_after_an_answer_is_not_the_answer_again(chat: Conversation) -> None:
    chat.say("brilinta, for the neck", "ask_blood_thinners",
             drugs=(("brilinta", "ticagrelor"),), sites=(("neck", "cervical"),))
    first = keys(chat)
    chat.say("ok", "affirm", confidence=0.6)
    assert keys(chat) != first, keys(chat)


@pytest.mark.parametrize("talk,text,sites,site", [
    ("en", "its for my neck. no wait, I mixed it up, the lower back", (("neck", "cervical"),
                                                                      ("lower back", "lumbar")),
     "lumbar"),
    ("es", "es la lumbar, uy no, perdona, es en el cuello", (("lumbar", "lumbar"),
                                                            ("cuello", "cervical")), "cervical"),
])
def test_a_site_corrected_in_the_same_message_is_the_second(
        chat: Conversation, charla: Conversation, talk: str, text: str,
        sites: tuple[tuple[str, str], ...], site: str) -> None:
    conversation = chat if talk == "en" else charla
    conversation.say(text, "inform", sites=sites)
    assert conversation.state.procedure_site == site


def test_two_sites_without_a_correction_are_both_still_open(chat: Conversation) -> None:
    chat.say("is it the same for the neck and the lower back?", "ask_positioning",
             sites=(("neck", "cervical"), ("lower back", "lumbar")))
    assert chat.state.procedure_site is None


@pytest.mark.parametrize("talk,text,key", [
    ("en", "what time can I call you", "logistics.hours"),
    ("en", "is there someone I can call out of hours?", "logistics.hours"),
    ("es", "a que hora puedo llamar?", "logistics.hours"),
])
def test_when_the_clinic_can_be_called_is_the_hours_answer(
        chat: Conversation, charla: Conversation, talk: str, text: str, key: str) -> None:
    conversation = chat if talk == "en" else charla
    conversation.say(text, "ask_logistics", confidence=0.6)
    assert keys(conversation) == [key], keys(conversation)


def test_a_condition_then_a_question_and_a_second_topic_are_both_answered(
        chat: Conversation) -> None:
    chat.say("if the traffic is bad who do I call, and should I bring my photo ID?",
             "ask_logistics", confidence=0.95)
    assert keys(chat) == ["logistics.hours", "what_to_bring.main"], keys(chat)


def test_a_condition_alone_is_no_question(chat: Conversation) -> None:
    from actions.conversation.cues import Cues
    cues = Cues(chat.kb.registry, "en")
    text = "if I can get a lift from my son"
    assert not cues.is_question(text, 0, len(text))
