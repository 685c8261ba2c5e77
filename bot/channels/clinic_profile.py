"""The few clinic-profile values the patient channels show: name, phone and emergency number.

Why here and not through the action server: the website's emergency banner and the SMS HELP and
first-contact texts must work even when the action server or the KB database is down, so they
read the clinic profile (data/kb/clinic.yml) directly. The `actions` package lives in another
environment and is never imported from bot/.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs in the bot environment

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CLINIC_FILE = REPO_ROOT / "data" / "kb" / "clinic.yml"
CLINIC_FILE_ENV = "CLINIC_PROFILE_PATH"


class ClinicProfileError(Exception):
    """The clinic profile is missing or lacks a value the channels must show."""


@dataclass(frozen=True)
class ClinicProfile:
    """Contact details shown to patients."""

    name: str
    phone: str
    emergency_number: str


def _required_text(section: dict[str, Any], key: str, path: Path) -> str:
    value = section.get(key)
    if value is None or not str(value).strip():
        raise ClinicProfileError(f"{path}: clinic.{key} is missing or empty")
    return str(value).strip()


def read_clinic_profile(path: Path) -> ClinicProfile:
    """Parse a clinic.yml file; raise ClinicProfileError rather than show a blank number."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ClinicProfileError(f"cannot read the clinic profile {path}: {error}") from error
    section = document.get("clinic") if isinstance(document, dict) else None
    if not isinstance(section, dict):
        raise ClinicProfileError(f"{path}: no 'clinic:' mapping")
    return ClinicProfile(
        name=_required_text(section, "name", path),
        phone=_required_text(section, "phone", path),
        emergency_number=_required_text(section, "emergency_number", path),
    )


@lru_cache(maxsize=4)
def _cached_profile(path: str) -> ClinicProfile:
    return read_clinic_profile(Path(path))


def load_clinic_profile() -> ClinicProfile:
    """The profile from CLINIC_PROFILE_PATH or data/kb/clinic.yml, read once per process."""
    return _cached_profile(os.environ.get(CLINIC_FILE_ENV) or str(DEFAULT_CLINIC_FILE))
