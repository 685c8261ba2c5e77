"""The export's per-language closing times, which the safety gate puts in "call the clinic
today, before ..." (bot/safety/gate.py `closes_at`): the clinic's own clock and hours."""

from __future__ import annotations

from pathlib import Path

from actions.kb.export import patient_texts
from actions.kb.loader import load_kb

KB_DIR = Path(__file__).resolve().parents[2] / "data" / "kb"


def exported(profile: str) -> dict[str, dict[str, str]]:
    content, problems = load_kb(KB_DIR, profile)
    assert content is not None, problems
    return patient_texts(content)["clinic"]["closing_times"]


def test_a_twelve_hour_clinic_closes_in_its_own_clock_and_only_on_open_days() -> None:
    times = exported("us_example")["en"]
    assert times["monday"] == "5:00 pm" and times["friday"] == "4:00 pm"
    assert "saturday" not in times and "sunday" not in times


def test_a_twenty_four_hour_clinic_closes_at_twenty_hundred_in_spanish() -> None:
    times = exported("es_barcelona_example")["es"]
    assert times["monday"] == "20:00" and "sunday" not in times


def test_the_urgent_text_keeps_its_closing_time_placeholder_for_the_gate() -> None:
    content, _ = load_kb(KB_DIR, "us_example")
    assert content is not None
    text = patient_texts(content)["texts"]["en"]["triage.urgent"]["text"]
    assert "{closes_at}" in text and "{clinic_phone}" not in text
