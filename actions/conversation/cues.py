"""Word cues from the registry: which answer of a topic a message asks for, and what kind of
message it is (a follow-up, a correction, about someone else, "none", leaving a question).

Why cue words and not more intents: "and water?" and "can I have water?" are the same
question; the intent says "fasting", the cue says "water", and a follow-up with no intent at
all still finds its answer among the last topic's cues. The words live in data/kb/topics.yml,
per language, so clinic staff and translators maintain them with the texts.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from typing import Any, Mapping, Optional

from actions.kb.registry import AnswerSpec, ConversationCues, Registry, TopicSpec, cue_pattern

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
SHORT_MESSAGE_WORDS = 6  # "coffee?", "and for him?": short enough to lean on the last topic
MISSPELT_MIN_LETTERS = 5  # "cofee", "bruisng"; shorter words are too close to each other
MISSPELT_SIMILARITY = 0.9  # coffee/cofee 0.91, bruising/bruisng 0.93; water/later 0.8
FOLLOW_UP_WORDS = 12  # "and afterwards how soon can he go back on it" is still a follow-up


def normalise(text: str) -> str:
    """Lower case, plain apostrophes, single spaces (accents kept; cues list both spellings)."""
    return " ".join(text.translate(_APOSTROPHES).lower().split())


def without_accents(text: str) -> str:
    """"cuándo" -> "cuando": patients often type without accents."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def _words(cues: Mapping[Any, list[str]], language: str) -> list[str]:
    return [c for lang, words in cues.items() if getattr(lang, "value", lang) == language
            for c in words]


_NEGATED_CUE = re.compile(
    r"(?:\b(?:(?<!oh )(?<!ah )no|not|without|sin|minus|hold the|leave the|leave out the|"
    r"skip the|without any|no more|haven'?t|hasn'?t|didn'?t|never|have not|has not|did not|"
    r"not yet|aun no|todavia no)\s+(?:\w+\s+)?)$")
_OUT_AFTER = re.compile(r"^\s+(?:out|off)\b")
# ... only when something is left out ("leave the milk out"), not taken off ("do I need to take
# my nail polish off?", which asks about the polish)
_LEFT_BEFORE = re.compile(r"\b(?:leave|leaving|left|keep|keeping|hold|holding|cut|cutting)\b")


def _affirmed(plain: str, pattern: re.Pattern[str]) -> bool:
    """A cue that occurs without a negation right before it ("no milk", "sin leche") or "out"
    right after it ("leave the milk out")."""
    for found in pattern.finditer(plain):
        before = plain[max(0, found.start() - 24):found.start()]
        if _NEGATED_CUE.search(before) or (_OUT_AFTER.match(plain[found.end():])
                                           and _LEFT_BEFORE.search(before)):
            continue
        return True
    return False


# Where a clause ends, for the words that belong to one mention (a site, a drug).
_CLAUSE_END = re.compile(r"[.,;:!?\n]|\b(?:but|pero|now|ahora|this time|esta vez)\b")


_TRAILING_DETERMINER = re.compile(r"(?:\s+(?:the|my|his|her|el|la|los|las|mi|mis|su|sus))?\s*$")


def matches(text: str, words: list[str]) -> bool:
    """Whether any cue occurs in the text as whole words, not negated (accents ignored too:
    "unas pintadas" matches the cue "uñas pintadas")."""
    if not words:
        return False
    plain = normalise(text)
    pattern = cue_pattern(words)
    if _affirmed(plain, pattern):
        return True
    bare = without_accents(plain)
    return _affirmed(bare, pattern) or _affirmed(bare, _bare_pattern(words))


def _bare_pattern(words: list[str]) -> re.Pattern[str]:
    """The cues without accents, for text typed without them ("unas pintadas"); only cues
    long enough not to become another word ("té" is not "te", "él" is not "el")."""
    long = [without_accents(w) for w in words if " " in w or len(w.rstrip("*")) >= 6]
    return cue_pattern(long) if long else re.compile(r"(?!)")


def mentions(text: str, words: list[str]) -> bool:
    """Whether any word occurs in the text, negated or not ("sin comer" is about eating)."""
    if not words:
        return False
    plain = normalise(text)
    return bool(cue_pattern(words).search(plain) or _bare_pattern(words).search(
        without_accents(plain)))


def first_match(text: str, words: list[str]) -> Optional[int]:
    """Where the first cue occurs (character offset), or None."""
    if not words:
        return None
    plain = normalise(text)
    found = cue_pattern(words).search(plain) or cue_pattern(words).search(without_accents(plain))
    return found.start() if found else None


class Cues:
    """The registry's cues for one language."""

    def __init__(self, registry: Registry, language: str) -> None:
        self.registry = registry
        self.language = language
        self._conversation: ConversationCues = registry.conversation

    def _conv(self, name: str) -> list[str]:
        return _words(getattr(self._conversation, name), self.language) + (
            _words(getattr(self._conversation, name), "en") if self.language != "en" else []
        )

    def answer_for(self, topic: TopicSpec, text: str) -> Optional[AnswerSpec]:
        """The topic's most specific answer whose cue occurs in the text (None: no cue).

        When several match, the one listed LAST in the registry wins: topics list general
        answers first ("water") and more specific ones after ("coffee", then "milk"), so "can
        I drink coffee with milk?" gets the milk answer. The general answer's own cues (the
        whole topic named: "eat and drink") win over all of them.
        """
        told = self._conv("telling_only")
        if told:
            text = cue_pattern(told).sub(" ", normalise(text))  # "forgot to say I take it"
        whole = _words(topic.main.cues, self.language) + (
            _words(topic.main.cues, "en") if self.language != "en" else [])
        if whole and matches(text, whole):
            return topic.main  # "when do I stop eating and drinking?": the whole answer
        for answer in reversed(topic.answers[1:]):
            words = _words(answer.cues, self.language)
            if self.language != "en":
                words = words + _words(answer.cues, "en")
            if matches(text, words):
                return answer
        return None

    def answer_for_misspelt(self, topic: TopicSpec, text: str) -> Optional[AnswerSpec]:
        """The answer one of whose one-word cues a word of the text misspells ("k and cofee",
        "and bruisng?"): words of five letters or more, similarity >= MISSPELT_SIMILARITY
        (one letter left out, added or changed in a word of that length). Only for short
        follow-ups, where a typo cannot be anything else."""
        tokens = [t for t in re.findall(r"[^\W\d_]+", normalise(text))
                  if len(t) >= MISSPELT_MIN_LETTERS]
        for answer in reversed(topic.answers[1:]):
            words = {w.rstrip("*") for w in _words(answer.cues, self.language)
                     if " " not in w and len(w.rstrip("*")) >= MISSPELT_MIN_LETTERS}
            for token in tokens:
                if any(token != word and SequenceMatcher(None, token, word).ratio()
                       >= MISSPELT_SIMILARITY for word in words):
                    return answer
        return None

    def topics_with_cues(self, text: str) -> list[TopicSpec]:
        """Topics with at least one answer cue in the text, by where the cue occurs."""
        found: list[tuple[int, TopicSpec]] = []
        for topic in self.registry.topics:
            positions = [first_match(text, _words(a.cues, self.language)) for a in topic.answers]
            hits = [p for p in positions if p is not None]
            if hits:
                found.append((min(hits), topic))
        return [t for _, t in sorted(found, key=lambda item: item[0])]

    def is_follow_up(self, text: str) -> bool:
        """A short message that starts like "and ...", "what about ...", "y ...", "¿y si ...?"."""
        plain = normalise(text).lstrip("¿¡ ")
        if len(plain.split()) > FOLLOW_UP_WORDS:
            return False
        starts = self._conv("follow_up_starts")
        return any(re.match(rf"{re.escape(s)}\b", plain) or
                   re.match(rf"{re.escape(s)}\b", without_accents(plain)) for s in starts)

    def is_short(self, text: str) -> bool:
        """One to a few words ("coffee?", "and for him?")."""
        return len(normalise(text).split()) <= SHORT_MESSAGE_WORDS

    def corrects(self, text: str) -> bool:
        """"sorry, it's Xarelto not Eliquis", "actually the 5th", "perdón, es el cuello"."""
        return matches(text, self._conv("correction"))

    def about_someone_else(self, text: str) -> bool:
        """A carer writing about the patient ("my dad", "he", "mi madre")."""
        return matches(text, self._conv("carer"))

    def says_none(self, text: str) -> bool:
        """"none", "I don't take any", "ninguno"."""
        return matches(text, self._conv("none_taken"))

    def stopped_taking(self, text: str) -> bool:
        """"I stopped taking the fish oil", "ya no tomo el Adiro"."""
        return matches(text, self._conv("stopped_taking"))

    def leaves(self, text: str) -> bool:
        """"never mind", "skip", "no sé", "ahora no": the patient leaves the question."""
        return matches(text, self._conv("leave"))

    def leaves_first(self, text: str) -> bool:
        """The message opens with a leave phrase and goes on ("forget it, when do I stop
        eating?", "déjalo, otra pregunta: ..."): the open question is left for the new one."""
        plain = without_accents(" ".join(re.sub(r"[^\w\s']", " ", normalise(text)).split()))
        words = plain.split()
        return any(len(words) > len(phrase.split()) and plain.startswith(phrase + " ")
                   for phrase in {without_accents(normalise(p)) for p in self._conv("leave")})

    def only_leaves(self, text: str) -> bool:
        """The whole message is a leave phrase ("forget it", "never mind", "déjalo"): it leaves
        the question even when one of its words is also a topic cue ("forget" = missed dose)."""
        plain = without_accents(" ".join(re.sub(r"[^\w\s']", " ", normalise(text)).split()))
        phrases = {without_accents(normalise(p)) for p in self._conv("leave")}
        return plain in phrases

    def ends_with(self, text: str, name: str) -> bool:
        """Whether `text` ends with one of the `name` cues, an article or possessive allowed
        after it ("switched from the", "me han quitado el"): what is said right before a word."""
        words = self._conv(name)
        if not words:
            return False
        plain = _TRAILING_DETERMINER.sub("", normalise(text).rstrip())
        for candidate in (plain, without_accents(plain)):
            if any(found.end() == len(candidate)
                   for found in cue_pattern(words).finditer(candidate)):
                return True
        return False

    def someone_elses(self, text: str) -> bool:
        """"my friend on coumadin", "como mi vecina con el": a drug named for comparison."""
        return matches(text, self._conv("someone_elses"))

    def acknowledges(self, text: str) -> bool:
        """"ok noted", "right, makes sense now", "vale, entendido": the patient takes the
        answer in; nothing to look up."""
        return matches(text, self._conv("acknowledgements"))

    def other_medicines(self, text: str) -> bool:
        """"what about my other tablets?": the usual medicines, not the drug just discussed."""
        return matches(text, self._conv("other_medicines"))

    def tells_no_sedation(self, text: str) -> bool:
        """"only local, no sedation", "me lo hacen sin sedar": the procedure is without
        sedation (not "will I be awake?")."""
        return matches(text, self._conv("no_sedation_told"))

    def declines_sedation(self, text: str) -> bool:
        """"I'd rather just have the numbing injection", "sin sedación": a wish for no sedation."""
        return matches(text, self._conv("sedation_wish"))

    def wants_more(self, text: str) -> bool:
        """"more", "tell me more", "cuéntame más" (not "nothing more", "vale nada más")."""
        return matches(text, self._conv("more")) and not matches(text, self._conv("nothing_more"))

    def puts_a_condition(self, text: str) -> bool:
        """"even if I only have the local?", "¿y si al final no me sedan?": starts with a
        condition put to what was just said."""
        plain = normalise(text).lstrip("¿¡ ")
        return any(plain == cue or plain.startswith(cue + " ")
                   for cue in (normalise(c).lstrip("¿¡ ") for c in self._conv("what_if")))

    def asks_how_long(self, text: str) -> bool:
        """"how long does that go on for?", "hw long will it hang around", "¿cuánto dura?"."""
        return matches(text, self._conv("how_long"))

    def without_how_long(self, text: str) -> str:
        """The text with its how-long words taken out ("cuanto tiempo mas o menos" ->
        "mas o menos")."""
        words = self._conv("how_long")
        return cue_pattern(words).sub(" ", normalise(text)) if words else normalise(text)

    def says_how_long(self, text: str) -> bool:
        """An answer that names a time unit ("settles within 1 to 2 weeks")."""
        return matches(text, self._conv("time_units"))

    def without_more_words(self, text: str) -> str:
        """The text without its "tell me more" words ("explain" is also a topic word)."""
        return cue_pattern(self._conv("more")).sub(" ", normalise(text))

    def about_medicine_use(self, text: str) -> bool:
        """"do I stop it or not?", "should I keep taking it": about the drug already named."""
        return matches(text, self._conv("medicine_use"))

    def gives_medicine_reason(self, text: str) -> bool:
        """"I had a stent put in", "¿no es peligroso para el corazón?" after a drug answer."""
        return matches(text, self._conv("medicine_reasons"))

    def requested_language(self, text: str) -> Optional[str]:
        """The language a message asks for ("English please", "en español"), if any."""
        requests = self._conversation.language_requests
        for language, phrases in requests.items():
            if matches(text, list(phrases)):
                return getattr(language, "value", str(language))
        return None

    def mentions_kidneys(self, text: str) -> bool:
        """Kidney words ("kidneys", "renal", "riñón")."""
        return matches(text, self._conv("kidney"))

    def kidneys_fine(self, text: str) -> bool:
        """"my kidneys are fine", "los riñones bien"."""
        return matches(text, self._conv("kidney_fine"))

    # ------------------------------------------------------------------ topics and parts
    def asks_again(self, answer: AnswerSpec, text: str) -> bool:
        """A short message with one of the answer's `again_cues` ("y el sábado?")."""
        return self.is_short(text) and mentions(text, _words(answer.again_cues, self.language))

    def words_of(self, topic: TopicSpec) -> list[str]:
        """A topic's content words in this language (English too for another language)."""
        words = _words(topic.words, self.language)
        return words + _words(topic.words, "en") if self.language != "en" else words

    def supports(self, topic: TopicSpec, text: str) -> bool:
        """Whether the text has one of the topic's answer cues or content words."""
        return self.answer_for(topic, text) is not None or mentions(text, self.words_of(topic))

    def vague(self, text: str) -> bool:
        """"wht abt the thng frm b4", "lo de la cosa esa": points at something unnamed."""
        return mentions(text, self._conv("vague_reference"))

    def question_parts(self, text: str) -> list[tuple[int, int]]:
        """The parts of a message that may each ask something, as (start, end) offsets: split
        at "?", "!", ";", sentence stops, and at joining words ("and", "or", "y"...) that start
        a new question ("... and when can I drive?"; "tea and toast?" and "general or twilight
        sedation?" stay one question)."""
        joiners = sorted(set(self._conv("question_joiners")), key=len, reverse=True)
        words = "|".join(re.escape(j).replace(r"\ ", r"\s+") for j in joiners)
        splitter = re.compile(r"[?!;¿¡]+|\.(?:\s+|$)|\n+" + (
            rf"|,?\s+(?P<joiner>{words})\s+" if words else "") + r"|(?P<comma>,)\s*",
            re.IGNORECASE)
        parts: list[tuple[int, int]] = []
        start = 0
        for found in splitter.finditer(text):
            joiner = found.groupdict().get("joiner")
            if joiner and not self._starts_question(text[found.end():]):
                continue
            if found.group("comma") and not self._parallel_question(text[start:found.start()],
                                                                     text[found.end():]):
                continue
            if found.start() > start:
                parts.append((start, found.start()))
            start = found.end()
        if start < len(text):
            parts.append((start, len(text)))
        return [(a, b) for a, b in parts if text[a:b].strip(" ,.")]

    def _parallel_question(self, before: str, after: str) -> bool:
        """"q puedo comer, q puedo beber y el chicle": after a comma, a question opening with
        the same question word as the one before is a question of its own (a list of them);
        "when I get there, do I..." stays one."""
        first = without_accents(normalise(before).lstrip("¿¡ ")).split()[:1]
        then = without_accents(normalise(after).lstrip("¿¡ ")).split()[:1]
        return bool(first) and first == then and self._starts_question(before) and \
            self._starts_question(after)

    def _starts_question(self, text: str) -> bool:
        """A question word first, also after an opening joiner ("y a q hora tengo q estar
        alli", "and when do i stop")."""
        plain = without_accents(normalise(text).lstrip("¿¡ "))
        for joiner in self._conv("question_joiners"):
            opened = re.match(rf"{re.escape(without_accents(joiner))}\s+", plain)
            if opened:
                plain = plain[opened.end():].lstrip("¿¡ ")
                break
        starts = [without_accents(s) for s in self._conv("question_starts")]
        if any(re.match(rf"{re.escape(s)}\b", plain) for s in starts):
            return True
        # "if I'm running late who do I ring": a condition, then the question, no comma; only a
        # question word opens it there ("if I can get a lift" asks nothing)
        condition = next((m for c in self._conv("condition_openings") if (
            m := re.match(rf"{re.escape(without_accents(c))}\s+", plain))), None)
        if condition is None:
            return False
        words = {without_accents(w) for w in self._conv("question_words")}
        return any(re.search(rf"\s{re.escape(s)}\b", plain[condition.end():]) for s in starts
                   if s.split()[0] in words)

    def opens_with_joiner(self, part: str) -> bool:
        """A part that opens with "and", "y", "also": a question joined to the one before,
        even without a question word ("... y las pastillas me las tomo")."""
        plain = without_accents(normalise(part).lstrip("¿¡ "))
        return any(re.match(rf"{re.escape(without_accents(j))}\s", plain)
                   for j in self._conv("question_joiners"))

    def is_question(self, text: str, start: int, end: int) -> bool:
        """A part that asks something: a "?" right after it, or a question word first, also
        after a comma ("and im a smoker, can i have a cigarette in the morning")."""
        after = text[end:end + 3]
        if "?" in after:
            return True
        if matches(text[start:end], self._conv("question_phrases")):
            return True  # "hi so I was wondering if I can have milk the night before"
        return any(self._starts_question(clause)
                   for clause in re.split(r"[,;:]\s*", text[start:end])
                   if clause and not self._hedge(clause))

    def _hedge(self, clause: str) -> bool:
        """A clause that opens with a hedge ("que yo sepa", "as far as I know"): it asks nothing
        ("los riñones bien, que yo sepa")."""
        plain = without_accents(normalise(clause)).strip()
        return any(plain.startswith(without_accents(normalise(h))) for h in self._conv("hedges"))

    def is_generic(self, part: str) -> bool:
        """A part that asks nothing of its own ("what happens now?", "¿qué hago?")."""
        plain = normalise(part).strip(" ,.!?¿¡")
        words = self._conv("generic_question")
        if not plain:
            return True
        remainder = cue_pattern(words).sub(" ", plain) if words else plain
        remainder = cue_pattern(words).sub(" ", without_accents(remainder)) if words else remainder
        filler = {"so", "then", "and", "but", "ok", "okay", "right", "well", "alright", "y",
                  "entonces", "pues", "vale", "bueno", "please", "por", "favor"}
        return not [w for w in re.findall(r"\w+", remainder) if w not in filler]

    def has_anaphora(self, text: str) -> bool:
        """"it", "that", "eso": the message leans on what was just said."""
        return matches(text, self._conv("anaphora"))

    def refers_to_medicine(self, text: str) -> bool:
        """"when does he go back on it?", "start the shots again", "tomarla": the drug named."""
        return mentions(text, self._conv("medicine_reference"))

    def has_pronoun(self, text: str) -> bool:
        """"it", "eso": a part that leans on the first question of the message."""
        return mentions(text, self._conv("pronouns"))

    def site_in_past(self, text: str, start: int, end: int) -> bool:
        """The site named at text[start:end] is an earlier procedure's: a `past_site` cue in
        its own clause ("the neck was last time", "last time it was my neck")."""
        before = _CLAUSE_END.split(text[max(0, start - 40):start])[-1]
        after = _CLAUSE_END.split(text[end:end + 40])[0]
        return matches(before, self._conv("past_site")) or \
            matches(after, self._conv("past_site"))

    def tells_procedure_done(self, text: str) -> bool:
        """"had it this morning", "hace 4 dias de la rizolisis": the procedure is behind."""
        return mentions(text, self._conv("procedure_done"))

    def asks_other_site(self, text: str) -> bool:
        """"what if it were the neck?", "¿y si fuera en el cuello?"."""
        return matches(text, self._conv("hypothetical_site"))

    def mentions_appointment(self, text: str) -> bool:
        """"my appointment is at 11", "la cita es el viernes": a day or time is the booking."""
        return matches(text, self._conv("appointment_words"))

    def names_driver(self, text: str) -> bool:
        """"my son is driving me", "me lleva mi hijo"."""
        return matches(text, self._conv("driver_named"))

    def language_score(self, text: str, language: str) -> int:
        """How many common words of a language the text has (accents ignored)."""
        words = [w for lang, ws in self._conversation.language_words.items()
                 if getattr(lang, "value", lang) == language for w in ws]
        if not words:
            return 0
        plain = without_accents(normalise(text))
        pattern = cue_pattern([without_accents(w) for w in words])
        return len(pattern.findall(plain))
