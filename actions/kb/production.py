"""What production refuses: the example clinic profile and the unreviewed default protocol.

Why: the shipped KB is a starting point written from the reference material; a clinic that
goes live without replacing the example phone number or re-reviewing the protocol would send
patients to a number that does not exist. `make run-production` runs this check first and stops
with one line per problem naming the file and the field.
"""

from __future__ import annotations

import re

from actions.kb import schema
from actions.kb.loader import CLINICS_DIR, KbContent, Problem

# Values the example profiles use; a real profile never matches these.
PLACEHOLDER_PATTERNS: dict[str, re.Pattern[str]] = {
    "name": re.compile(r"\b(example|ejemplo|exemple|demo|test)\b", re.IGNORECASE),
    # 555-0100 to 555-0199 are fictional, however grouped ("555 0100", "555 010 0100").
    "phone": re.compile(r"555[ .-]?01\d[ .-]?\d|000[ .-]?000|\b0{6,}\b"),
    "out_of_hours_phone": re.compile(r"555[ .-]?01\d[ .-]?\d|000[ .-]?000|\b0{6,}\b"),
    "address": re.compile(r"\b(example|ejemplo|exemple|main street)\b", re.IGNORECASE),
}
# The marker the default protocol carries in `reviewed_by` until the clinic reviews it.
UNREVIEWED_MARKER = re.compile(r"must re-review before go-live", re.IGNORECASE)


def production_problems(kb: KbContent) -> list[Problem]:
    """Every placeholder clinic value and every entry still marked for the clinic's review."""
    problems: list[Problem] = []
    clinic_file = f"{CLINICS_DIR}/{kb.clinic_profile}.yml"
    if "example" in kb.clinic_profile:
        problems.append(Problem(clinic_file, "clinic", f"KB_CLINIC={kb.clinic_profile} is an "
                                "example profile; create clinics/<your clinic>.yml"))
    for field, pattern in PLACEHOLDER_PATTERNS.items():
        value = getattr(kb.clinic, field)
        if isinstance(value, str) and pattern.search(value):
            problems.append(Problem(clinic_file, "clinic", f"{field}: '{value}' is a "
                                    "placeholder"))
    unreviewed: dict[str, int] = {}
    entries: list[tuple[str, schema.ReviewFields]] = [
        (kb.source_files.get(getattr(e, "id", ""), clinic_file), e)
        for e in kb.all_entries() if not isinstance(e, schema.TextEntry)
    ]
    entries += [(kb.source_files.get(t.id, "texts"), t.entry) for t in kb.texts]
    for file, entry in entries:
        if entry.status is schema.Status.approved and UNREVIEWED_MARKER.search(entry.reviewed_by):
            unreviewed[file] = unreviewed.get(file, 0) + 1
    for file, count in sorted(unreviewed.items()):
        problems.append(Problem(file, "reviewed_by", f"{count} approved entr"
                                f"{'y' if count == 1 else 'ies'} still say the clinic must "
                                "re-review them before go-live"))
    return problems
