"""Rule-based extractor for medications and procedure sites, fed by the clinic knowledge base.

Why rules and not DIET: the list of drugs a patient must hold before a rhizotomy is a clinical
decision that lives in the KB. A drug added there must be recognised after a restart, without
annotating new training examples, and "Eliquis" must always mean apixaban. So the names,
misspellings and site terms exported by `make kb-export` are matched here with spaCy's
PhraseMatcher, plus a guarded fuzzy match for unlisted misspellings ("xeralto").

English and Spanish: drug names in the vocabulary include Spanish brands (Sintrom, Adiro,
Brilique, Lixiana...); the site terms of the message's language (`language` entity from
`bot.nlu.language.LanguageTagger`, else every language's terms) are matched; fuzzy matching
skips the common words of both languages (COMMON_WORDS, COMMON_WORDS_ES, spaCy's stop words)
and words with an English or Spanish ending a drug name does not have.

Modelled on rasa/nlu/extractors/spacy_entity_extractor.py. It does not depend on `SpacyNLP`:
that component cannot load "blank:en" in Rasa 3.6 (`spacy.info` exits for a model without
meta.json and `ensure_proper_language_model` rejects models without a path) and no pretrained
pipeline can be downloaded here, so the component builds its own `spacy.blank("en")`, which is
all a PhraseMatcher needs (tokenizer only).

No `from __future__ import annotations`: Rasa inspects these signatures at runtime.
"""

import logging
import re
from difflib import SequenceMatcher
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Pattern, Set, Text, Tuple

import spacy
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.lang.es.stop_words import STOP_WORDS as SPANISH_STOP_WORDS
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from bot.nlu.vocabulary import DEFAULT_VOCABULARY_PATH, KbVocabulary, load_vocabulary

logger = logging.getLogger(__name__)

# English words that sit close to a drug name (found by scoring a 24k-word English list against
# common anticoagulant/NSAID/diabetes brand and generic names) or that patients type often. A
# token in this set, in spaCy's stop words or in `fuzzy_exclude` is never fuzzy-matched.
COMMON_WORDS: FrozenSet[Text] = frozenset(
    """
    about above after again alive along already aspire aspired aspires avail before being
    below bleed bleeding blood brilliant brilliantly caring clean cleaner cleanse clear coming
    could dinner doctor effect
    efficient every fever first fragment halve having hello helps level leave liver lyric
    lyrics maybe might monic morning motion nerve neuron never night numeric nurse other
    paper petal pills place please pressure quite really relinquish relto should since sleep
    small start still surgery tablet tablets their there these thing things think those
    thanks today tornado valve variance vitamin vitamins warfare water where which while would
    wrong
    """.split()
)

# The same for Spanish: words of Spanish chat and of the Spanish training, dev and triage sets
# that the fuzzy matcher took for a drug ("síntoma" ~ Sintrom, "célebre" ~ Celebrex, "jardín" ~
# Jardiance, "pradera" ~ Pradaxa), with their inflections.
COMMON_WORDS_ES: FrozenSet[Text] = frozenset(
    """
    sintoma síntoma sintomas síntomas sintomático sintomática celebre célebre celebres célebres
    celebrar celebro celebra celebración celebracion jardin jardín jardines jardinero jardinería
    pradera praderas prado sentir siento sentido centro tirita tiritas termina terminar
    eficiente eficaz efecto efectos alergia alergias alegre insulto insultar liquido líquido
    eligió elegir hígado higado medio movil móvil paleta plano plana planta persiana persona
    personas marea maravilla caramelo caramelos comida comidas
    """.split()
)

# Inflectional/derivational endings that drug names do not have: "aspiring" is an English
# word, not a misspelling of aspirin. Ignored when the candidate name ends the same way.
ENGLISH_SUFFIXES: Tuple[Text, ...] = tuple(
    "ing ings ed ly ness ment ments tion tions sion ful less ous able ible".split()
    # Spanish: adverbs, nouns of action, gerunds, past tenses
    + "mente ción cion ciones iendo ando aba aban ado ada ados adas ido ida idos idas".split()
)

# "back" is a KB site term, but "call me back" or "coming back" is not about the spine. For the
# terms in `ambiguous_site_terms`, a mention right after one of these words, or right before one
# of FOLLOWERS, is ignored, so a cervical patient's "text me back" never sets the site to lumbar.
AMBIGUOUS_TERM_PRECEDERS: FrozenSet[Text] = frozenset(
    """
    be been being bring brings brought call called calling calls came come comes coming drive
    email emailed get gets getting give go goes going got hear heard look looked looking pay
    phone put reply ring send sent step take talk text texted took turn went write
    walk walked walking walks head headed heading driving drove ride riding run running ran
    fly flew flying pop popped nip straight way grow grows growing grew grown regrow
    me you him her us them it
    """.split()
)
AMBIGUOUS_TERM_PRONOUNS: FrozenSet[Text] = frozenset("me you him her us them it".split())
AMBIGUOUS_TERM_FOLLOWERS: FrozenSet[Text] = frozenset(
    "again home later soon then to tomorrow".split()
)

# Spelling-by-ear rewrites applied to both sides before comparing ("plavicks" ~ "plavix").
_PHONETIC_REWRITES: Tuple[Tuple[Pattern[Text], Text], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"cks", "x"),
        (r"ks", "x"),
        (r"cs", "x"),
        (r"ck", "k"),
        (r"ph", "f"),
        (r"qu", "kw"),
        (r"c(?=[eiy])", "s"),
        (r"c", "k"),
        (r"z", "s"),
        (r"y", "i"),
        (r"(.)\1+", r"\1"),
    )
)
_VOWELS = re.compile(r"[aeiou]+")
_CONSONANTS = re.compile(r"[^aeiou]+")
# A phonetic or vowel-level match is less certain than a literal one.
_PHONETIC_PENALTY = 0.05
_VOWEL_SWAP_MIN_LENGTH = 6
_FUZZY_CACHE_SIZE = 50_000


def phonetic_key(word: Text) -> Text:
    """Lowercase spelling with common by-ear substitutions and doubled letters collapsed."""
    key = word.lower()
    for pattern, replacement in _PHONETIC_REWRITES:
        key = pattern.sub(replacement, key)
    return key


def similarity(token: Text, name: Text) -> float:
    """How alike a typed word and a known drug name are, in [0, 1].

    The best of: the literal difflib ratio; the ratio of the phonetic keys; and, when both
    have the same consonants in the same order and the same vowels in another order (swapped
    vowels, "xeralto" ~ "xarelto"), the ratio with vowel runs flattened. The two last ones
    carry a small penalty. ("centrum" ~ "sintrom" has other vowels, so no vowel-swap match.)
    """
    token, name = token.lower(), name.lower()
    return _similarity(token, phonetic_key(token), name, phonetic_key(name))


def _similarity(token: Text, token_key: Text, name: Text, name_key: Text) -> float:
    """`similarity` with the phonetic keys already computed (they are cached per name)."""
    best = SequenceMatcher(None, token, name).ratio()
    if (token_key, name_key) != (token, name):
        best = max(best, SequenceMatcher(None, token_key, name_key).ratio() - _PHONETIC_PENALTY)
    if (
        len(token) >= _VOWEL_SWAP_MIN_LENGTH
        and _VOWELS.sub("", token_key) == _VOWELS.sub("", name_key)
        and sorted(_CONSONANTS.sub("", token_key)) == sorted(_CONSONANTS.sub("", name_key))
    ):
        flat_token, flat_name = _VOWELS.sub("a", token_key), _VOWELS.sub("a", name_key)
        best = max(best, SequenceMatcher(None, flat_token, flat_name).ratio() - _PHONETIC_PENALTY)
    return max(0.0, min(1.0, best))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class PrepEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Extracts `medication` (value: generic name) and `procedure_site` (lumbar/cervical)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """The component's default config (see parent class for full docstring)."""
        return {
            # JSON written by `make kb-export`; relative paths start at the working directory.
            "vocabulary_path": DEFAULT_VOCABULARY_PATH,
            # entity name for drugs; the value is always the generic name ("apixaban")
            "medication_entity": "medication",
            # entity name for the procedure site; the value is the KB site ("lumbar")
            "site_entity": "procedure_site",
            # look for misspellings the KB does not list ("xeralto"); False = exact only
            "fuzzy_matching": True,
            # minimum similarity (0-1) for a fuzzy match; it becomes the entity confidence
            "fuzzy_cutoff": 0.85,
            # shorter words are never fuzzy-matched (too many near misses)
            "fuzzy_min_length": 5,
            # the typed word and the name must start with the same sound (c/k, ph/f equal)
            "fuzzy_same_first_letter": True,
            # extra words never to fuzzy-match, on top of COMMON_WORDS and spaCy stop words
            "fuzzy_exclude": [],
            # one-word site terms that are also everyday words; see AMBIGUOUS_TERM_PRECEDERS
            "ambiguous_site_terms": ["back", "espalda"],
            # entity set by LanguageTagger; its value picks the site terms of that language
            "language_entity": "language",
        }

    def __init__(self, config: Dict[Text, Any], vocabulary: KbVocabulary) -> None:
        """Builds the matchers once; `process` only runs them."""
        self._config = {**self.get_default_config(), **config}
        self._vocabulary = vocabulary
        self._nlp: Language = spacy.blank("en")
        self._medication_matcher = PhraseMatcher(self._nlp.vocab, attr="LOWER")
        self._site_matcher = PhraseMatcher(self._nlp.vocab, attr="LOWER")
        # one matcher per language with its own terms; "" = every language's terms
        self._site_matchers: Dict[Text, PhraseMatcher] = {"": self._site_matcher}
        # lowercased single-word surface form -> generic, the fuzzy-match candidates
        self._fuzzy_names: Dict[Text, Text] = {}
        self._build_medication_matcher()
        self._fuzzy_candidates: List[Tuple[Text, Text, Text]] = [
            (name, phonetic_key(name), generic) for name, generic in self._fuzzy_names.items()
        ]
        # words seen before -> their fuzzy result; chat vocabulary repeats a lot
        self._fuzzy_cache: Dict[Text, Optional[Tuple[Text, float]]] = {}
        self._site_patterns: List[Tuple[Pattern[Text], Text]] = []
        self._build_site_matchers()
        self._ambiguous_terms = frozenset(
            str(term).lower() for term in self._config["ambiguous_site_terms"] or []
        )
        self._excluded_words: FrozenSet[Text] = self._build_excluded_words()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        """Creates a new component (see parent class for full docstring).

        The vocabulary is read here, not at training time, so restarting the server picks up
        a re-exported KB without retraining the model.
        """
        merged = {**cls.get_default_config(), **config}
        vocabulary = load_vocabulary(merged["vocabulary_path"])
        logger.debug(
            f"{cls.__name__}: loaded {len(vocabulary.medications)} medications and "
            f"{len(vocabulary.sites)} sites from '{vocabulary.source_path}' "
            f"(KB {vocabulary.kb_fingerprint[:12]})."
        )
        return cls(merged, vocabulary)

    @staticmethod
    def required_packages() -> List[Text]:
        """Lists required dependencies (see parent class for full docstring)."""
        return ["spacy"]

    @staticmethod
    def supported_languages() -> Optional[List[Text]]:
        """English and Spanish (spaCy's blank English tokenizer splits both alike)."""
        return ["en", "es"]

    def process(self, messages: List[Message]) -> List[Message]:
        """Appends medication and procedure-site entities; earlier entities are kept as-is.

        Args:
            messages: List of messages to process.

        Returns: The processed messages.
        """
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            language = _entity_value(message.get(ENTITIES) or [], self._config["language_entity"])
            extracted = self.add_extractor_name(self.extract(text, language))
            message.set(ENTITIES, message.get(ENTITIES, []) + extracted, add_to_output=True)
        return messages

    def extract(self, text: Text, language: Optional[Text] = None) -> List[Dict[Text, Any]]:
        """Entities for one raw text, in text order.

        `language` ("en", "es") restricts the site terms to that language's; None uses all.
        """
        doc = self._nlp.make_doc(text)
        matcher = self._site_matchers.get(language or "", self._site_matcher)
        site_matches = [Span(doc, start, end, label=label) for label, start, end in matcher(doc)]
        site_spans = [
            span for span in filter_spans(site_matches) if not self._is_everyday_use(span)
        ]
        medications = self._exact_medications(doc)
        if self._config["fuzzy_matching"]:
            taken = {i for span in site_spans for i in range(span.start, span.end)}
            taken |= {i for span, _, _ in medications for i in range(span.start, span.end)}
            medications += self._fuzzy_medications(doc, taken)
        entities = self._medication_entities(medications) + self._site_entities(text, site_spans)
        return sorted(entities, key=lambda entity: entity[ENTITY_ATTRIBUTE_START])

    # ------------------------------------------------------------------ medications
    def _build_medication_matcher(self) -> None:
        owner: Dict[Text, Text] = {}
        for medication in self._vocabulary.medications:
            patterns = []
            for form in medication.surface_forms:
                key = form.lower()
                if owner.setdefault(key, medication.generic) != medication.generic:
                    logger.warning(
                        f"'{form}' is listed for both {owner[key]} and {medication.generic} "
                        f"in the KB vocabulary; keeping {owner[key]}."
                    )
                    continue
                patterns.append(self._nlp.make_doc(form))
                if " " not in key:
                    self._fuzzy_names[key] = medication.generic
            if patterns:
                self._medication_matcher.add(medication.generic, patterns)

    def _exact_medications(self, doc: Doc) -> List[Tuple[Span, Text, float]]:
        spans = [
            Span(doc, start, end, label=label)
            for label, start, end in self._medication_matcher(doc)
        ]
        # longest match wins: "baby aspirin" rather than "aspirin" inside it
        return [(span, span.label_, 1.0) for span in filter_spans(spans)]

    def _fuzzy_medications(self, doc: Doc, taken: Set[int]) -> List[Tuple[Span, Text, float]]:
        found = []
        for token in doc:
            if token.i in taken:
                continue
            match = self._best_fuzzy_name(token.text)
            if match is not None:
                generic, score = match
                found.append((doc[token.i : token.i + 1], generic, score))
        return found

    def _best_fuzzy_name(self, word: Text) -> Optional[Tuple[Text, float]]:
        """Best (generic, similarity) for a word that may be a misspelt drug, else None."""
        lowered = word.lower()
        if (
            len(lowered) < self._config["fuzzy_min_length"]
            or not lowered.isalpha()
            or lowered in self._excluded_words
        ):
            return None
        if lowered in self._fuzzy_cache:
            return self._fuzzy_cache[lowered]
        best: Optional[Tuple[Text, float]] = None
        key = phonetic_key(lowered)
        for name, name_key, generic in self._fuzzy_candidates:
            if self._config["fuzzy_same_first_letter"] and name_key[:1] != key[:1]:
                continue
            # against the generic, not the listed misspelling ("gaining" vs "ginsing")
            if _has_word_ending(lowered, generic):
                continue
            score = _similarity(lowered, key, name, name_key)
            if score >= self._config["fuzzy_cutoff"] and (best is None or score > best[1]):
                best = (generic, round(score, 3))
        if len(self._fuzzy_cache) >= _FUZZY_CACHE_SIZE:
            self._fuzzy_cache.clear()
        self._fuzzy_cache[lowered] = best
        return best

    def _build_excluded_words(self) -> FrozenSet[Text]:
        words = set(COMMON_WORDS) | set(COMMON_WORDS_ES) | set(STOP_WORDS)
        words |= {str(word).lower() for word in SPANISH_STOP_WORDS}
        words |= {str(word).lower() for word in self._config["fuzzy_exclude"] or []}
        # site vocabulary ("lumbar", "cervical") is never a drug
        for site in self._vocabulary.sites:
            for term in site.terms:
                words.update(term.lower().split())
        return frozenset(words - set(self._fuzzy_names))

    def _medication_entities(
        self, matches: Iterable[Tuple[Span, Text, float]]
    ) -> List[Dict[Text, Any]]:
        entities = []
        seen: Set[Text] = set()
        for span, generic, confidence in sorted(matches, key=lambda match: match[0].start_char):
            if generic in seen:
                continue
            seen.add(generic)
            entities.append(
                _entity(
                    self._config["medication_entity"],
                    generic,
                    span.start_char,
                    span.end_char,
                    confidence,
                )
            )
        return entities

    # ------------------------------------------------------------------ sites
    def _build_site_matchers(self) -> None:
        languages = {lang for site in self._vocabulary.sites for lang in site.terms_by_language}
        for language in sorted(languages):
            self._site_matchers[language] = PhraseMatcher(self._nlp.vocab, attr="LOWER")
        for site in self._vocabulary.sites:
            if site.terms:
                self._site_matcher.add(site.site, [self._nlp.make_doc(t) for t in site.terms])
            for language in languages:
                terms = site.terms_for(language)
                if terms:
                    self._site_matchers[language].add(
                        site.site, [self._nlp.make_doc(t) for t in terms]
                    )
            for pattern in site.patterns:
                # the KB spells out case variants ([lL]); IGNORECASE just makes that robust
                self._site_patterns.append((re.compile(pattern, re.IGNORECASE), site.site))

    def _is_everyday_use(self, span: Span) -> bool:
        """True for "back" in "come back", "back home": an adverb, not the body part."""
        if span.text.lower() not in self._ambiguous_terms:
            return False
        doc = span.doc
        before = doc[span.start - 1].lower_ if span.start > 0 else ""
        after = doc[span.end].lower_ if span.end < len(doc) else ""
        if after in AMBIGUOUS_TERM_FOLLOWERS:
            return True
        if before in AMBIGUOUS_TERM_PRONOUNS:
            # "call her back" (a verb before the pronoun) but "before her back RF", "his back"
            verb = doc[span.start - 2].lower_ if span.start > 1 else ""
            return verb in AMBIGUOUS_TERM_PRECEDERS and verb not in AMBIGUOUS_TERM_PRONOUNS
        return before in AMBIGUOUS_TERM_PRECEDERS

    def _site_entities(self, text: Text, spans: Iterable[Span]) -> List[Dict[Text, Any]]:
        candidates = [(span.start_char, span.end_char, span.label_) for span in spans]
        for pattern, site in self._site_patterns:
            candidates += [(m.start(), m.end(), site) for m in pattern.finditer(text)]
        # "lie on my back for the neck one": a vague term never outvotes a specific one
        vague = self._ambiguous_terms
        specific = {c[2] for c in candidates if text[c[0] : c[1]].lower() not in vague}
        if specific:
            candidates = [c for c in candidates
                          if text[c[0] : c[1]].lower() not in vague or c[2] in specific]
        entities = []
        seen: Set[Text] = set()
        # first mention of each site wins; at equal start the longer mention
        for start, end, site in sorted(candidates, key=lambda c: (c[0], -c[1])):
            if site in seen or end <= start:
                continue
            seen.add(site)
            entities.append(_entity(self._config["site_entity"], site, start, end, 1.0))
        return entities


def _entity_value(entities: List[Dict[Text, Any]], entity_type: Text) -> Optional[Text]:
    for entity in entities:
        if entity.get(ENTITY_ATTRIBUTE_TYPE) == entity_type and entity.get(ENTITY_ATTRIBUTE_VALUE):
            return str(entity[ENTITY_ATTRIBUTE_VALUE])
    return None


def _has_word_ending(word: Text, generic: Text) -> bool:
    return any(word.endswith(s) and not generic.endswith(s) for s in ENGLISH_SUFFIXES)


def _entity(
    entity_type: Text, value: Text, start: int, end: int, confidence: float
) -> Dict[Text, Any]:
    return {
        ENTITY_ATTRIBUTE_TYPE: entity_type,
        ENTITY_ATTRIBUTE_START: start,
        ENTITY_ATTRIBUTE_END: end,
        ENTITY_ATTRIBUTE_VALUE: value,
        ENTITY_ATTRIBUTE_CONFIDENCE: confidence,
    }
