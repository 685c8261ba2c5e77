"""Topic answers: the right KB entry for the intent, the site and the patient's words."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import conversation_map
from actions.driver import ActionDriverFollowup
from actions.fasting import ActionAnswerFasting
from actions.flow import ActionHandleInform, ActionResumeTopic
from actions.topics import ActionAnswerTopic
from tests.actions.conftest import TrackerFactory, entries, texts

SITE_NEUTRAL_TOPICS = sorted(
    intent for intent, topic in conversation_map().intent_topics.items()
    if intent not in {"ask_fasting", "ask_blood_thinners", "ask_positioning", "ask_procedure_steps"}
)


@pytest.mark.parametrize("intent", SITE_NEUTRAL_TOPICS)
async def test_each_topic_answers_from_its_kb_entry(
    intent: str, make_tracker: TrackerFactory, dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    topic = conversation_map().intent_topics[intent]
    events = await ActionAnswerTopic().run(dispatcher, make_tracker("tell me", intent), domain)
    assert events == [SlotSet("flow_step", None)]
    assert entries(dispatcher)[0] == [f"answer.{topic}.main"]
    assert texts(dispatcher)[0]
    assert all("{" not in t for t in texts(dispatcher)), "placeholders must be filled"


async def test_driver_adds_the_taxi_rule(make_tracker: TrackerFactory,
                                         dispatcher: CollectingDispatcher, domain: dict) -> None:
    await ActionAnswerTopic().run(dispatcher, make_tracker("do i need a driver", "ask_driver"),
                                  domain)
    assert entries(dispatcher) == [["answer.driver.main"], ["answer.driver.taxi"]]


async def test_positioning_asks_the_site_when_unknown(
    make_tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict
) -> None:
    events = await ActionAnswerTopic().run(
        dispatcher, make_tracker("how will i lie", "ask_positioning"), domain)
    assert dispatcher.messages == []
    assert events == [SlotSet("pending_topic", "positioning.main"),
                      SlotSet("flow_step", "ask_site")]


@pytest.mark.parametrize(("site", "entry"), [("lumbar", "answer.positioning.main.lumbar"),
                                             ("cervical", "answer.positioning.main.cervical")])
async def test_positioning_per_site(site: str, entry: str, make_tracker: TrackerFactory,
                                    dispatcher: CollectingDispatcher, domain: dict) -> None:
    tracker = make_tracker("how do i lie", "ask_positioning", slots={"procedure_site": site})
    await ActionAnswerTopic().run(dispatcher, tracker, domain)
    assert entries(dispatcher) == [[entry]]


async def test_cannot_lie_on_stomach(make_tracker: TrackerFactory,
                                     dispatcher: CollectingDispatcher, domain: dict) -> None:
    tracker = make_tracker("I can't lie on my stomach for long", "ask_positioning",
                           slots={"procedure_site": "lumbar"})
    await ActionAnswerTopic().run(dispatcher, tracker, domain)
    assert entries(dispatcher) == [["answer.positioning.cannot_lie_still"]]


async def test_anxiety_gets_reassurance(make_tracker: TrackerFactory,
                                        dispatcher: CollectingDispatcher, domain: dict) -> None:
    await ActionAnswerTopic().run(
        dispatcher, make_tracker("im really nervous about being awake", "ask_sedation"), domain)
    assert entries(dispatcher) == [["answer.sedation.anxiety"]]
    assert "+1 555 010 0100" in texts(dispatcher)[0]


@pytest.mark.parametrize(("text", "medications", "key"), [
    ("what about my ozempic", ("semaglutide",), "medications.glp1"),
    ("I'm diabetic, what about my metformin", (), "medications.diabetes"),
    ("should i take my blood pressure pills", (), "medications.blood_pressure"),
    ("can i take my usual meds", (), "medications.main"),
])
async def test_medication_subtopics(text: str, medications: tuple[str, ...], key: str,
                                    make_tracker: TrackerFactory,
                                    dispatcher: CollectingDispatcher, domain: dict) -> None:
    tracker = make_tracker(text, "ask_medications", medications=medications)
    await ActionAnswerTopic().run(dispatcher, tracker, domain)
    assert entries(dispatcher)[0] == [f"answer.{key}"]


async def test_illness_adds_screening_advice(make_tracker: TrackerFactory,
                                             dispatcher: CollectingDispatcher,
                                             domain: dict) -> None:
    await ActionAnswerTopic().run(
        dispatcher, make_tracker("i have a fever since yesterday", "report_illness"), domain)
    ids = [e for group in entries(dispatcher) for e in group]
    assert ids[0] == "answer.illness.main"
    assert "screening.fever" in ids


async def test_fasting_with_sedation(make_tracker: TrackerFactory,
                                     dispatcher: CollectingDispatcher, domain: dict) -> None:
    events = await ActionAnswerFasting().run(
        dispatcher, make_tracker("when do i stop eating", "ask_fasting"), domain)
    assert events == [SlotSet("flow_step", None)]
    assert entries(dispatcher) == [["answer.fasting.policy"], ["answer.fasting.gum"],
                                   ["answer.fasting.medicines"], ["answer.fasting.offer_plan"]]
    assert "6 hours" in texts(dispatcher)[0] and "2 hours" in texts(dispatcher)[0]


async def test_fasting_without_sedation(make_tracker: TrackerFactory,
                                        dispatcher: CollectingDispatcher, domain: dict) -> None:
    tracker = make_tracker("do i fast", "ask_fasting", slots={"sedation_planned": False})
    await ActionAnswerFasting().run(dispatcher, tracker, domain)
    assert entries(dispatcher)[0] == ["answer.fasting.no_sedation"]


async def test_resume_answers_the_pending_topic(make_tracker: TrackerFactory,
                                                dispatcher: CollectingDispatcher,
                                                domain: dict) -> None:
    tracker = make_tracker("neck", "inform", slots={
        "procedure_site": "cervical", "pending_topic": "positioning.main", "flow_step": "ask_site"})
    events = await ActionResumeTopic().run(dispatcher, tracker, domain)
    assert entries(dispatcher) == [["answer.positioning.main.cervical"]]
    assert events == [SlotSet("flow_step", None), SlotSet("pending_topic", None)]


async def test_inform_without_context_is_acknowledged(make_tracker: TrackerFactory,
                                                      dispatcher: CollectingDispatcher,
                                                      domain: dict) -> None:
    await ActionHandleInform().run(dispatcher, make_tracker("its my neck", "inform",
                                                            slots={"procedure_site": "cervical"}),
                                   domain)
    assert entries(dispatcher) == [["answer.assistant.noted"]]


@pytest.mark.parametrize(("has_driver", "expected"), [
    (False, {"kb_entries": ["answer.driver.no_driver"]}),
    (True, {"response": "utter_driver_confirmed"}),
])
async def test_driver_followup(has_driver: bool, expected: dict, make_tracker: TrackerFactory,
                               dispatcher: CollectingDispatcher, domain: dict) -> None:
    await ActionDriverFollowup().run(dispatcher, make_tracker("no", "deny",
                                                              slots={"has_driver": has_driver}),
                                     domain)
    message = dispatcher.messages[0]
    for key, value in expected.items():
        assert message[key] == value


async def test_blood_thinner_asked_as_a_medicine_question_gets_the_hold_rule(
    make_tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict
) -> None:
    tracker = make_tracker("should i keep taking my eliquis", "ask_medications",
                           medications=("apixaban",), slots={"procedure_site": "cervical"})
    await ActionAnswerTopic().run(dispatcher, tracker, domain)
    assert entries(dispatcher)[0] == ["answer.blood_thinners.rule_hold_days",
                                      "medication.apixaban"]


async def test_glp1_asked_as_a_blood_thinner_question_gets_the_medicines_answer(
    make_tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict
) -> None:
    from actions.blood_thinners import ActionAnswerBloodThinners

    tracker = make_tracker("im on ozempic do i need to stop it before", "ask_blood_thinners",
                           medications=("semaglutide",), slots={"procedure_site": "lumbar"})
    await ActionAnswerBloodThinners().run(dispatcher, tracker, domain)
    assert entries(dispatcher) == [["answer.medications.glp1"]]
