"""The SMS channel's fixed texts name no procedure, site or drug (R30, minimum necessary).

SMS is not private and the first-contact notice (sms.notice) goes to a number before anything
is known about who holds the phone; a bot-initiated text would carry it too. Every clinic
profile's rendered sms.* texts, in every language, are scanned for the KB's own words: every
medication's generic name, brands (all markets), misspellings and class, every procedure's
site words, and the procedure's names (R30's deny-list, which the KB's procedure text uses).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from actions.kb.export import patient_texts
from actions.kb.loader import KbContent, load_kb

KB_DIR = Path(__file__).resolve().parents[2] / "data" / "kb"
CLINICS = sorted(p.stem for p in (KB_DIR / "clinics").glob("*.yml"))
# reliability-security.md R30, and the names procedure_info.main gives the procedure.
PROCEDURE_NAMES = ["rhizotomy", "rhizolysis", "rizolisis", "rizólisis", "radiofrequency",
                   "radiofrecuencia", "ablation", "ablación", "rfa", "facet", "medial branch",
                   "denervation", "desnervación", "nerve", "nervio"]
DRUG_CLASS_WORDS = {"anticoagulant": ["anticoagulant", "anticoagulante", "blood thinner"],
                    "antiplatelet": ["antiplatelet", "antiagregante"],
                    "nsaid": ["nsaid", "anti-inflammatory", "antiinflamatorio"]}


def fold(text: str) -> str:
    """Lower case without accents (a deny-listed word must not slip through unaccented)."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text.lower())
                   if not unicodedata.combining(ch))


def deny_list(kb: KbContent) -> set[str]:
    words = {fold(name) for name in PROCEDURE_NAMES}
    for medication in kb.medications:
        words.add(fold(medication.generic))
        words.update(fold(brand) for market in medication.brands.model_dump().values()
                     for brand in market)
        words.update(fold(m) for m in medication.misspellings)
        words.update(fold(w) for w in DRUG_CLASS_WORDS.get(medication.drug_class.value,
                                                           [medication.drug_class.value]))
    for procedure in kb.procedures:
        site_terms = procedure.site_terms
        per_language = site_terms if isinstance(site_terms, dict) else site_terms.model_dump()
        words.update(fold(term) for terms in per_language.values() for term in terms or [])
    return {w for w in words if w}


def hits(text: str, words: set[str]) -> list[str]:
    folded = fold(text)
    return sorted(w for w in words if re.search(r"(?<!\w)" + re.escape(w) + r"(?!\w)", folded))


@pytest.mark.parametrize("clinic", CLINICS)
def test_sms_texts_name_no_procedure_site_or_drug(clinic: str) -> None:
    kb, problems = load_kb(KB_DIR, clinic)
    assert kb is not None, problems
    words = deny_list(kb)
    assert {"apixaban", "eliquis", "rhizotomy", "neck"} <= words  # the list is the KB's
    exported = patient_texts(kb)["texts"]
    assert any("sms.notice" in texts for texts in exported.values())  # (English at least)
    scanned = 0
    for language, texts in exported.items():
        for key, entry in texts.items():
            if not key.startswith("sms."):
                continue
            scanned += 1
            assert not hits(entry["text"], words), (clinic, language, key, entry["text"])
    assert scanned >= 7


def test_the_scan_catches_a_drug_or_procedure_name() -> None:
    kb, _ = load_kb(KB_DIR, CLINICS[0])
    assert kb is not None
    words = deny_list(kb)
    assert hits("Reminder: stop your Eliquis before the rhizotomy", words) == [
        "eliquis", "rhizotomy"]
    assert hits("Recordatorio de su rizolisis lumbar", words) == ["lumbar", "rizolisis"]
