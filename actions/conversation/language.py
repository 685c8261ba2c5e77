"""Which language to answer in: the conversation's, unless the patient asks for another or
clearly writes in it.

Why here and not only in the NLU: the language detector upstream sees one message at a time,
and a short or mixed Spanish message ("y la metformina? soy diabetica") can come out as
English; a Spanish conversation must then stay Spanish. The words that decide are the
registry's `language_words` (data/kb/topics.yml).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from actions.conversation.cues import Cues
from actions.kb.registry import Registry


def kept_language(registry: Registry, text: str, detected: str, previous: str) -> str:
    """`detected`, unless the conversation was in `previous` and the message has more common
    words of `previous` than of `detected` and does not ask for a language."""
    if not previous or not detected or previous == detected:
        return detected or previous
    cues = Cues(registry, previous)
    if cues.requested_language(text):
        return detected
    if cues.language_score(text, previous) > cues.language_score(text, detected):
        return previous
    return detected


def _user_indices(events: list[Mapping[str, Any]]) -> list[int]:
    return [i for i, event in enumerate(events) if event.get("event") == "user"]


def previous_language(events: Iterable[Mapping[str, Any]]) -> str:
    """The `language` slot as it was before the latest patient message."""
    items = list(events)
    users = _user_indices(items)
    if not users:
        return ""
    for event in reversed(items[:users[-1]]):
        if event.get("event") == "slot" and event.get("name") == "language":
            value = event.get("value")
            return value if isinstance(value, str) else ""
    return ""
