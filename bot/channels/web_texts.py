"""The web chat's own words — page, widget and error replies — from the KB export.

Why a module: every sentence on the chat page, in the widget and in the channel's 4xx replies
is an approved KB text (data/kb/texts/<lang>/web.yml), read from the export `make kb` writes
($DATA_DIR/generated/patient_texts.json) so it works with the action server and the KB database
down. This module picks the language (the page's `?lang=`, the browser's Accept-Language, the
clinic's default), fills the page template and builds the data the server writes into
widget.js. No sentence is written here.
"""

from __future__ import annotations

import html
import json
from typing import Any, Mapping, Optional

from bot.channels.clinic_profile import ClinicProfile
from common.patient_texts import PatientTexts, PatientTextsMissing

WIDGET_PREFIX = "web."
WIDGET_DATA_PLACEHOLDER = "/*__WIDGET_DATA__*/ null"


def pick_language(texts: PatientTexts, wanted: Optional[str], accept_language: str) -> str:
    """The first supported language of `?lang=` and then Accept-Language, else the default."""
    candidates = [wanted or ""]
    for part in accept_language.split(","):
        code, _, quality = part.strip().partition(";q=")
        try:
            if quality and float(quality) <= 0:
                continue
        except ValueError:
            continue
        candidates.append(code)
    for candidate in candidates:
        code = candidate.strip().lower().split("-")[0]
        if code in texts.languages:
            return code
    return texts.default_language


def say(texts: Optional[PatientTexts], key: str, language: Optional[str] = None,
        **values: object) -> str:
    """One web text, filled; "" when the export is missing (the widget then shows its own)."""
    if texts is None:
        return ""
    try:
        return texts.text(key, language).fill(**values)
    except PatientTextsMissing:
        return ""


def _tel(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit() or ch == "+")


def emergency_banner_html(banner: str, emergency_number: str) -> str:
    """The banner, escaped, with the emergency number as a tel: link."""
    escaped, number = html.escape(banner, quote=True), html.escape(emergency_number, quote=True)
    link = f'<a href="tel:{html.escape(_tel(emergency_number), quote=True)}">{number}</a>'
    if number and number in escaped:
        return escaped.replace(number, link, 1)
    return f"{escaped} {link}"


def fill_page(template: str, texts: PatientTexts, clinic: ClinicProfile, language: str,
              base: str) -> str:
    """The chat page in `language`: every placeholder replaced by escaped KB text."""
    values = {
        "{{LANG}}": language,
        "{{BASE}}": html.escape(base, quote=True),
        "{{CLINIC_NAME}}": html.escape(clinic.name, quote=True),
        "{{PAGE_TITLE}}": html.escape(say(texts, "web.page_title", language), quote=True),
        "{{SKIP_LINK}}": html.escape(say(texts, "web.skip_link", language), quote=True),
        "{{SUBTITLE}}": html.escape(say(texts, "web.subtitle", language), quote=True),
        "{{EMERGENCY_BANNER}}": emergency_banner_html(
            say(texts, "web.emergency_banner", language), clinic.emergency_number),
        "{{NOT_WATCHED}}": html.escape(say(texts, "web.not_watched", language), quote=True),
        "{{NOSCRIPT}}": html.escape(say(texts, "web.noscript", language), quote=True),
    }
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    return template


def widget_data(texts: PatientTexts, clinic: ClinicProfile) -> dict[str, Any]:
    """What widget.js needs to speak: the clinic's contacts and every web.* text per language."""
    by_language: dict[str, dict[str, str]] = {}
    for language in texts.languages:
        keys = sorted(key for key in _keys(texts.data, language) if key.startswith(WIDGET_PREFIX))
        by_language[language] = {key: texts.text(key, language).text for key in keys}
    return {
        "default_language": texts.default_language,
        "clinic": {"clinic_name": clinic.name, "clinic_phone": clinic.phone,
                   "emergency_number": clinic.emergency_number},
        "texts": by_language,
    }


def _keys(data: Mapping[str, Any], language: str) -> list[str]:
    english = (data.get("texts") or {}).get("en", {})
    own = (data.get("texts") or {}).get(language, {})
    return sorted(set(english) | set(own))


def fill_widget(script: bytes, data: Mapping[str, Any]) -> bytes:
    """widget.js with its data in place (JSON is valid JavaScript; non-ASCII escaped)."""
    blob = json.dumps(data, ensure_ascii=True, sort_keys=True).replace("</", "<\\/")
    return script.decode("utf-8").replace(WIDGET_DATA_PLACEHOLDER, blob, 1).encode("utf-8")
