"""The clinic facts the patient channels show (name, phone, emergency number), from the KB.

Why the KB export and not clinic.yml: there is one validated reader of the clinic profile, the
KB loader (actions/kb). `make kb` writes what the Rasa side needs into
$DATA_DIR/generated/patient_texts.json (common/patient_texts.py), so the website's emergency line
and the SMS texts work even when the action server or the KB database is down. A missing
export stops start-up instead of showing a blank number.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.patient_texts import PatientTexts, PatientTextsMissing
from common.patient_texts import load as load_patient_texts

REPO_ROOT = Path(__file__).resolve().parents[2]


class ClinicProfileError(Exception):
    """The KB export is missing or lacks a value the channels must show."""


@dataclass(frozen=True)
class ClinicProfile:
    """Contact details shown to patients, and the clinic's default language."""

    name: str
    phone: str
    emergency_number: str
    crisis_line: str
    default_language: str


def profile_from(texts: PatientTexts) -> ClinicProfile:
    """The channel profile from a loaded export."""
    clinic = texts.clinic
    values = {key: str(clinic.get(key) or "").strip()
              for key in ("name", "phone", "emergency_number", "crisis_line")}
    missing = [key for key, value in values.items() if not value]
    if missing:
        raise ClinicProfileError(f"the KB export lacks clinic {', '.join(missing)}: run `make kb`")
    return ClinicProfile(default_language=texts.default_language, **values)


def load_clinic_profile() -> ClinicProfile:
    """The selected clinic's profile from $DATA_DIR/generated/patient_texts.json."""
    try:
        return profile_from(load_patient_texts())
    except PatientTextsMissing as error:
        raise ClinicProfileError(str(error)) from error
