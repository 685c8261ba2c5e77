"""Which topics a message asks: a part that only tells is not a question of its own."""

from __future__ import annotations

from typing import Callable, Dict, List, Sequence

import pytest

from bot.nlu.questions import Ranking, asked_topics, states

TOPICS = {"report_illness", "ask_positioning", "ask_procedure_steps", "ask_recovery"}


@pytest.mark.parametrize("part", ["I have bad shoulders", "My mum is diabetic and hates "
                                  "going without food", "Tengo hernia de hiato y me da reflujo"])
def test_a_statement_states(part: str) -> None:
    assert states(part)


@pytest.mark.parametrize("part", ["Is it painful", "hay parking", "duele",
                                  "im diabetic does that matter", "when can I go back to work"])
def test_a_question_without_a_question_mark_does_not_state(part: str) -> None:
    assert not states(part)


def ranker(by_part: Dict[str, Ranking]) -> Callable[[Sequence[str]], List[Ranking]]:
    def rank(parts: Sequence[str]) -> List[Ranking]:
        return [by_part[p.strip(" ,?")] for p in parts]
    return rank


def test_a_stated_part_the_whole_message_does_not_support_is_dropped() -> None:
    text = "I have bad shoulders, will I need to put my arms up over my head?"
    rank = ranker({"I have bad shoulders": [("report_illness", 0.9)],
                   "will I need to put my arms up over my head": [("ask_positioning", 0.8)]})
    whole = [("ask_positioning", 0.7), ("report_illness", 0.01)]
    kept = asked_topics(text, rank, TOPICS, 0.6, whole=whole, stated_min_support=0.02)
    assert kept == []  # one topic left: the message's own intent
    both = asked_topics(text, rank, TOPICS, 0.6, whole=whole, stated_min_support=0.0)
    assert [t.intent for t in both] == ["report_illness", "ask_positioning"]


def test_a_short_question_part_is_kept_however_little_support() -> None:
    text = "Is it painful, and when can I go back to work?"
    rank = ranker({"Is it painful": [("ask_procedure_steps", 0.9)],
                   "when can I go back to work": [("ask_recovery", 0.9)]})
    whole = [("ask_recovery", 0.9), ("ask_procedure_steps", 0.01)]
    kept = asked_topics(text, rank, TOPICS, 0.6, whole=whole, stated_min_support=0.02)
    assert [t.intent for t in kept] == ["ask_procedure_steps", "ask_recovery"]
