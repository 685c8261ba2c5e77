"""Loader for the KB vocabulary that `make kb-export` writes for the NLU components.

Why: the medication names, procedure-site terms and red-flag patterns live in the clinic
knowledge base (data/kb/*.yml). The action server's KB tooling exports them to one JSON file so
the Rasa process never needs the KB's database or its (incompatible) dependencies. The custom
NLU components read that file when the model is loaded, so a server restart picks up KB edits
without retraining.

No `from __future__ import annotations` here: Rasa resolves annotations of graph components at
runtime and this module's types appear in their signatures.
"""

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Text, Tuple, Union

DEFAULT_VOCABULARY_PATH = "bot/generated/kb_vocabulary.json"


class VocabularyError(Exception):
    """The vocabulary file exists but cannot be used (bad JSON, wrong shape, bad regex)."""


class VocabularyNotFoundError(VocabularyError, FileNotFoundError):
    """The vocabulary file has not been generated yet."""


@dataclass(frozen=True)
class MedicationEntry:
    """One generic drug and every spelling a patient may use for it."""

    generic: Text
    drug_class: Text
    names: Tuple[Text, ...]  # generic and brand names
    misspellings: Tuple[Text, ...]

    @property
    def surface_forms(self) -> Tuple[Text, ...]:
        """Names first, then misspellings, generic always included, no duplicates."""
        forms: List[Text] = []
        for form in (self.generic, *self.names, *self.misspellings):
            form = form.strip()
            if form and form.lower() not in {f.lower() for f in forms}:
                forms.append(form)
        return tuple(forms)


@dataclass(frozen=True)
class SiteEntry:
    """A procedure site ("lumbar", "cervical") with its phrases and regular expressions."""

    site: Text
    terms: Tuple[Text, ...]  # every language's terms
    patterns: Tuple[Text, ...]
    terms_by_language: Dict[Text, Tuple[Text, ...]] = field(default_factory=dict)

    def terms_for(self, language: Text) -> Tuple[Text, ...]:
        """The terms of one language; every term when the language has none listed."""
        return self.terms_by_language.get(language) or self.terms


@dataclass(frozen=True)
class RedFlagEntry:
    """A red-flag symptom: its triage level and case-insensitive patterns per language."""

    id: Text
    level: Text  # emergency | crisis | urgent
    category: Text
    patterns_by_language: Dict[Text, Tuple[Text, ...]]

    @property
    def patterns(self) -> Tuple[Text, ...]:
        """Every language's patterns (English first)."""
        ordered = sorted(self.patterns_by_language, key=lambda lang: (lang != "en", lang))
        return tuple(p for lang in ordered for p in self.patterns_by_language[lang])


@dataclass(frozen=True)
class KbVocabulary:
    """Everything the NLU components need from the knowledge base."""

    kb_fingerprint: Text  # content hash of the vocabulary (clinic-independent)
    medications: Tuple[MedicationEntry, ...]
    sites: Tuple[SiteEntry, ...]
    red_flags: Tuple[RedFlagEntry, ...]
    languages: Tuple[Text, ...] = ("en",)
    triage_cues: Dict[Text, Dict[Text, Tuple[Text, ...]]] = field(default_factory=dict)
    language_requests: Dict[Text, Tuple[Text, ...]] = field(default_factory=dict)
    # words that make a part the booking ("my appointment", "la cita"), per language
    appointment_words: Dict[Text, Tuple[Text, ...]] = field(default_factory=dict)
    # urgent triage category -> the topic intent it also is (registry `triage_categories`)
    triage_category_intents: Dict[Text, Text] = field(default_factory=dict)
    # the topic intents that ask a preparation question (registry topics not flagged `feeling`)
    question_intents: Tuple[Text, ...] = ()
    source_path: Text = ""


MATCHES_NOTHING = re.compile(r"(?!x)x")


def drug_name_pattern(vocabulary: KbVocabulary) -> "re.Pattern[str]":
    """Every spelling of every catalogue drug as one pattern (longest first): language
    detection blanks them out, since "iscover 75?" or "xarelto" is no evidence of a language."""
    forms = sorted({form.lower() for medication in vocabulary.medications
                    for form in medication.surface_forms}, key=len, reverse=True)
    if not forms:
        return MATCHES_NOTHING
    return re.compile(r"\b(?:" + "|".join(re.escape(f) for f in forms) + r")\b", re.IGNORECASE)


def resolve_path(path: Union[Text, Path]) -> Path:
    """Relative paths are taken from the working directory (the repository root for `make`)."""
    return Path(os.path.expanduser(str(path))).resolve()


def load_vocabulary(path: Union[Text, Path] = DEFAULT_VOCABULARY_PATH) -> KbVocabulary:
    """Reads and validates the exported vocabulary.

    Raises:
        VocabularyNotFoundError: the file does not exist (run `make kb-export`).
        VocabularyError: the file is not valid JSON, has the wrong shape or a bad regex.
    """
    resolved = resolve_path(path)
    if not resolved.is_file():
        raise VocabularyNotFoundError(
            f"KB vocabulary file '{path}' not found (looked for '{resolved}'). "
            f"Run `make kb-export` to generate it from data/kb, or set `vocabulary_path` "
            f"in the component's config.yml entry."
        )
    try:
        raw = json.loads(resolved.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise VocabularyError(
            f"KB vocabulary file '{resolved}' is not readable JSON ({error}). "
            f"Run `make kb-export` to regenerate it."
        ) from error
    return parse_vocabulary(raw, source=str(resolved))


def parse_vocabulary(raw: Any, source: Text = "<memory>") -> KbVocabulary:
    """Builds a `KbVocabulary` from decoded JSON, failing loudly on anything malformed."""
    if not isinstance(raw, dict):
        raise VocabularyError(f"{source}: top level must be a JSON object.")
    medications = tuple(
        MedicationEntry(
            generic=_text(item, "generic", where),
            drug_class=_optional_text(item, "drug_class", where),
            names=_texts(item, "names", where),
            misspellings=_texts(item, "misspellings", where),
        )
        for item, where in _items(raw, "medications", source)
    )
    sites = tuple(
        SiteEntry(
            site=_text(item, "site", where),
            terms=_texts(item, "terms", where),
            patterns=_patterns(item, "patterns", where),
            terms_by_language=_texts_by_language(item, "terms_by_language", where),
        )
        for item, where in _items(raw, "sites", source)
    )
    red_flags = tuple(
        RedFlagEntry(
            id=_text(item, "id", where),
            level=_text(item, "level", where),
            category=_optional_text(item, "category", where),
            patterns_by_language=_language_patterns(item, "patterns", where),
        )
        for item, where in _items(raw, "red_flags", source)
    )
    fingerprint = raw.get("content_hash", "")
    if not isinstance(fingerprint, str):
        raise VocabularyError(f"{source}: 'content_hash' must be a string.")
    cues = raw.get("triage_cues", {})
    if not isinstance(cues, dict):
        raise VocabularyError(f"{source}: 'triage_cues' must be an object.")
    return KbVocabulary(
        kb_fingerprint=fingerprint,
        medications=medications,
        sites=sites,
        red_flags=red_flags,
        languages=tuple(raw.get("languages") or ("en",)),
        triage_cues={
            name: {lang: tuple(str(w) for w in words) for lang, words in (per or {}).items()}
            for name, per in cues.items()
        },
        language_requests={str(lang): tuple(str(p) for p in phrases) for lang, phrases in
                           (raw.get("language_requests") or {}).items()},
        appointment_words={str(lang): tuple(str(w) for w in words) for lang, words in
                           (raw.get("appointment_words") or {}).items()},
        triage_category_intents={str(category): str(intent) for category, intent in
                                 (raw.get("triage_category_intents") or {}).items()},
        question_intents=tuple(str(intent) for intent in raw.get("question_intents") or ()),
        source_path=source,
    )


def _language_patterns(
    item: Dict[Text, Any], key: Text, where: Text
) -> Dict[Text, Tuple[Text, ...]]:
    value = item.get(key, {})
    if not isinstance(value, dict):
        raise VocabularyError(f"{where}: '{key}' must be an object of language -> patterns.")
    return {
        str(lang): _patterns({key: patterns}, key, f"{where}.{lang}")
        for lang, patterns in value.items()
    }


def _texts_by_language(
    item: Dict[Text, Any], key: Text, where: Text
) -> Dict[Text, Tuple[Text, ...]]:
    value = item.get(key, {})
    if not isinstance(value, dict):
        raise VocabularyError(f"{where}: '{key}' must be an object of language -> terms.")
    return {
        str(lang): _texts({key: terms}, key, f"{where}.{lang}") for lang, terms in value.items()
    }


def _items(raw: Dict[Text, Any], key: Text, source: Text) -> List[Tuple[Dict[Text, Any], Text]]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise VocabularyError(f"{source}: '{key}' must be a list.")
    items = []
    for index, item in enumerate(value):
        where = f"{source}: {key}[{index}]"
        if not isinstance(item, dict):
            raise VocabularyError(f"{where} must be an object.")
        items.append((item, where))
    return items


def _text(item: Dict[Text, Any], key: Text, where: Text) -> Text:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise VocabularyError(f"{where}: '{key}' must be a non-empty string.")
    return value.strip()


def _optional_text(item: Dict[Text, Any], key: Text, where: Text) -> Text:
    value = item.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise VocabularyError(f"{where}: '{key}' must be a string.")
    return value.strip()


def _texts(item: Dict[Text, Any], key: Text, where: Text) -> Tuple[Text, ...]:
    value = item.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise VocabularyError(f"{where}: '{key}' must be a list of strings.")
    return tuple(v.strip() for v in value if v.strip())


def _patterns(item: Dict[Text, Any], key: Text, where: Text) -> Tuple[Text, ...]:
    patterns = _texts(item, key, where)
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            raise VocabularyError(
                f"{where}: bad regular expression {pattern!r}: {error}"
            ) from error
    return patterns
