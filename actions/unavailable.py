"""The action server's "I can't look that up right now, please call" text.

Why from the KB export and not the database: it is sent exactly when the KB database (or an
action) fails, so it comes from $DATA_DIR/generated/patient_texts.json. If even that is missing,
the action sends nothing and the Rasa side's never-silent net (bot/safety/gate.py) answers.
"""

from __future__ import annotations

import logging
from typing import Optional

from common.patient_texts import PatientTextsMissing, load

logger = logging.getLogger(__name__)
UNAVAILABLE_KEY = "assistant.unavailable"


def unavailable_text(language: Optional[str]) -> Optional[str]:
    """The clinic's unavailable text in the patient's language, or None without the export."""
    try:
        return load().text(UNAVAILABLE_KEY, language or None).text
    except PatientTextsMissing as exc:
        logger.error("patient texts unavailable (%s)", type(exc).__name__)
        return None
