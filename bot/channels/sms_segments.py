"""SMS encoding and segment arithmetic (GSM-7 vs UCS-2), pure functions only.

Why: carriers bill and deliver long texts as concatenated segments. A single character outside
the GSM-7 alphabet (e.g. "á" or a curly apostrophe) switches the whole text to UCS-2 and more than
doubles the number of segments, so replies are built and checked with these rules:

- GSM-7: 160 septets in a single message, 153 per part when concatenated; the extension
  characters (^ { } \\ [ ] ~ | € and form feed) take two septets and never straddle two parts.
- UCS-2: 70 UTF-16 code units single, 67 per part; a surrogate pair never straddles two parts.
"""

from __future__ import annotations

from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
MAX_MESSAGE_CHARS = 1600  # Twilio rejects longer message bodies

# Typographic characters that have a plain GSM-7 look-alike (as Twilio's Smart Encoding does).
# "¡" and "¿" are GSM-7 and are never touched.
_LOOKALIKES = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'", "\u02bc": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2022": "-", "\u00b7": "-",
}


def encoding_of(text: str) -> Encoding:
    """GSM-7 when every character is in the GSM-7 basic or extension table, else UCS-2."""
    allowed = GSM7_BASIC | GSM7_EXTENSION
    return "GSM-7" if all(char in allowed for char in text) else "UCS-2"


def _unit_costs(text: str, encoding: Encoding) -> list[int]:
    if encoding == "GSM-7":
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def length_in_units(text: str) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) the text occupies."""
    return sum(_unit_costs(text, encoding_of(text)))


def split_segments(text: str) -> list[str]:
    """The parts a carrier would deliver; an empty text is no segment at all."""
    if not text:
        return []
    encoding = encoding_of(text)
    costs = _unit_costs(text, encoding)
    single, part = (GSM7_SINGLE, GSM7_PART) if encoding == "GSM-7" else (UCS2_SINGLE, UCS2_PART)
    if sum(costs) <= single:
        return [text]
    parts: list[str] = []
    start, used = 0, 0
    for index, cost in enumerate(costs):
        if used + cost > part:  # a two-unit character moves whole to the next part
            parts.append(text[start:index])
            start, used = index, 0
        used += cost
    parts.append(text[start:])
    return parts


def segment_count(text: str) -> int:
    """How many SMS segments the text is billed and delivered as."""
    return len(split_segments(text))


def replace_lookalikes(text: str) -> str:
    """Curly quotes, dashes, ellipses and odd spaces replaced by their GSM-7 look-alikes."""
    return "".join(_LOOKALIKES.get(char, char) for char in text)


# Letters outside GSM-7 that Spanish (and Catalan) use, written without their accent. GSM-7 has
# é, ñ, ü, à, è, ì, ò, ù, Ç, ¿ and ¡ itself, so those are kept as they are.
_SPANISH_PLAIN = {
    "á": "a", "í": "i", "ó": "o", "ú": "u", "Á": "A", "Í": "I", "Ó": "O", "Ú": "U",
    "ï": "i", "ç": "c", "À": "A", "È": "E", "Ì": "I", "Ò": "O", "Ù": "U", "â": "a", "ê": "e",
    "î": "i", "ô": "o", "û": "u", "ë": "e", "·": ".",
}


def to_gsm7(text: str) -> str:
    """The SMS policy for Spanish: á í ó ú (and a few others) lose their accent so the text
    stays GSM-7 (160/153 characters per segment instead of UCS-2's 70/67). Patients read
    unaccented Spanish every day in SMS; Twilio's Smart Encoding does the same."""
    return "".join(_SPANISH_PLAIN.get(char, char) for char in replace_lookalikes(text))


def fewest_segments(text: str) -> str:
    """The text in GSM-7 when that needs fewer segments (look-alikes, then unaccented letters);
    a text with other non-GSM characters (emoji, another script) stays as it is."""
    plain = to_gsm7(text)
    return plain if segment_count(plain) < segment_count(text) else text
