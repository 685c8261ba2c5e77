"""Fetch approved answers and fill their placeholders: the only way text reaches a patient.

Why: every message an action sends is built here from a KB entry, and carries that entry's id
and source in the bot event's metadata, so staff can see where each statement came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy.orm import Session

from actions.kb import dto, repository
from actions.kb.db import KnowledgeBaseUnavailable
from actions.kb.render import fill, template_values

MAX_ECHO = 40  # characters of a patient's own words echoed back (e.g. an unknown drug name)


@dataclass(frozen=True)
class Utterance:
    """One message for the dispatcher: KB text, or a domain response name, with provenance."""

    text: str | None = None
    response: str | None = None
    buttons: tuple[dict[str, str], ...] = ()
    kb_entries: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    values: tuple[tuple[str, str], ...] = ()  # fills a domain response's {placeholders}

    def as_kwargs(self) -> dict[str, Any]:
        """Arguments for CollectingDispatcher.utter_message (provenance goes to metadata)."""
        kwargs: dict[str, Any] = {}
        if self.text is not None:
            kwargs["text"] = self.text
        if self.response is not None:
            kwargs["response"] = self.response
        if self.buttons:
            kwargs["buttons"] = [dict(b) for b in self.buttons]
        kwargs.update(dict(self.values))
        if self.kb_entries:
            kwargs["kb_entries"] = list(self.kb_entries)
            kwargs["kb_sources"] = list(self.sources)
        return kwargs


@dataclass
class Reply:
    """What an action decided: messages to send and events to return."""

    messages: list[Utterance] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class KbContext:
    """Clinic-wide values every answer may use, read once per action."""

    clinic: dto.ClinicProfile
    fasting: dto.FastingRules
    values: Mapping[str, str]


def load_context(session: Session) -> KbContext:
    """Clinic profile and fasting policy; a KB without them cannot answer anything."""
    clinic = repository.get_clinic(session)
    fasting = repository.get_fasting_rules(session)
    if clinic is None or fasting is None:
        raise KnowledgeBaseUnavailable("knowledge base has no approved clinic or fasting policy")
    return KbContext(clinic, fasting, template_values(clinic, fasting, clinic.opening_hours))


def answer(
    session: Session,
    context: KbContext,
    key: str,
    site: str | None = None,
    extra: Mapping[str, object] | None = None,
) -> Utterance:
    """The approved answer for `key` (site-specific when available), placeholders filled."""
    found = repository.get_answer(session, key, site)
    if found is None:
        raise KnowledgeBaseUnavailable(f"no approved answer for '{key}'")
    values = {**context.values, **(extra or {})}
    return Utterance(
        text=fill(found.text, values),
        kb_entries=(found.provenance.entry_id,),
        sources=(found.provenance.source,),
    )


def has_site_variants(session: Session, key: str) -> bool:
    """True when the KB has a lumbar- or cervical-specific text for this key."""
    return any(
        found is not None and found.site != "any"
        for found in (repository.get_answer(session, key, s) for s in ("lumbar", "cervical"))
    )


def echo_safe(text: str) -> str:
    """The patient's own words for an unknown drug, trimmed to a short, plain fragment."""
    cleaned = re.sub(r"[^\w\s.,'-]", "", text, flags=re.UNICODE)
    cleaned = " ".join(cleaned.split())
    return cleaned[:MAX_ECHO].rstrip() or "that medicine"
