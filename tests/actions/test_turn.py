"""Reading Rasa's parse data into a Turn: never trust what arrives in it."""

from __future__ import annotations

from actions.conversation.turn import Turn


def test_a_topic_entitys_support_is_read_and_a_bad_one_ignored() -> None:
    latest = {
        "text": "me van a hacer una rizolisis lumbar y tomo xarelto, lo dejo?",
        "intent": {"name": "ask_procedure_info", "confidence": 0.66},
        "intent_ranking": [{"name": "ask_procedure_info", "confidence": 0.66},
                           {"name": "ask_blood_thinners", "confidence": 0.95}],
        "entities": [
            {"entity": "topic", "value": "ask_procedure_info", "start": 0, "end": 35,
             "support": 0.01},
            {"entity": "topic", "value": "ask_blood_thinners", "start": 38, "end": 60,
             "support": "lots"},
            {"entity": "topic", "value": "ask_fasting", "start": 38, "end": 60,
             "support": True},
        ],
    }
    turn = Turn.from_parse_data(latest, "es")
    assert [m.support for m in turn.mentions("topic")] == [0.01, None, None]
