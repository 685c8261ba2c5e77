"""One medicine-advice function: the general answer and the dated plan agree for every drug.

For every catalogue drug (approved and draft) at every risk class, the general answer (no date)
and the plan (with a date) must give the same rule, the same person who decides, and the same
KB entry as provenance; and no dose time the plan names ever falls inside the hold window.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import sessionmaker

from actions.kb.db import get_engine
from actions.kb.snapshot import KbSnapshot, build_snapshot
from actions.plan.clock import UTC
from actions.plan.medication_schedule import AdviceKind, advise

RISK_CLASSES = ("low", "intermediate", "high")
ZONE = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 11, 18, 10, 0, tzinfo=ZONE)
START = dt.datetime(2026, 12, 18, 8, 0, tzinfo=ZONE)  # 30 days ahead: longer than any hold


@pytest.fixture(scope="module")
def kb(kb_url: str) -> KbSnapshot:
    with sessionmaker(get_engine(kb_url))() as session:
        return build_snapshot(session)


def _drugs(kb: KbSnapshot) -> list[str]:
    return sorted({m.generic for m in kb.medications.values()})


def test_general_answer_and_plan_agree_for_every_drug_and_risk_class(kb: KbSnapshot) -> None:
    checked = 0
    for generic in _drugs(kb):
        medication = kb.medication(generic)
        assert medication is not None
        for risk in RISK_CLASSES:
            general = advise(medication, risk)
            dated = advise(medication, risk, START, NOW)
            assert dated.kind == general.kind, (generic, risk)
            assert dated.rule == general.rule and dated.contact == general.contact
            assert dated.involves_stopping == general.involves_stopping
            assert dated.provenance == general.provenance == medication.provenance
            assert dated.inr_check == general.inr_check == medication.inr_check
            checked += 1
    assert checked >= 100


def test_drafts_never_steer(kb: KbSnapshot) -> None:
    drafts = [kb.medication(g) for g in _drugs(kb)]
    drafts = [m for m in drafts if m is not None and not m.approved]
    assert drafts, "the shipped KB has draft medicines"
    for medication in drafts:
        for risk in RISK_CLASSES:
            advice = advise(medication, risk, START, NOW)
            assert advice.kind is AdviceKind.NOT_REVIEWED and advice.rule is None
            assert advice.no_dose_from is None and advice.last_dose is None


def test_prescriber_decides_never_becomes_a_date(kb: KbSnapshot) -> None:
    for generic in _drugs(kb):
        medication = kb.medication(generic)
        assert medication is not None
        for risk in RISK_CLASSES:
            advice = advise(medication, risk, START, NOW)
            if advice.kind is AdviceKind.PRESCRIBER_DECIDES:
                assert advice.no_dose_from is None and advice.last_dose is None
                assert advice.ask_by is not None


def test_vitamin_k_antagonists_have_the_inr_step_and_nothing_else_does(kb: KbSnapshot) -> None:
    with_inr = {g for g in _drugs(kb) if (m := kb.medication(g)) is not None and m.inr_check}
    assert with_inr == {"warfarin", "acenocoumarol"}


def test_dabigatran_uses_the_longer_hold_until_the_kidneys_are_known(kb: KbSnapshot) -> None:
    dabigatran = kb.medication("dabigatran")
    assert dabigatran is not None
    unknown = advise(dabigatran, "intermediate", START, NOW)
    fine = advise(dabigatran, "intermediate", START, NOW, renal_impaired=False)
    assert unknown.renal_unknown and unknown.hold == dt.timedelta(days=6)
    assert fine.hold == dt.timedelta(days=4) and not fine.renal_unknown


@settings(max_examples=300, deadline=None, database=None)
@given(
    ahead_hours=st.integers(1, 40 * 24),
    start_hour=st.integers(6, 18),
    times=st.lists(st.sampled_from([dt.time(h, m) for h in range(0, 24) for m in (0, 30)]),
                   min_size=1, max_size=3, unique=True),
    risk=st.sampled_from(RISK_CLASSES),
    data=st.data(),
)
def test_no_named_dose_ever_falls_inside_the_hold(kb: KbSnapshot, ahead_hours: int,
                                                   start_hour: int, times: list[dt.time],
                                                   risk: str, data: st.DataObject) -> None:
    generic = data.draw(st.sampled_from(_drugs(kb)))
    medication = kb.medication(generic)
    assert medication is not None
    start_day = (NOW + dt.timedelta(hours=ahead_hours)).date()
    start = dt.datetime.combine(start_day, dt.time(start_hour), ZONE)
    advice = advise(medication, risk, start, NOW, dose_times=tuple(sorted(times)))
    if advice.kind is not AdviceKind.HOLD:
        assert advice.last_dose is None
        return
    assert advice.hold is not None and advice.no_dose_from is not None
    assert advice.no_dose_from.astimezone(UTC) == start.astimezone(UTC) - advice.hold
    if advice.last_dose is not None:
        assert advice.last_dose.astimezone(UTC) <= advice.no_dose_from.astimezone(UTC)
        assert advice.last_dose.timetz().replace(tzinfo=None) in times
