"""Blood thinners: the clinic's rule per drug and risk class from the KB medication entries,
who decides, and never a guess (no invented number, no advice on a drug the clinic has not
approved or does not know).

The expectations are derived from data/kb/medications.yml and procedures.yml directly, not from
the code under test.
"""

from __future__ import annotations

import re

import pytest

from actions.conversation.engine import LONG_REPLY
from actions.conversation.medicine import echo_safe
from actions.conversation.turn import State
from actions.kb import schema
from actions.kb.loader import KbContent
from actions.kb.snapshot import KbSnapshot
from tests.actions.conftest import ActionServer, slot_events
from tests.actions.conversation_harness import Conversation

SITES = ("lumbar", "cervical")
PRESCRIBER = {"en": "prescribed", "es": "recetó"}  # how the texts name who decides
REPLY = LONG_REPLY  # a rule and its INR step: three SMS segments at most (one text: two)


def _risk(kb_content: KbContent, site: str) -> schema.RiskClass:
    return next(p.risk_class for p in kb_content.procedures
                if p.site.value == site and p.status is schema.Status.approved)


def _expected_key(rule: schema.MedicationRule) -> str:
    """The general-answer text for a rule, read from the YAML rule alone."""
    if rule.action is schema.RuleAction.hold:
        if rule.hold_days_renal_impaired is not None:
            return "blood_thinners.rule_hold_days_renal"
        return "blood_thinners.rule_hold_days" if rule.hold_days else \
            "blood_thinners.rule_hold_hours"
    return {"continue": "blood_thinners.rule_continue",
            "prescriber_decides": "blood_thinners.rule_prescriber_decides",
            "call_clinic": "blood_thinners.rule_call_clinic"}[rule.action.value]


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+", text))


def _allowed_numbers(kb_content: KbContent, rule: schema.MedicationRule | None,
                     templates: list[str]) -> set[str]:
    """Numbers a reply may contain: the rule's, the clinic's contacts, the KB text's own."""
    allowed = {str(n) for n in (rule.hold_days, rule.hold_hours, rule.restart_hours,
                                rule.hold_days_renal_impaired) if n is not None} if rule else set()
    clinic = kb_content.clinic
    for value in (clinic.phone, clinic.emergency_number, clinic.out_of_hours_phone or ""):
        allowed |= _numbers(value)
    for template in templates:
        allowed |= _numbers(re.sub(r"\{\w+\}", "", template))
    return allowed


def _templates(kb_content: KbContent, entry_ids: list[str]) -> list[str]:
    by_id = {t.id: t.entry.short for t in kb_content.texts}
    return [by_id[e] for e in entry_ids if e in by_id]


def _ask(kb: KbSnapshot, generic: str, site: str, language: str = "en") -> Conversation:
    chat = Conversation(kb, language=language, state=State(procedure_site=site))
    chat.say(f"do I have to stop my {generic} before it?", "ask_blood_thinners",
             drugs=((generic, generic),))
    return chat


def _approved(kb_content: KbContent) -> list[schema.Medication]:
    return [m for m in kb_content.medications if m.status is schema.Status.approved]


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("site", SITES)
def test_every_approved_drug_gets_its_own_kb_rule_and_no_invented_number(
    kb_snapshot: KbSnapshot, kb_content: KbContent, site: str, language: str,
) -> None:
    checked = 0
    for entry in _approved(kb_content):
        rule = entry.rules[_risk(kb_content, site)]
        chat = _ask(kb_snapshot, entry.generic, site, language)
        expected = [f"text.{language}.{_expected_key(rule)}", entry.id]
        if entry.inr_check:
            expected.append(f"text.{language}.blood_thinners.inr_step")
        assert chat.entries == expected, (entry.generic, site)
        reply = chat.reply
        name = entry.generic_names.get(schema.Language(language), entry.generic)
        assert name in reply and len(reply) <= REPLY and "{" not in reply
        unexpected = _numbers(reply) - _allowed_numbers(
            kb_content, rule, _templates(kb_content, chat.entries))
        assert not unexpected, (entry.generic, site, reply)
        if rule.hold_days is not None:
            assert re.search(rf"\b{rule.hold_days}\b", reply), reply
        if rule.hold_hours is not None:
            assert re.search(rf"\b{rule.hold_hours}\b", reply), reply
        if rule.restart_hours is not None:
            assert re.search(rf"\b{rule.restart_hours}\b", reply), reply
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_rule_texts_say_who_decides(kb_content: KbContent, language: str) -> None:
    """A rule to hold, continue or leave to the prescriber names the prescriber; a rule that
    leaves it to the clinic gives the clinic's number (template placeholders in the KB)."""
    texts = {t.entry.key: t.entry.short for t in kb_content.approved_texts(
        schema.Language(language))}
    for key in ("rule_hold_days", "rule_hold_hours", "rule_hold_days_renal", "rule_continue",
                "rule_prescriber_decides", "restart_rule"):
        assert PRESCRIBER[language] in texts[f"blood_thinners.{key}"], key
    for key in ("rule_prescriber_decides", "rule_call_clinic", "not_in_list", "not_reviewed"):
        assert "{clinic_phone}" in texts[f"blood_thinners.{key}"], key


def test_prescriber_decides_never_gets_a_number(kb_snapshot: KbSnapshot,
                                                kb_content: KbContent) -> None:
    cases = [(m, site) for m in _approved(kb_content) for site in SITES
             if m.rules[_risk(kb_content, site)].action is schema.RuleAction.prescriber_decides]
    assert cases
    phone_digits = _numbers(kb_content.clinic.phone)
    for entry, site in cases:
        reply = _ask(kb_snapshot, entry.generic, site).reply
        assert _numbers(reply) <= phone_digits, (entry.generic, reply)
        assert "prescribed" in reply


async def test_xarelto_neck_uses_the_rivaroxaban_cervical_rule(
        action_server: ActionServer) -> None:
    """Acceptance: "I take Xarelto, I'm having the neck one, when do I stop?" through the
    action server: the rule, who decides, and the provenance in the message metadata."""
    result = await action_server(
        "action_respond", "I take Xarelto, I'm having the neck one, when do I stop?",
        "ask_blood_thinners", medications=("rivaroxaban",), slots={"procedure_site": "cervical"})
    [message] = result["responses"]
    assert message["kb_entries"] == ["text.en.blood_thinners.rule_hold_days",
                                     "medication.rivaroxaban"]
    assert all(message["kb_sources"])
    text = message["text"]
    assert "rivaroxaban (Xarelto)" in text and "3 days" in text and "24 hours" in text
    assert "your neck" in text and "prescribed" in text
    slots = slot_events(result["events"])
    assert slots["medications_taken"] == ["rivaroxaban"]
    assert slots["last_topic"] == "blood_thinners"


def test_spanish_names_and_brands_for_the_clinic_market(kb_snapshot: KbSnapshot) -> None:
    """The generic as Spanish patients read it; the brands of the clinic's market (US)."""
    chat = _ask(kb_snapshot, "acenocoumarol", "cervical", language="es")
    assert "acenocumarol" in chat.reply and "3 días" in chat.reply
    assert chat.entries[0] == "text.es.blood_thinners.rule_hold_days"
    english = _ask(kb_snapshot, "apixaban", "cervical")
    assert "apixaban (Eliquis)" in english.reply


def test_several_drugs_are_answered_in_order_within_the_budget(kb_snapshot: KbSnapshot) -> None:
    chat = Conversation(kb_snapshot, state=State(procedure_site="cervical"))
    chat.say("I take warfarin, clopidogrel and fish oil", "ask_blood_thinners",
             drugs=(("warfarin", "warfarin"), ("clopidogrel", "clopidogrel"),
                    ("fish oil", "fish oil")))
    # As many drugs as fit three SMS segments, in the order named; every drug that did not fit
    # (here clopidogrel, and fish oil, a draft: "ask the clinic") is one tap away.
    # A draft (fish oil) carries no catalogue entry: it counts as answered when its "not
    # reviewed" line names it.
    answered = [e for e in chat.entries if e.startswith("medication.")]
    if any(e.endswith("not_reviewed") for e in chat.entries) and "fish oil" in chat.reply:
        answered.append("medication.fish oil")
    named = ["medication.warfarin", "medication.clopidogrel", "medication.fish oil"]
    assert answered and answered == named[:len(answered)]
    assert len(chat.reply) <= LONG_REPLY
    for entry in named[len(answered):]:
        assert f"What about {entry.split('.', 1)[1]}?" in chat.buttons
    chat.say("What about fish oil?", "ask_blood_thinners", drugs=(("fish oil", "fish oil"),))
    assert chat.entries[-1] == "text.en.blood_thinners.not_reviewed"


def test_a_draft_drug_is_recognised_but_never_advised(kb_snapshot: KbSnapshot,
                                                      kb_content: KbContent) -> None:
    drafts = [m for m in kb_content.medications if m.status is not schema.Status.approved]
    assert drafts
    for entry in drafts:
        for site in SITES:
            chat = _ask(kb_snapshot, entry.generic, site)
            assert chat.entries in (["text.en.blood_thinners.not_reviewed"],
                                    ["text.en.medications.not_reviewed"]), entry.generic
            assert _numbers(chat.reply) <= _numbers(kb_content.clinic.phone), chat.reply
            assert kb_content.clinic.phone in chat.reply


def test_an_unknown_drug_is_never_guessed(kb_snapshot: KbSnapshot,
                                          kb_content: KbContent) -> None:
    """A name the catalogue does not know, given as the answer to "which one?"."""
    chat = Conversation(kb_snapshot, state=State(procedure_site="lumbar"))
    chat.say("do i stop my blood thinner", "ask_blood_thinners")
    assert chat.state.pending is not None and chat.state.pending.ask == "medication"
    chat.say("blorbazepam", "inform")
    assert chat.entries == ["text.en.blood_thinners.not_in_list"]
    assert '"blorbazepam"' in chat.reply and kb_content.clinic.phone in chat.reply
    assert chat.state.medications_unknown == ("blorbazepam",)


def test_a_blood_thinner_question_without_a_name_asks_which(kb_snapshot: KbSnapshot) -> None:
    chat = Conversation(kb_snapshot)
    chat.say("do i need to stop my blood thinner", "ask_blood_thinners")
    # the short form of the question, so that answer and question fit two SMS segments
    assert chat.entries == ["text.en.blood_thinners.main", "text.en.question.medication_short"]
    assert chat.state.pending is not None and chat.state.pending.topic == "blood_thinners"


def test_a_named_drug_without_a_site_asks_the_site_then_answers(
        kb_snapshot: KbSnapshot) -> None:
    """Apixaban's rule differs between the sites, so the site comes first; ibuprofen's does
    not, so it is answered at once."""
    chat = Conversation(kb_snapshot)
    chat.say("when do i stop eliquis", "ask_blood_thinners", drugs=(("eliquis", "apixaban"),))
    assert chat.entries == ["text.en.question.site_for_drug"]
    assert chat.state.pending is not None and chat.state.pending.medications == ("apixaban",)
    chat.say("my neck", "inform", sites=(("neck", "cervical"),))
    assert chat.entries == ["text.en.blood_thinners.rule_hold_days", "medication.apixaban"]
    same = Conversation(kb_snapshot)
    same.say("do i stop ibuprofen", "ask_blood_thinners", drugs=(("ibuprofen", "ibuprofen"),))
    assert same.entries == ["text.en.blood_thinners.rule_continue", "medication.ibuprofen"]


def test_none_taken(kb_snapshot: KbSnapshot) -> None:
    chat = Conversation(kb_snapshot, state=State(procedure_site="lumbar"))
    chat.say("do i stop my blood thinner", "ask_blood_thinners")
    chat.say("none", "inform")
    assert chat.entries == ["text.en.blood_thinners.none_taken"]
    assert chat.state.medications_answered is True and chat.state.medications_taken == ()


@pytest.mark.parametrize(("answer", "intent", "drugs", "taken", "unknown"), [
    ("eliquis and aspirin", "inform", (("eliquis", "apixaban"), ("aspirin", "aspirin")),
     ("apixaban", "aspirin"), ()),
    ("none", "inform", (), (), ()),
    ("no", "deny", (), (), ()),
    ("i dont take any", "inform", (), (), ()),
    ("blorbazepam", "inform", (), (), ("blorbazepam",)),
])
def test_answers_to_which_blood_thinner(kb_snapshot: KbSnapshot, answer: str, intent: str,
                                        drugs: tuple[tuple[str, str], ...],
                                        taken: tuple[str, ...], unknown: tuple[str, ...]) -> None:
    chat = Conversation(kb_snapshot, state=State(procedure_site="lumbar"))
    chat.say("do i stop my blood thinner", "ask_blood_thinners")
    chat.say(answer, intent, drugs=drugs)
    assert chat.state.medications_answered is True and chat.state.pending is None
    assert chat.state.medications_taken == taken
    assert chat.state.medications_unknown == unknown
    named = [e for e in chat.entries if e.startswith("medication.")]
    assert named == [f"medication.{g}" for g in taken]
    if not taken and not unknown:
        assert chat.entries == ["text.en.blood_thinners.none_taken"]


def test_restart_gives_the_rule_restart_time(kb_snapshot: KbSnapshot,
                                             kb_content: KbContent) -> None:
    entry = next(m for m in kb_content.medications if m.generic == "warfarin")
    rule = entry.rules[_risk(kb_content, "cervical")]
    chat = Conversation(kb_snapshot, state=State(procedure_site="cervical"))
    chat.say("when can i restart warfarin", "ask_blood_thinners",
             drugs=(("warfarin", "warfarin"),))
    assert chat.entries == ["text.en.blood_thinners.restart_rule", "medication.warfarin"]
    assert f"{rule.restart_hours} hours" in chat.reply and "prescribed" in chat.reply


def test_the_prescriber_who_forbids_stopping_wins(kb_snapshot: KbSnapshot) -> None:
    chat = Conversation(kb_snapshot, state=State(procedure_site="cervical"))
    chat.say("my cardiologist said never stop my clopidogrel", "ask_blood_thinners",
             drugs=(("clopidogrel", "clopidogrel"),))
    assert chat.entries == ["text.en.blood_thinners.prescriber_forbids"]
    assert "days" not in chat.reply


def test_echoed_names_are_plain_and_short() -> None:
    """A patient's words echoed back ("I don't have ... in my list") are never markup."""
    assert echo_safe("<img src=x onerror=alert(1)>") == "img srcx onerroralert1"
    assert len(echo_safe("x" * 500)) == 40
    assert echo_safe("{clinic_phone} %s") == "clinicphone s"
