"""Several questions in one message: which topics a message asks about, in the order asked.

Pure Python (no Rasa import): `TopicClassifier` and the benchmark call the same function.
"""

from dataclasses import dataclass
from typing import Callable, Collection, List, Optional, Sequence, Text, Tuple

from bot.nlu.text import split_questions

Ranking = List[Tuple[Text, float]]  # intents, most likely first


@dataclass(frozen=True)
class AskedTopic:
    """One topic intent asked in a part of the message (character offsets into the text)."""

    intent: Text
    confidence: float
    start: int
    end: int


def asked_topics(
    text: Text,
    rank: Callable[[Sequence[Text]], List[Ranking]],
    topic_intents: Collection[Text],
    min_confidence: float,
    min_words: int = 2,
    whole: Optional[Ranking] = None,
    min_support: float = 0.0,
) -> List[AskedTopic]:
    """The distinct topic intents asked in the parts of `text`, in order; [] for one topic.

    The message is split at question marks, sentence stops, semicolons and joining words
    ("and", "also", "y", "también", "además"...; see `bot.nlu.text.split_questions`); each part
    is classified with `rank`, and a part counts when its best intent is a topic intent with
    at least `min_confidence`. Two or more distinct topics make a multi-question message; one
    topic asked twice ("when do I stop eliquis and when do I restart it") is one question.
    With `whole` (the ranking of the entire message), a topic must also have at least
    `min_support` there: a part read out of context ("what happens now?") does not add a
    topic the message as a whole gives no weight to.
    """
    support = dict(whole or [])
    spans = split_questions(text, min_words=min_words)
    if len(spans) < 2:
        return []
    rankings = rank([text[start:end] for start, end in spans])
    found: List[AskedTopic] = []
    for (start, end), ranking in zip(spans, rankings, strict=False):
        if not ranking:
            continue
        intent, confidence = ranking[0]
        if intent not in topic_intents or confidence < min_confidence:
            continue
        if whole is not None and support.get(intent, 0.0) < min_support:
            continue
        if any(topic.intent == intent for topic in found):
            continue
        found.append(AskedTopic(intent, confidence, start, end))
    return found if len(found) >= 2 else []
