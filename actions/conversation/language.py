"""Which language to answer in: the conversation's, unless the patient asks for another or
clearly writes in it.

Why here and not only in the NLU: the language detector upstream sees one message at a time,
and a short or mixed Spanish message ("y la metformina? soy diabetica") can come out as
English; a Spanish conversation must then stay Spanish. The words that decide are the
registry's `language_words` (data/kb/topics.yml). The action server receives the slots but
not the event history, so the reference is the language the conversation started in.
"""

from __future__ import annotations

from typing import Any, Mapping

from actions.conversation.cues import Cues
from actions.kb.registry import Registry


def kept_language(registry: Registry, text: str, detected: str, previous: str) -> str:
    """`detected`, unless the conversation is in `previous` (the language it started in, or
    the clinic's) and the message has more common words of `previous` than of `detected` and
    does not ask for a language. A patient who switched ("English please") and writes English
    keeps English: the rule only holds back a switch the words do not show."""
    if not previous or not detected or previous == detected:
        return detected or previous
    cues = Cues(registry, previous)
    if cues.requested_language(text):
        return detected
    if cues.language_score(text, previous) > cues.language_score(text, detected):
        return previous
    return detected


def started_in(slots: Mapping[str, Any]) -> str:
    """The language the conversation started in (`session_started_metadata`, set from the
    first message's metadata); "" when unknown. Slots are never trusted."""
    started = slots.get("session_started_metadata")
    value = started.get("language") if isinstance(started, Mapping) else None
    return value if isinstance(value, str) else ""
