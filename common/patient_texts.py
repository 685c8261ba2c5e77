"""Read the clinic-specific texts `make kb` exports ($DATA_DIR/generated/patient_texts.json).

Why a file and not the KB database: the replies that must work when the action server or the
database is down (the safety gate, the "please call" net, the channels' fixed texts) need the
clinic's approved words and numbers without either. Standard library only, so the Rasa process
and the action server share this one reader.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

FILE_NAME = "patient_texts.json"
DEFAULT_DATA_DIR = ".data"


class PatientTextsMissing(RuntimeError):
    """The export is missing or unreadable: run `make kb`."""


@dataclass(frozen=True)
class ExportedText:
    """One approved text with the clinic's values filled in."""

    key: str
    language: str
    text: str
    entry: str
    source: str
    translated: bool  # False: the English text stands in for a missing translation

    def fill(self, **values: object) -> str:
        """Fill the conversation placeholders the export left ({drug}, {max_length})."""
        try:
            return self.text.format(**{k: str(v) for k, v in values.items()})
        except (KeyError, IndexError, ValueError):
            return self.text


class PatientTexts:
    """The exported texts and clinic facts; `text()` falls back to English."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.clinic: Mapping[str, Any] = data.get("clinic") or {}
        self.languages: tuple[str, ...] = tuple(data.get("languages") or ("en",))
        self._texts: Mapping[str, Mapping[str, Mapping[str, str]]] = data.get("texts") or {}

    @property
    def default_language(self) -> str:
        """The clinic's default language."""
        return str(self.clinic.get("default_language") or "en")

    @property
    def fingerprint(self) -> str:
        """The KB build the texts come from."""
        return str(self.data.get("kb_fingerprint") or "")

    def text(self, key: str, language: Optional[str] = None) -> ExportedText:
        """The text in `language` (else the clinic's default, else English)."""
        wanted = language or self.default_language
        for candidate in dict.fromkeys((wanted, self.default_language, "en")):
            found = self._texts.get(candidate, {}).get(key)
            if found is not None:
                return ExportedText(key, candidate, found["text"], found.get("entry", ""),
                                    found.get("source", ""), translated=candidate == wanted)
        raise PatientTextsMissing(f"no exported text for '{key}'")

    def has(self, key: str, language: str) -> bool:
        """Whether the language has its own approved text for the key."""
        return key in self._texts.get(language, {})


def default_path() -> Path:
    """$DATA_DIR/generated/patient_texts.json (DATA_DIR defaults to .data)."""
    return Path(os.environ.get("DATA_DIR") or DEFAULT_DATA_DIR) / "generated" / FILE_NAME


_lock = threading.Lock()
_cache: dict[str, tuple[float, PatientTexts]] = {}


def load(path: Optional[Path] = None) -> PatientTexts:
    """The export, re-read when the file changes (`make kb` rewrites it atomically)."""
    target = (path or default_path()).resolve()
    try:
        mtime = target.stat().st_mtime
    except OSError as exc:
        raise PatientTextsMissing(f"{target} is missing: run `make kb`") from exc
    key = str(target)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == mtime:
            return cached[1]
    try:
        data = json.loads(target.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise PatientTextsMissing(f"{target} is not readable: run `make kb`") from exc
    texts = PatientTexts(data)
    with _lock:
        _cache[key] = (mtime, texts)
    return texts
