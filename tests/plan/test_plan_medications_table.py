"""Every drug in data/kb/medications.yml x every risk class: advice kind and hold invariant.

Why read the YAML directly (yaml.safe_load) rather than the KB loader: this table must follow
the catalogue as it is being written, and check only what the plan calculator is responsible for.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from actions.kb.dto import Medication, MedicationRule
from actions.plan.clock import UTC
from actions.plan.medication_schedule import AdviceKind, advise

CATALOGUE = Path(__file__).resolve().parents[2] / "data" / "kb" / "medications.yml"
RISK_CLASSES = ("low", "intermediate", "high")
ZONE = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 11, 18, 10, 0, tzinfo=ZONE)
START = dt.datetime(2026, 12, 18, 8, 0, tzinfo=ZONE)  # 30 days ahead: longer than any hold
EXPECTED_KIND = {
    "continue": AdviceKind.USUALLY_CONTINUED,
    "hold": AdviceKind.HOLD,
    "prescriber_decides": AdviceKind.PRESCRIBER_DECIDES,
    "call_clinic": AdviceKind.CALL_CLINIC,
}


def _rule(risk_class: str, raw: dict[str, Any]) -> MedicationRule:
    return MedicationRule(
        risk_class=risk_class,
        action=str(raw["action"]),
        hold_days=raw.get("hold_days"),
        hold_hours=raw.get("hold_hours"),
        restart_hours=raw.get("restart_hours"),
        hold_days_renal_impaired=raw.get("hold_days_renal_impaired"),
    )


def _medication(entry: dict[str, Any]) -> Medication:
    brands = entry.get("brands") or {}
    names = [name for market in brands.values() for name in (market or [])]
    return Medication(
        generic=str(entry["generic"]),
        drug_class=str(entry.get("drug_class", "")),
        schedule=str(entry.get("schedule", "varies")),
        brands=tuple(dict.fromkeys(names)),
        prescriber_must_approve=bool(entry.get("prescriber_must_approve", False)),
        approved=entry.get("status") == "approved",
        rules={risk: _rule(risk, raw) for risk, raw in (entry.get("rules") or {}).items()},
    )


def load_catalogue() -> list[Medication]:
    """The catalogue's drugs as DTOs (status approved -> approved=True)."""
    document = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8")) or {}
    return [_medication(entry) for entry in document.get("medications") or []]


CASES = [(med, risk) for med in load_catalogue() for risk in RISK_CLASSES]
DOSE_TIMES = (dt.time(8), dt.time(20))  # a patient's usual times


def test_catalogue_is_not_empty() -> None:
    assert CASES


@pytest.mark.parametrize(
    ("medication", "risk_class"), CASES, ids=[f"{m.generic}-{r}" for m, r in CASES]
)
def test_advice_matches_the_rule(medication: Medication, risk_class: str) -> None:
    advice = advise(medication, risk_class, START, NOW, dose_times=DOSE_TIMES)
    rule = medication.rule_for(risk_class)
    if not medication.approved:
        assert advice.kind is AdviceKind.NOT_REVIEWED
        return
    expected = EXPECTED_KIND[rule.action] if rule is not None else AdviceKind.CALL_CLINIC
    assert advice.kind is expected
    if rule is None or rule.action != "hold":
        assert advice.last_dose is None and advice.no_dose_from is None
        if rule is not None and rule.action == "prescriber_decides":
            assert advice.ask_by is not None and advice.ask_by < START.date()
        return

    hold = rule.window_for(True)  # kidneys not asked: the longer hold where there is one
    assert hold is not None and advice.no_dose_from is not None
    assert START.astimezone(UTC) - advice.no_dose_from.astimezone(UTC) == hold
    times = DOSE_TIMES
    assert advice.last_dose is not None
    assert advice.last_dose.astimezone(UTC) + hold <= START.astimezone(UTC)
    assert advice.last_dose.time() in times
    # the next usual dose would fall inside the hold window
    later = [
        dt.datetime.combine(advice.last_dose.date() + dt.timedelta(days=days), at, ZONE)
        for days in (0, 1)
        for at in times
    ]
    following = min(x for x in later if x.astimezone(UTC) > advice.last_dose.astimezone(UTC))
    assert following.astimezone(UTC) + hold > START.astimezone(UTC)
    if rule.restart_hours is not None:
        assert advice.restart_at is not None
        restart = advice.restart_at.astimezone(UTC) - START.astimezone(UTC)
        assert restart == dt.timedelta(hours=rule.restart_hours)

    # Once the hold window has begun it is too late to follow the plan alone.
    too_late = advise(medication, risk_class, START, advice.no_dose_from)
    assert too_late.kind is AdviceKind.TOO_LATE
