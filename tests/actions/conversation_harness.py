"""A conversation with the engine on the shipped KB, without Rasa: say(), then look at replies.

Why: the engine (actions/conversation/engine.py) is a pure function of the KB snapshot, the
message and the slots, so a whole conversation can be played in a unit test. Entities are
given as the NLU would (generic names, sites), with offsets found in the text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any, Optional

from actions.conversation.engine import Outcome, respond
from actions.conversation.turn import Entity, State, Turn
from actions.kb.snapshot import KbSnapshot

NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.timezone.utc)  # Tue 1 Dec, 10:00 New York


def entity(text: str, name: str, word: str, value: str) -> Entity:
    """An entity for `word` as it occurs in `text` (case-insensitive)."""
    start = text.lower().find(word.lower())
    assert start >= 0, f"{word!r} not in {text!r}"
    return Entity(name, value, start, start + len(word))


@dataclass
class Conversation:
    """One patient talking to the engine; state carried between turns like the slots."""

    kb: KbSnapshot
    language: str = "en"
    now: dt.datetime = NOW
    state: State = field(default_factory=State)
    last: Optional[Outcome] = None

    def say(self, text: str, intent: str, confidence: float = 0.9,
            drugs: tuple[tuple[str, str], ...] = (), sites: tuple[tuple[str, str], ...] = (),
            topics: tuple[str, ...] = (), ranking: tuple[tuple[str, float], ...] = (),
            parts: tuple[tuple[Any, ...], ...] = ()) -> str:
        """Send a message; `drugs`/`sites` are (word in text, value) pairs; `parts` are
        (topic intent, the question part's words[, the whole message's probability of it]) as
        the NLU marks several questions; returns the reply."""
        entities = [entity(text, "medication", word, value) for word, value in drugs]
        entities += [entity(text, "procedure_site", word, value) for word, value in sites]
        entities += [Entity("topic", name, i, i + 1) for i, name in enumerate(topics)]
        entities += [replace(entity(text, "topic", part[1], part[0]),
                             support=part[2] if len(part) > 2 else None) for part in parts]
        turn = Turn(text, self.language, intent, confidence, ranking, tuple(entities))
        self.last = respond(self.kb, turn, self.state, self.now)
        self.state = self.last.state
        return self.reply

    @property
    def reply(self) -> str:
        """The last reply's messages joined by a space."""
        assert self.last is not None
        return " ".join(m.text for m in self.last.messages)

    @property
    def buttons(self) -> list[str]:
        """Titles of the last reply's quick replies."""
        assert self.last is not None
        return [b.title for m in self.last.messages for b in m.buttons]

    @property
    def entries(self) -> list[str]:
        """KB entries behind the last reply."""
        assert self.last is not None
        return [e for m in self.last.messages for e in m.entries]
