"""The approved KB of one build, read once and kept in memory until `make kb` loads a new one.

Why a snapshot: a conversation turn needs dozens of lookups (texts by key, language and site,
medicines by any name, the registry). Reading them row by row per turn would be slow and would
let one turn see two KB versions. Each turn asks the database for the KB fingerprint (one tiny
query); while it is unchanged the same immutable snapshot answers everything.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Mapping, Optional

from sqlalchemy.orm import Session

from actions.kb import dto, repository
from actions.kb.db import KnowledgeBaseUnavailable
from actions.kb.registry import Registry
from actions.kb.render import template_values
from actions.plan.formatting import LOCALE_KEYS, DateStyle, Locale, describe_opening_hours

ENGLISH = "en"


@dataclass(frozen=True)
class ServedText:
    """A text as served: in the patient's language when approved, else English."""

    item: dto.TextItem
    translated: bool  # False when the patient's language has no approved version of it

    @property
    def provenance(self) -> dto.Provenance:
        """Who approved the served text."""
        return self.item.provenance


@dataclass(frozen=True)
class KbSnapshot:
    """Everything the conversation reads from the KB, immutable."""

    fingerprint: str
    clinic: dto.ClinicProfile
    fasting: dto.FastingRules
    procedures: Mapping[str, dto.ProcedureVariant]  # site -> variant
    registry: Registry
    texts: Mapping[tuple[str, str, str], dto.TextItem]  # (language, key, site) -> text
    medications: Mapping[str, dto.Medication]  # any lower-case name -> drug
    red_flags: tuple[dto.RedFlagInfo, ...]
    screening: tuple[dto.ScreeningInfo, ...]
    locales: Mapping[str, Locale] = field(default_factory=dict)  # language -> date words
    global_values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # per language

    def locale(self, language: str) -> Locale:
        """Date and time words of a language (English when it has none approved)."""
        return self.locales.get(language) or self.locales[ENGLISH]

    def values(self, language: str) -> Mapping[str, str]:
        """The global placeholder values in a language (opening hours use its day names)."""
        return self.global_values.get(language) or self.global_values[ENGLISH]

    def text(self, key: str, language: str, site: Optional[str] = None) -> Optional[ServedText]:
        """The approved text for a key: the patient's language first, then English; the
        site-specific text first, then the general one."""
        for lang in dict.fromkeys((language, ENGLISH)):
            for where in ((site, "any") if site else ("any",)):
                item = self.texts.get((lang, key, where))
                if item is not None:
                    return ServedText(item, translated=lang == language)
        return None

    def has_site_texts(self, key: str) -> bool:
        """Whether the key has a lower-back or neck text of its own (in English)."""
        return any((ENGLISH, key, s) in self.texts for s in ("lumbar", "cervical"))

    def medication(self, name: str) -> Optional[dto.Medication]:
        """A catalogue drug by generic, brand or misspelling (case-insensitive)."""
        return self.medications.get(name.strip().lower())

    def procedure(self, site: Optional[str]) -> Optional[dto.ProcedureVariant]:
        """The procedure variant of a site."""
        return self.procedures.get(site) if site else None


def build_snapshot(session: Session) -> KbSnapshot:
    """Read the whole approved KB; KnowledgeBaseUnavailable when it is incomplete."""
    fingerprint = repository.kb_fingerprint(session)
    clinic = repository.get_clinic(session)
    fasting = repository.get_fasting_rules(session)
    registry_content = repository.get_registry_content(session)
    if fingerprint is None or clinic is None or fasting is None or registry_content is None:
        raise KnowledgeBaseUnavailable("the knowledge base is not built (run `make kb`)")
    medications: dict[str, dto.Medication] = {}
    for medication, names in repository.list_medications(session):
        for name in (medication.generic, *names):
            medications[name.lower()] = medication
    texts = {(t.language, t.key, t.site): t for t in repository.list_texts(session)}
    registry = Registry.model_validate(registry_content)
    locales: dict[str, Locale] = {}
    values: dict[str, dict[str, str]] = {}
    for language in dict.fromkeys([ENGLISH, *(lang.value for lang in registry.languages)]):
        locale = _locale(texts, language)
        if locale is None:
            continue
        locales[language] = locale
        style = DateStyle(clinic.date_order, clinic.clock)
        hours = describe_opening_hours(clinic.opening_hours, locale, style)
        week = describe_opening_hours(clinic.opening_hours, locale, style, closed_days=True)
        values[language] = template_values(clinic, fasting, hours, week)
    if ENGLISH not in locales:
        raise KnowledgeBaseUnavailable("the knowledge base has no English locale.* texts")
    return KbSnapshot(
        fingerprint=fingerprint,
        clinic=clinic,
        fasting=fasting,
        procedures={p.site: p for p in repository.list_procedures(session)},
        registry=registry,
        texts=texts,
        medications=medications,
        red_flags=tuple(repository.list_red_flags(session)),
        screening=tuple(repository.list_screening(session)),
        locales=locales,
        global_values=values,
    )




def _locale(texts: Mapping[tuple[str, str, str], dto.TextItem], language: str) -> Locale | None:
    words = [texts.get((language, f"locale.{name}", "any")) for name in LOCALE_KEYS]
    if any(word is None for word in words):
        return None
    return Locale.from_words(*(word.short for word in words if word is not None))


_lock = threading.Lock()
_current: Optional[KbSnapshot] = None


def current_snapshot(session: Session) -> KbSnapshot:
    """The snapshot of the KB now in the database (rebuilt when its fingerprint changed)."""
    global _current
    fingerprint = repository.kb_fingerprint(session)
    cached = _current
    if cached is not None and cached.fingerprint == fingerprint:
        return cached
    fresh = build_snapshot(session)
    with _lock:
        _current = fresh
    return fresh


def forget_snapshot() -> None:
    """Drop the cached snapshot (tests that rebuild the KB in place)."""
    global _current
    with _lock:
        _current = None
