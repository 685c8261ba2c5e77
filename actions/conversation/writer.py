"""Turn KB text keys into the messages a patient sees, with provenance on every message.

Why here and only here: every sentence a patient sees is an approved KB text; this module fills
its placeholders, serves the patient's language (or English with the KB's one-line note when the
translation is not approved yet), and records which entries and sources produced each message,
so staff can see in the transcript exactly where a statement came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from actions.kb.db import KnowledgeBaseUnavailable
from actions.kb.render import fill
from actions.kb.snapshot import KbSnapshot, ServedText
from actions.plan.formatting import Locale

UNTRANSLATED_NOTE = "assistant.untranslated_note"


@dataclass(frozen=True)
class Button:
    """A quick reply: its label and the plain text it sends (never an intent payload)."""

    title: str
    payload: str


@dataclass
class Message:
    """One bot message: text, quick replies, and the KB entries it came from."""

    text: str
    buttons: list[Button] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        """Arguments for CollectingDispatcher.utter_message (provenance goes to metadata)."""
        kwargs: dict[str, Any] = {"text": self.text}
        if self.buttons:
            kwargs["buttons"] = [{"title": b.title, "payload": b.payload} for b in self.buttons]
        if self.entries:
            kwargs["kb_entries"] = list(dict.fromkeys(self.entries))
            kwargs["kb_sources"] = list(dict.fromkeys(self.sources))
        return kwargs


@dataclass(frozen=True)
class Piece:
    """A filled text and where it came from."""

    text: str
    entries: tuple[str, ...]
    sources: tuple[str, ...]
    translated: bool = True


class Writer:
    """Fills KB texts for one patient: their language and, where texts differ, their site."""

    def __init__(self, kb: KbSnapshot, language: str) -> None:
        self.kb = kb
        self.language = language
        self._untranslated = False

    @property
    def locale(self) -> Locale:
        """Date and time words in the patient's language."""
        return self.kb.locale(self.language)

    @property
    def values(self) -> Mapping[str, str]:
        """Global placeholder values in the patient's language."""
        return self.kb.values(self.language)

    def has(self, key: str, site: Optional[str] = None) -> bool:
        """Whether an approved text exists for the key (in any language)."""
        return self.kb.text(key, self.language, site) is not None

    def served(self, key: str, site: Optional[str] = None) -> ServedText:
        """The approved text for a key; the KB lacking it is an outage, never a guess."""
        found = self.kb.text(key, self.language, site)
        if found is None:
            raise KnowledgeBaseUnavailable(f"no approved text for '{key}'")
        return found

    def piece(
        self,
        key: str,
        site: Optional[str] = None,
        extra: Optional[Mapping[str, object]] = None,
        *,
        detail: bool = False,
    ) -> Piece:
        """One text filled in; `detail` gives the "tell me more" text (None if it has none)."""
        found = self.served(key, site)
        template = found.item.detail if detail else found.item.short
        if template is None:
            raise KnowledgeBaseUnavailable(f"'{key}' has no detail text")
        values = {**self.values, **{k: str(v) for k, v in (extra or {}).items()}}
        if not found.translated:
            self._untranslated = True
        return Piece(
            text=fill(template, values),
            entries=(found.provenance.entry_id,),
            sources=(found.provenance.source,),
            translated=found.translated,
        )

    def template(self, key: str, site: Optional[str] = None) -> str:
        """A key's short text unfilled, to read, not to send ("" if the KB has none: a key
        with variants has no text of its own, and reading it must not be an outage)."""
        found = self.kb.text(key, self.language, site)
        return found.item.short if found is not None and found.item.short else ""

    def has_detail(self, key: str, site: Optional[str] = None) -> bool:
        """Whether the key has a "tell me more" text."""
        found = self.kb.text(key, self.language, site)
        return found is not None and found.item.detail is not None

    def label(self, key: str) -> str:
        """A short label (button title) in the patient's language."""
        return self.piece(key).text

    def message(self, *pieces: Piece, buttons: Optional[list[Button]] = None) -> Message:
        """Pieces joined into one message (one space between sentences); a piece that repeats
        an earlier one word for word (two sub-answers with the same clock times) is said once."""
        pieces = tuple(p for p in pieces if p.text)
        pieces = tuple(p for i, p in enumerate(pieces)
                       if p.text not in (q.text for q in pieces[:i]))
        return Message(
            text=" ".join(p.text for p in pieces if p.text),
            buttons=list(buttons or []),
            entries=[e for p in pieces for e in p.entries],
            sources=[s for p in pieces for s in p.sources],
        )

    def finish(self, messages: list[Message]) -> list[Message]:
        """The reply; if an English text stood in for a missing translation, the KB's note
        (in the patient's language, with the clinic's number) comes first. A message that
        repeats an earlier one word for word is left out."""
        messages = [m for i, m in enumerate(messages)
                    if m.buttons or not m.text
                    or m.text not in (earlier.text for earlier in messages[:i])]
        if not self._untranslated or not messages:
            return messages
        found = self.kb.text(UNTRANSLATED_NOTE, self.language)
        if found is None or not found.translated:
            return messages
        note = fill(found.item.short, self.values)
        first = messages[0]
        messages[0] = Message(f"{note} {first.text}", first.buttons,
                              [found.provenance.entry_id, *first.entries],
                              [found.provenance.source, *first.sources])
        return messages
