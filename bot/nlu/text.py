"""Text helpers shared by the NLU components: normalisation and splitting into questions.

Pure Python (no Rasa import) so the benchmark and the tests use exactly what the pipeline uses.
"""

import re
import unicodedata
from typing import List, Pattern, Text, Tuple

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_NON_WORD = re.compile(r"[^\w']+")
_APOSTROPHE = re.compile(r"'")
_SPACES = re.compile(r"\s+")


def strip_accents(text: Text) -> Text:
    """'sedación' -> 'sedacion', 'ñ' kept as 'n' (patients type both)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def normalise(text: Text) -> Text:
    """Lower case, no accents, no apostrophes ("can't" = "cant"), punctuation as spaces.

    Typed and dictated messages differ in exactly these ways ("Sedación?" / "sedacion",
    "I’m" / "im"), so the classifier sees one spelling of each.
    """
    text = strip_accents(text.translate(_APOSTROPHES).casefold())
    text = _APOSTROPHE.sub("", text)
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()


# Where one question ends and the next begins: question marks, semicolons, sentence stops, a
# comma before a question word, and
# the words that join two questions in English and Spanish. " e " is Spanish "y" before an
# i- sound ("ayuno e higiene").
_QUESTION_START = (
    r"(?:do|does|did|can|could|is|are|will|would|should|shall|what|whats|when|whens|how|where"
    r"|which|who|why|am|puedo|puede|pueden|podre|podré|cuando|cuándo|que|qué|como|cómo|donde"
    r"|dónde|cuanto|cuánto|cuanta|cuánta|cual|cuál|hay|tengo|debo|hace|hago|es|son|deja|dejo"
    r"|estara|estará|estare|estaré|me)\b"
)
# A comma separates two questions only when a question starts after it ("..., can I drive?").
_SPLIT: Pattern[Text] = re.compile(
    r"\?+|;|,\s*(?=(?:and |y |or |o )?" + _QUESTION_START + r")|(?<=\w)[.!]+(?=\s|$)|\n+"
    r"|\s(?:and also|and then|and|also|plus|as well as|oh and|y también|y tambien|y además"
    r"|y ademas|y|e|también|tambien|además|ademas|aparte|otra cosa)\s",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")
# A question word anywhere in a part ("my appt is at 10 so when do i arrive"): it asks.
_ASKS: Pattern[Text] = re.compile(
    r"\b(?:when|whens|what|whats|how|where|which|who|why|can i|could i|do i|should i|will i"
    r"|am i|cuando|cuándo|qué|que hora|q hora|como|cómo|donde|dónde|cuanto|cuánto|puedo|debo"
    r"|tengo que|tengo q|hay que)\b",
    re.IGNORECASE,
)
# Joining words left at the start of a part ("..., and will she be awake"), or alone ("Also,").
_LEADING_JOINER = re.compile(
    r"(?:(?:and|also|plus|or|oh|so|then|y|o|e|también|tambien|además|ademas|aparte)\b\W*)+",
    re.IGNORECASE,
)


def split_questions(text: Text, min_words: int = 2) -> List[Tuple[int, int]]:
    """Character spans of the parts of a message that may be separate questions.

    Parts with fewer than `min_words` words are joined to the part before them (a lone "and
    water?" stays a follow-up of the previous part). Offsets index into `text`; surrounding
    spaces and commas are trimmed.
    """
    spans: List[Tuple[int, int]] = []
    start = 0
    for match in _SPLIT.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    trimmed = []
    for begin, end in spans:
        while begin < end and not text[begin].isalnum():
            begin += 1
        joiner = _LEADING_JOINER.match(text, begin, end)
        if joiner is not None:
            begin = joiner.end()
        while end > begin and not text[end - 1].isalnum():
            end -= 1
        if end > begin:
            trimmed.append((begin, end))
    merged: List[Tuple[int, int]] = []
    for begin, end in trimmed:
        if merged and len(_WORD.findall(text[begin:end])) < min_words:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((begin, end))
    if len(merged) > 1 and len(_WORD.findall(text[merged[0][0] : merged[0][1]])) < min_words:
        merged[0:2] = [(merged[0][0], merged[1][1])]
    return merged


def asks(part: Text) -> bool:
    """A question mark or a question word anywhere in the part."""
    return "?" in part or _ASKS.search(part) is not None
