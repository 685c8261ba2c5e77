"""Answer keys the conversation asks the knowledge base for, and the placeholders each may use.

Why here: the validator uses this registry to reject a KB that lacks an answer the assistant
needs, or whose text refers to a value the assistant cannot fill ("broken references").
"""

from __future__ import annotations

from typing import Final

# Values available to every answer text (filled from the clinic profile and fasting policy).
GLOBAL_PLACEHOLDERS: Final[frozenset[str]] = frozenset(
    {
        "clinic_name",
        "clinic_phone",
        "clinic_address",
        "emergency_number",
        "arrival_lead_minutes",
        "opening_hours",
        "light_meal_hours",
        "fatty_meal_hours",
        "clear_liquids_hours",
    }
)

_RULE = frozenset({"drug", "brands", "site_name"})
_HOLD = _RULE | {"restart_hours"}
_PLAN_CUTOFFS = frozenset(
    {"arrival", "light_meal_cutoff", "fatty_meal_cutoff", "clear_liquids_cutoff"}
)
_PLAN_DOSE = frozenset({"drug", "last_dose", "dose_time", "restart", "site_name"})

# key -> extra placeholders it may use (besides GLOBAL_PLACEHOLDERS).
REQUIRED_ANSWER_KEYS: Final[dict[str, frozenset[str]]] = {
    # fasting
    "fasting.policy": frozenset(),
    "fasting.gum": frozenset(),
    "fasting.medicines": frozenset(),
    "fasting.no_sedation": frozenset(),
    "fasting.offer_plan": frozenset(),
    # blood thinners
    "blood_thinners.general": frozenset(),
    "blood_thinners.ask_which": frozenset(),
    "blood_thinners.rule_hold_days": _HOLD | {"hold_days"},
    "blood_thinners.rule_hold_hours": _HOLD | {"hold_hours"},
    "blood_thinners.rule_continue": _RULE,
    "blood_thinners.rule_prescriber_decides": _RULE,
    "blood_thinners.rule_call_clinic": _RULE,
    "blood_thinners.not_in_list": frozenset({"drug_text"}),
    "blood_thinners.not_reviewed": frozenset({"drug"}),
    "blood_thinners.confirm_prescriber": frozenset(),
    "blood_thinners.none_taken": frozenset(),
    # driver
    "driver.main": frozenset(),
    "driver.taxi": frozenset(),
    "driver.no_driver": frozenset(),
    # positioning
    "positioning.main": frozenset(),
    "positioning.cannot_lie_still": frozenset(),
    # sedation
    "sedation.main": frozenset(),
    "sedation.anxiety": frozenset(),
    # other topics
    "medications.main": frozenset(),
    "medications.diabetes": frozenset(),
    "medications.glp1": frozenset(),
    "medications.blood_pressure": frozenset(),
    "medications.pain": frozenset(),
    "what_to_bring.main": frozenset(),
    "logistics.main": frozenset(),
    "illness.main": frozenset(),
    "procedure_info.main": frozenset(),
    "procedure_steps.main": frozenset(),
    "eligibility.main": frozenset(),
    "risks.main": frozenset(),
    "recovery.main": frozenset(),
    "effectiveness.main": frozenset(),
    "diagnostic_block.main": frozenset(),
    # safety and handoff (emergency.* are also rendered into domain responses at build time)
    "emergency.instruction": frozenset(),
    "emergency.clinic_contact": frozenset(),
    "human.handoff": frozenset(),
    "assistant.disclosure": frozenset(),
    "assistant.capabilities": frozenset(),
    "assistant.unavailable": frozenset(),
    "assistant.fallback_contact": frozenset(),
    "assistant.noted": frozenset(),
    # personalised plan
    "plan.fasting_cutoffs": _PLAN_CUTOFFS,
    "plan.no_fasting": frozenset({"arrival"}),
    "plan.last_dose": _PLAN_DOSE,
    "plan.too_late": frozenset({"drug", "site_name"}),
    "plan.prescriber_decides": frozenset({"drug", "site_name", "ask_by"}),
    "plan.usually_continued": frozenset({"drug", "site_name"}),
    # "What's my plan?" checklist (one line each, so the whole list fits 3 SMS segments)
    "plan.checklist_header": frozenset({"site_name", "procedure_start"}),
    "plan.checklist_arrival": frozenset({"arrival"}),
    "plan.checklist_fasting": _PLAN_CUTOFFS,
    "plan.checklist_no_fasting": frozenset(),
    "plan.checklist_dose": _PLAN_DOSE,
    "plan.checklist_too_late": frozenset({"drug"}),
    "plan.checklist_prescriber": frozenset({"drug", "ask_by"}),
    "plan.checklist_continue": frozenset({"drug"}),
    "plan.checklist_call_clinic": frozenset({"drug"}),
    "plan.checklist_driver": frozenset(),
    "plan.checklist_bring": frozenset(),
    "plan.checklist_confirm_prescriber": frozenset(),
}

# Optional keys: used when present and approved, never required.
OPTIONAL_ANSWER_KEYS: Final[dict[str, frozenset[str]]] = {}


def allowed_placeholders(key: str) -> frozenset[str] | None:
    """Placeholders an answer with this key may use, or None for an unknown key."""
    extra = REQUIRED_ANSWER_KEYS.get(key, OPTIONAL_ANSWER_KEYS.get(key))
    if extra is None:
        return None
    return GLOBAL_PLACEHOLDERS | extra
