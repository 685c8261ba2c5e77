"""Several questions in one message: which topics a message asks about, in the order asked.

Pure Python (no Rasa import): `TopicClassifier` and the benchmark call the same function.
"""

import re
from dataclasses import dataclass
from typing import Callable, Collection, List, Optional, Sequence, Text, Tuple

from bot.nlu.text import asks, split_questions

Ranking = List[Tuple[Text, float]]  # intents, most likely first


@dataclass(frozen=True)
class AskedTopic:
    """One topic intent asked in a part of the message (character offsets into the text)."""

    intent: Text
    confidence: float
    start: int
    end: int


STATED_MIN_WORDS = 4  # "is it painful", "hay parking", "duele": short parts still ask
# An inverted question ("is it painful", "hay parking") or one asked inside ("im diabetic does
# that matter"): no question word of `asks`, and still not a statement.
_INVERTED = re.compile(
    r"^\W*(?:is|are|does|do|did|can|could|will|would|should|am|has|have|hay|es|esta|está|"
    r"duele|dolera|dolerá|me duermen|me van)\b|\b(?:does|do|is|will|would|can|could) "
    r"(?:that|it|this|he|she|they|i|we)\b", re.IGNORECASE)


def states(part: Text) -> bool:
    """A part that tells rather than asks: no question word, no inverted question, and long
    enough to be a statement ("I have bad shoulders", "My mum is diabetic and ...")."""
    return not asks(part) and _INVERTED.search(part) is None and \
        len(part.split()) >= STATED_MIN_WORDS


def asked_topics(
    text: Text,
    rank: Callable[[Sequence[Text]], List[Ranking]],
    topic_intents: Collection[Text],
    min_confidence: float,
    min_words: int = 2,
    whole: Optional[Ranking] = None,
    min_support: float = 0.0,
    tells_booking: Optional[Callable[[Text], bool]] = None,
    stated_min_support: float = 0.0,
) -> List[AskedTopic]:
    """The distinct topic intents asked in the parts of `text`, in order; [] for one topic.

    The message is split at question marks, sentence stops, semicolons and joining words
    ("and", "also", "y", "también", "además"...; see `bot.nlu.text.split_questions`); each part
    is classified with `rank`, and a part counts when its best intent is a topic intent with
    at least `min_confidence`. Two or more distinct topics make a multi-question message; one
    topic asked twice ("when do I stop eliquis and when do I restart it") is one question.
    With `whole` (the ranking of the entire message), a topic must also have at least
    `min_support` there: a part read out of context ("what happens now?") does not add a
    topic the message as a whole gives no weight to. A part that only tells the booking
    (`tells_booking`, no "?" after it: "tengo la cita a las 16h, puedo desayunar?") asks
    nothing: the one question after it is then the message's topic. A part that does not ask
    (no question word, no "?" after it) needs at least `stated_min_support` in `whole`: "My mum
    is diabetic and hates going without food, how many hours does she have to fast for?" tells
    a condition (report_illness, 0.86 for the part, 0.003 for the message) and asks about fasting.
    """
    support = dict(whole or [])
    spans = split_questions(text, min_words=min_words)
    if len(spans) < 2:
        return []
    rankings = rank([text[start:end] for start, end in spans])
    found: List[AskedTopic] = []
    told = False
    for (start, end), ranking in zip(spans, rankings, strict=False):
        if not ranking:
            continue
        if tells_booking is not None and "?" not in text[end:end + 2] \
                and tells_booking(text[start:end]):
            told = True
            continue
        intent, confidence = ranking[0]
        if intent not in topic_intents or confidence < min_confidence:
            continue
        if whole is not None and support.get(intent, 0.0) < min_support:
            continue
        if whole is not None and support.get(intent, 0.0) < stated_min_support \
                and states(text[start:end]) and "?" not in text[end:end + 2]:
            continue
        if any(topic.intent == intent for topic in found):
            continue
        found.append(AskedTopic(intent, confidence, start, end))
    return found if len(found) >= 2 or (told and len(found) == 1) else []
