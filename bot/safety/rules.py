"""The KB's red-flag patterns, applied with negation, hypothetical and resolution scoping.

Why scoping by clause: "no numbness" and "what if I get a fever?" must not fire, but a hedge
must never hide a symptom that follows it ("not sure if this is normal but I can't feel my
legs", "i might be overreacting but my legs are numb"). So a cue only governs its own clause:
a clause ends at . , ; : ! ? and at but / and / because / also / pero / y / aunque / porque...
A negation cue counts only up to four words before the symptom ("I don't have a fever", "no
tengo nada de fiebre"); a hypothetical cue anywhere earlier in the clause ("what should I do
if I can't pee"). Hedges that look like negations ("not sure", "no idea", "don't want to
bother you", "no sé si", "no quiero molestar") are not negations, and "might" is never a
hypothetical cue. Suicide and self-harm flags ignore hypothetical cues: any phrasing counts.

The negation, hypothetical and minimising words come from the KB (data/kb/topics.yml
registry.conversation, exported to bot/generated/kb_vocabulary.json). The few lists below are
the grammar of the matcher rather than clinical content, so they live with it: clause
boundaries, hedges, and the "resolution" words that turn a report into an expected after-effect
("the numbness wore off", "ya se me ha pasado") or a stopped bleed ("it stopped when I pressed").

Everything is compiled once; `RuleMatcher.match` takes well under a millisecond per pattern set
on a chat message, so the gate can run it on every message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Pattern, Sequence, Tuple

from bot.nlu.vocabulary import KbVocabulary, RedFlagEntry

LEVELS: Tuple[str, ...] = ("emergency", "crisis", "urgent", "routine")
SEVERITY: Dict[str, int] = {"emergency": 3, "crisis": 2, "urgent": 1, "routine": 0}
# Categories whose patients get the crisis line (an emergency with one of these shows it too).
SELF_HARM_CATEGORIES = frozenset({"suicidal_thoughts", "self_harm_thoughts",
                                  "overdose_self_harm_act"})
NEGATION_WINDOW_WORDS = 4  # words allowed between a negation cue and the symptom
# Suicide and self-harm: only a negation right before the words counts ("I'm not suicidal",
# "no quiero morir"); "if this doesn't work I don't see the point" is not a negation.
SELF_HARM_NEGATION_WINDOW_WORDS = 0

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'",
                              "\u00b4": "'", "\u2032": "'"})
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower case, accents removed, plain apostrophes, single spaces: what patterns see."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", plain.lower()).strip()


def cue_regex(words: Iterable[str]) -> Optional[Pattern[str]]:
    """One pattern for a cue list: whole words, accents ignored, apostrophe optional
    ("don't" matches "dont"), a trailing * matches any ending. None for an empty list."""
    parts = []
    for word in sorted({normalise(w) for w in words if w.strip()}, key=len, reverse=True):
        body = re.escape(word.rstrip("*")).replace(r"\ ", r"\s+").replace("'", "'?")
        parts.append(body + (r"\w*" if word.endswith("*") else ""))
    if not parts:
        return None
    return re.compile(r"(?<![\w'])(?:" + "|".join(parts) + r")(?![\w'])")


# A clause ends at punctuation and at words that start a new statement.
_CLAUSE_BOUNDARY = re.compile(
    r"[.,;:!?\u00bf\u00a1\n()\[\]|]+|\s[-\u2013\u2014/+&]+\s|"
    r"(?<![\w'])(?:but|and|because|cos|coz|cuz|though|although|however|whereas|also|plus|"
    r"anyway|btw|ps|pero|y|e|aunque|porque|pq|xq|sino|tambien|ademas|mientras|"
    r"por cierto|otra cosa)(?![\w'])"
)
_SENTENCE_BOUNDARY = re.compile(r"[.!?;\n]+")
_WORD = re.compile(r"\w+")

# After a negation cue, these make it a hedge, not a negation of what follows.
_HEDGE_AFTER_NEGATION = re.compile(
    r"\s*(?:sure|idea|doubt|only|just|know|knowing|understand|certain|kidding|joking|lying|"
    r"a joke|joke|lie|to (?:worry|alarm|bother|scare|panic|be)|being (?:funny|dramatic)|"
    r"(?:want|wanting|wanna|mean|meaning|trying|wish|like) (?:to )?(?:bother|worry|alarm|"
    r"overreact|make|be|panic|scare|cause|moan|trouble|waste|fuss|sound)|"
    r"se (?:si|que|por|como|donde|cuanto|muy bien|bien si)|quiero (?:molestar|ser|alarmar|"
    r"exagerar|preocupar|asustar|dar|parecer|agobiar)|es por|te preocupes|os preocupeis|"
    r"se preocupen|es broma|miento|estoy segur|tengo claro|se ni)\b"
)
# An English "no" before these answers a question ("no, my legs are numb"), it negates nothing.
_INTERJECTION_NO_BEFORE = re.compile(
    r"\s*(?:i|i'm|im|my|it|its|it's|the|he|she|we|they|his|her|our|their|now|actually|wait|"
    r"sorry|really|seriously|but|ok|okay|this|that|mum|mom|dad|unfortunately)\b"
)
# "it hasn't stopped", "no se me pasa", "not getting any better": the negation affirms.
_CONTINUATION = re.compile(
    r"\b(?:stop|stops|stopped|stopping|quit|ease|eased|easing|go away|gone away|going away|"
    r"settle|settled|better|improv\w*|pasa|pasado|quita|quitado|va|ido|mejora\w*|para|parado)\b"
)

# "it has gone." / "the numbness is gone now" (but not "my leg has gone numb").
_GONE = re.compile(
    r"\b(?:has|have|had|is|are|its|it's|was)\s+(?:(?:all|completely|totally|now|mostly|nearly|"
    r"almost)\s+){0,2}gone(?=\s*(?:now|away|completely|again)?\s*"
    r"(?:[.,;!?)]|$|\band\b|\bbut\b|\bso\b))"
)
# A bare "if" / "si" that means "whether" ("is it ok if", "not sure if", "no sé si") is a
# hedge around a report, not a hypothetical.
_WHETHER_BEFORE_IF = re.compile(
    r"(?:\bis (?:it|that|this)|\bit'?s|\bits|wonder\w*|not sure|unsure|\bknow|dunno|idea|"
    r"\bask\w*|\bcheck\w*|\bsee|\bsure|\btell me|es normal|no se|pregunt\w*|saber|"
    r"\bmatters?|\bnormal|\bok|\bokay|\bfine|\bbad|\bdeal|\bserious|\bworrying)"
    r"(?:\W+\w+){0,4}\W*$"
)
_BARE_IF = frozenset({"if", "si", "even if"})
RESOLUTION_WINDOW_CHARS = 80
_NEARLY = frozenset({"casi", "nearly", "almost"})
# A resolution word followed by one of these says the opposite: "se me ha ido extendiendo" (it
# has been spreading), "it's gone up to my knee", "gone worse".
_NOT_RESOLVED_AFTER = re.compile(
    r"\s+(?:extendiendo|subiendo|empeorando|aumentando|creciendo|a mas|a peor|"
    r"up|higher|worse|further|numb|dead|weak)\b")
# Which categories each resolution applies to, and what it turns the match into
# (None: the flag does not fire; a category: that category's flag fires instead).
# The resolution cues are KB data (registry `conversation.symptom_fading` / `bleeding_stopped`):
# "fading", the symptom is wearing off or gone (an expected after-effect, or an illness that is
# over); "stopped", a bleed that stopped.
RESOLUTION_CUES: Tuple[str, ...] = ("symptom_fading", "bleeding_stopped")
_RESOLVES: Mapping[str, Tuple[str, Optional[str]]] = {
    "weakness_numbness": ("symptom_fading", None),
    "bladder_bowel": ("symptom_fading", None),  # numbness words only (see _NUMBNESS_WORDS)
    "fever": ("symptom_fading", None),
    "pre_procedure_illness": ("symptom_fading", None),
    "major_bleeding": ("bleeding_stopped", "minor_bleeding"),
}
# Background, not a report: an event dated long ago in the symptom's own clause ("had a heart
# attack in 2020", "tuve un ictus hace 4 anos", "I fainted at a blood test once", "came out in
# hives once years ago" for an allergy history), or, for
# breathlessness, a long-standing state or a chronic heart or lung condition tied to lying down
# ("I get breathless lying flat, have done for years", "ive got copd and get breathless lying
# flat") or bound to a posture as a habit ("me ahogo si estoy tumbado"): the patient is asking
# about the procedure, and the positioning answer covers it. A
# change now anywhere in the sentence ("since this morning", "much worse than usual", "de
# repente") keeps the flag. Self-harm flags never read background: any phrasing counts.
BACKGROUND_CUES: Tuple[str, ...] = ("past_event", "long_standing",
                                    "chronic_breathing_conditions", "lying_down",
                                    "posture_bound", "symptom_new")
_PAST_EVENT_GRAMMAR = re.compile(
    r"\b(?:in|en|since|desde) (?:el )?(?:19|20)\d\d\b|\b\d+ (?:years?|yrs?) (?:ago|back)\b|"
    r"\bhace (?:\w+ ){0,2}anos\b|\bonce(?=\s*(?:[.,;!?)]|$|\bbut\b|\band\b))")
_BREATH_WORDS = re.compile(r"breath|breathe|air\b|wheez|respir|aire|ahog|ofeg")
_ARM_WORDS = re.compile(r"\b(?:arms?|hands?|brazos?|manos?|bra[cç]os?|mans)\b")
_BACKGROUND_CATEGORIES = frozenset({"chest_breathing", "stroke", "collapse", "weakness_numbness",
                                    "anaphylaxis", "meningism_infection", "rash"})
_NUMBNESS_WORDS = re.compile(
    r"numb|dead|feel|sensation|tingl|pins and needles|frozen|ice|dormid|adormec|entumec|"
    r"acorch|sensib|sient|sentir|noto|hormig|adormid"
)


@dataclass(frozen=True)
class RuleHit:
    """A red flag whose pattern matched an affirmed report."""

    flag_id: str
    level: str
    category: str
    pattern_language: str
    downgraded_from: Optional[str] = None  # "red_flag.major_bleeding" when a bleed stopped


@dataclass(frozen=True)
class RuleResult:
    """Every flag that fired, most severe first, and the ones scoping set aside."""

    hits: Tuple[RuleHit, ...]
    # (flag id, "negated" | "hypothetical" | "background" | "resolved")
    suppressed: Tuple[Tuple[str, str], ...]

    @property
    def top(self) -> Optional[RuleHit]:
        """The hit the verdict follows (most severe; KB order breaks ties)."""
        return self.hits[0] if self.hits else None


@dataclass(frozen=True)
class _CompiledFlag:
    entry: RedFlagEntry
    order: int
    patterns: Tuple[Tuple[str, Pattern[str]], ...]  # (language, compiled)


class _Scopes:
    """Clause and sentence spans of one normalised message, and where its cues stand."""

    def __init__(self, text: str, negation: Optional[Pattern[str]],
                 hypothetical: Optional[Pattern[str]],
                 resolutions: Mapping[str, Optional[Pattern[str]]],
                 background: Optional[Mapping[str, Optional[Pattern[str]]]] = None) -> None:
        self.text = text
        self.resolutions = resolutions
        self.background = background or {}
        self.clause_starts = [0] + [m.end() for m in _CLAUSE_BOUNDARY.finditer(text)]
        self.sentence_bounds = [0] + [m.end() for m in _SENTENCE_BOUNDARY.finditer(text)]
        self.negations = list(negation.finditer(text)) if negation else []
        self.hypotheticals = list(hypothetical.finditer(text)) if hypothetical else []

    def clause_start(self, position: int) -> int:
        return max(s for s in self.clause_starts if s <= position)

    def sentence(self, position: int) -> Tuple[int, int]:
        start = max(s for s in self.sentence_bounds if s <= position)
        later = [s for s in self.sentence_bounds if s > position]
        return start, (min(later) if later else len(self.text))

    def negated(self, position: int, window: int = NEGATION_WINDOW_WORDS,
                ignore: frozenset[str] = frozenset()) -> bool:
        start = self.clause_start(position)
        for cue in self.negations:
            # A cue belongs to the clause its last word is in ("y si": "y" ends a clause).
            if cue.end() <= start or cue.end() > position or cue.group() in ignore:
                continue
            between = self.text[cue.end():position]
            if len(_WORD.findall(between)) > window:
                continue
            if _HEDGE_AFTER_NEGATION.match(between) or _CONTINUATION.search(between):
                continue
            if cue.group() in ("casi", "nearly", "almost") and re.match(
                    r"\s*(?:no|not|ni|can'?t|cannot|couldn'?t)\b", between):
                continue  # "casi no la noto", "almost can't breathe": barely, not "not"
            if cue.group() == "never" and re.search(r"\bbefore\b|\bantes\b",
                                                   self.text[position:position + 60]):
                continue  # "never had a seizure before": a first time, not a negation
            if cue.group().strip() == "no" and _INTERJECTION_NO_BEFORE.match(between) and \
                    not re.match(r"\s*(?:me|le|se|lo|la|les|nos|te)\b", between):
                continue
            return True
        return False

    def hypothetical(self, position: int) -> bool:
        start = self.clause_start(position)
        for cue in self.hypotheticals:
            if not start < cue.end() <= position:
                continue
            if cue.group() in _BARE_IF and _WHETHER_BEFORE_IF.search(
                    self.text[max(0, cue.start() - 40):cue.start()]):
                continue
            return True
        return False

    def _found(self, kind: str, low: int, high: int) -> bool:
        pattern = self.background.get(kind)
        return bool(pattern is not None and pattern.search(self.text, low, high))

    def _change_now(self, low: int, high: int) -> bool:
        """A "symptom_new" cue in the span that is not part of a long-standing or dated one:
        "desde hace anos" and "since 2019" say how long, not that something changed."""
        new = self.background.get("symptom_new")
        if new is None:
            return False
        spans = [m.span() for m in _PAST_EVENT_GRAMMAR.finditer(self.text, low, high)]
        long_standing = self.background.get("long_standing")
        if long_standing is not None:
            spans += [m.span() for m in long_standing.finditer(self.text, low, high)]
        return any(not any(a <= cue.start() and cue.end() <= b for a, b in spans)
                   for cue in new.finditer(self.text, low, high))

    def clause(self, position: int) -> Tuple[int, int]:
        start = self.clause_start(position)
        later = [s for s in self.clause_starts if s > position]
        return start, (min(later) if later else len(self.text))

    def background_only(self, category: str, start: int, matched: str) -> bool:
        """The match is background to a question, not a report now (see BACKGROUND_CUES)."""
        if category not in _BACKGROUND_CATEGORIES:
            return False
        sentence_start, sentence_end = self.sentence(start)
        if self._change_now(sentence_start, sentence_end):
            return False
        clause_start, clause_end = self.clause(start)
        if self._found("past_event", clause_start, clause_end) or _PAST_EVENT_GRAMMAR.search(
                self.text, clause_start, clause_end):
            return True
        lying = self._found("lying_down", sentence_start, sentence_end)
        if category == "weakness_numbness" and _ARM_WORDS.search(matched):
            # "boca abajo no aguanto mucho rato, se me duermen los brazos": arms that go to
            # sleep in a posture, as a habit, are a positioning question.
            return lying and any(self._found(kind, sentence_start, sentence_end) for kind in
                                 ("long_standing", "posture_bound"))
        if category != "chest_breathing" or not _BREATH_WORDS.search(matched):
            return False
        return lying and any(self._found(kind, sentence_start, sentence_end) for kind in
                             ("long_standing", "chronic_breathing_conditions", "posture_bound"))

    def resolved(self, kind: str, start: int, end: int) -> bool:
        pattern = self.resolutions.get(kind)
        if pattern is None:
            return False
        sentence_start, sentence_end = self.sentence(start)
        low = max(sentence_start, start - RESOLUTION_WINDOW_CHARS)
        high = min(sentence_end, end + RESOLUTION_WINDOW_CHARS)
        for cue in [*pattern.finditer(self.text, low, high), *_GONE.finditer(self.text, low, high)]:
            if _NOT_RESOLVED_AFTER.match(self.text, cue.end()):
                continue
            # "nearly back to normal", "casi se me ha pasado": nearly resolved, not "not".
            if not self.negated(cue.start(), ignore=_NEARLY):
                return True
        return False


class RuleMatcher:
    """Compiled red-flag patterns and triage cues from one KB vocabulary."""

    def __init__(self, vocabulary: KbVocabulary) -> None:
        self.vocabulary = vocabulary
        flags = []
        for order, entry in enumerate(vocabulary.red_flags):
            compiled = tuple(
                (language, re.compile(pattern))
                for language in sorted(entry.patterns_by_language,
                                       key=lambda lang: (lang != "en", lang))
                for pattern in entry.patterns_by_language[language]
            )
            flags.append(_CompiledFlag(entry, order, compiled))
        self._flags: Tuple[_CompiledFlag, ...] = tuple(flags)
        self._by_category: Dict[str, _CompiledFlag] = {}
        for flag in self._flags:
            self._by_category.setdefault(flag.entry.category, flag)
        cues = vocabulary.triage_cues
        self._negation = cue_regex(_all_languages(cues.get("negation", {})))
        self._hypothetical = cue_regex(_all_languages(cues.get("hypothetical", {})))
        self._minimising = cue_regex(_all_languages(cues.get("minimising", {})))
        self._resolutions = {kind: cue_regex(_all_languages(cues.get(kind, {})))
                             for kind in RESOLUTION_CUES}
        self._background = {kind: cue_regex(_all_languages(cues.get(kind, {})))
                            for kind in BACKGROUND_CUES}
        self._procedure_ahead = cue_regex(_all_languages(cues.get("procedure_ahead", {})))
        self._procedure_done = cue_regex(_all_languages(cues.get("procedure_done", {})))

    @property
    def flags(self) -> Tuple[RedFlagEntry, ...]:
        """The flags, in KB order."""
        return tuple(f.entry for f in self._flags)

    def category_of(self, flag_id: str) -> str:
        """The triage category of a flag ("" for an unknown id)."""
        return next((f.entry.category for f in self._flags if f.entry.id == flag_id), "")

    def flag_for_category(self, category: str) -> Optional[RedFlagEntry]:
        """The (first) flag of a category, so a classifier's category has advice to show."""
        flag = self._by_category.get(category)
        return flag.entry if flag else None

    def match(self, text: str) -> RuleResult:
        """Every flag with an affirmed match in `text` (raw text; normalised here)."""
        normalised = normalise(text)
        scopes = _Scopes(normalised, self._negation, self._hypothetical, self._resolutions,
                         self._background)
        hits: List[Tuple[int, int, RuleHit]] = []
        suppressed: List[Tuple[str, str]] = []
        for flag in self._flags:
            outcome = self._first_affirmed(flag, normalised, scopes)
            if isinstance(outcome, RuleHit):
                target = self._by_category.get(outcome.category, flag)
                hits.append((SEVERITY[outcome.level], -target.order, outcome))
            elif outcome is not None:
                suppressed.append((flag.entry.id, outcome))
        hits.sort(key=lambda item: (item[0], item[1]), reverse=True)
        unique: Dict[str, RuleHit] = {}
        for _, _, hit in hits:
            unique.setdefault(hit.flag_id, hit)
        return RuleResult(tuple(unique.values()), tuple(suppressed))

    def before_the_procedure(self, text: str) -> bool:
        """The message is about a procedure still ahead ("I'm booked in tomorrow", "la prueba
        es el viernes") and says nothing of one already done ("since the procedure")."""
        plain = normalise(text)
        return bool(self._procedure_ahead and self._procedure_ahead.search(plain)
                    and not (self._procedure_done and self._procedure_done.search(plain)))

    def asks_hypothetically(self, text: str) -> bool:
        """The message asks about something that might happen ("could this damage my nerves?",
        "puede dañar los nervios"): a hypothetical cue other than a bare "if" / "si", which
        also means "whether" and is everywhere in Spanish."""
        if self._hypothetical is None:
            return False
        return any(cue.group(0).strip() not in _BARE_IF
                   for cue in self._hypothetical.finditer(normalise(text)))

    def minimising(self, text: str) -> bool:
        """Whether the message plays a symptom down ("can I just wait and see?")."""
        return bool(self._minimising and self._minimising.search(normalise(text)))

    def _first_affirmed(self, flag: _CompiledFlag, text: str,
                        scopes: _Scopes) -> RuleHit | str | None:
        """The flag's hit, else why its matches were set aside (None: nothing matched)."""
        entry = flag.entry
        self_harm = entry.category in SELF_HARM_CATEGORIES
        window = SELF_HARM_NEGATION_WINDOW_WORDS if self_harm else NEGATION_WINDOW_WORDS
        reason: Optional[str] = None
        for language, pattern in flag.patterns:
            for match in pattern.finditer(text):
                if match.end() <= match.start():
                    continue
                starts = [match.start()] + [match.start(g) for g in match.groupdict()
                                            if match.start(g) >= 0]
                if any(scopes.negated(s, window) for s in starts):
                    reason = reason or "negated"
                    continue
                if not self_harm and any(scopes.hypothetical(s) for s in starts):
                    reason = reason or "hypothetical"
                    continue
                if not self_harm and scopes.background_only(entry.category, match.start(),
                                                            match.group()):
                    reason = reason or "background"
                    continue
                resolution = _RESOLVES.get(entry.category)
                if resolution is not None and self._applies(entry.category, match.group()) \
                        and scopes.resolved(resolution[0], match.start(), match.end()):
                    replacement = resolution[1] and self._by_category.get(resolution[1])
                    if not replacement:
                        reason = reason or "resolved"
                        continue
                    return RuleHit(replacement.entry.id, replacement.entry.level,
                                   replacement.entry.category, language,
                                   downgraded_from=entry.id)
                return RuleHit(entry.id, entry.level, entry.category, language)
        return reason

    @staticmethod
    def _applies(category: str, matched: str) -> bool:
        if category == "bladder_bowel":
            return bool(_NUMBNESS_WORDS.search(matched))
        return True


def _all_languages(per_language: Mapping[str, Sequence[str]]) -> List[str]:
    """Cues of every language: patients mix languages, and every pattern runs on every message."""
    return [word for words in per_language.values() for word in words]
