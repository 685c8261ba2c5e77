"""The topic registry (data/kb/topics.yml): which topics exist and how they map onto texts.

Why one registry: a topic used to live in seven places (NLU file, domain, conversation map,
schema enum, key list, answer files, test lists). Now the registry is the only hand-written
list; the domain intents, dialogue rules, required text keys and test lists are derived from it.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Optional

from pydantic import Field, field_validator, model_validator

from actions.kb.schema import (
    GumRule,
    Language,
    NonEmpty,
    Position,
    SedationPolicy,
    Strict,
    TextKey,
)

Cues = dict[Language, list[NonEmpty]]
TopicId = Annotated[str, Field(pattern=r"^[a-z][a-z_]*$", max_length=40)]
IntentName = Annotated[str, Field(pattern=r"^[a-z][a-z_]*$", max_length=60)]

# Fields whose value picks an answer variant ("<key>.<value>"), and the values each can take.
VARIANT_FIELDS: dict[str, tuple[str, ...]] = {
    "fasting.gum_and_candy": tuple(v.value for v in GumRule),
    "fasting.medicines_with_sip_of_water": ("true", "false"),
    "fasting.applies_without_sedation": ("true", "false"),
    "clinic.driver_required_without_sedation": ("true", "false"),
    "clinic.taxi_allowed_alone": ("true", "false"),
    "procedure.position": tuple(v.value for v in Position),
    "procedure.sedation": tuple(v.value for v in SedationPolicy),
}


class TopicKind(str, Enum):
    """How a topic's answers are built."""

    topic = "topic"  # texts by key (and cue)
    medicine = "medicine"  # the medicine-advice rules per named drug (actions/medicine)


class SiteUse(str, Enum):
    """Whether a topic's texts may differ by procedure site."""

    any = "any"
    per_site = "per_site"


class Need(str, Enum):
    """What the assistant must know before it can answer a topic."""

    appointment = "appointment"
    site = "site"
    medicines = "medicines"


def _check_cues(cues: Cues) -> Cues:
    for words in cues.values():
        for cue in words:
            if cue != cue.lower() or cue.strip() != cue:
                raise ValueError(f"cue '{cue}' must be lower case without outer spaces")
    return cues


class AnswerSpec(Strict):
    """One answer key of a topic."""

    key: TextKey
    cues: Cues = {}
    variants_by: Optional[str] = None
    with_plan: Optional[TextKey] = None
    # the answer to a general question of its topic from a patient who would rather have no
    # sedation (conversation `sedation_wish`): "then would I still have to fast?"
    for_sedation_wish: bool = False
    # Words that, in a short message right after this answer, ask it again for another case
    # ("and on friday?" after the opening hours): never used to choose an answer otherwise
    again_cues: Cues = {}

    @field_validator("cues", "again_cues")
    @classmethod
    def _lower_case(cls, value: Cues) -> Cues:
        return _check_cues(value)

    @field_validator("variants_by")
    @classmethod
    def _known_field(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and value not in VARIANT_FIELDS:
            raise ValueError(f"variants_by '{value}' is not one of {sorted(VARIANT_FIELDS)}")
        return value

    def text_keys(self) -> list[str]:
        """The text keys this answer needs: the key itself, or one per variant value."""
        if self.variants_by is None:
            return [self.key]
        return [f"{self.key}.{value}" for value in VARIANT_FIELDS[self.variants_by]]


class TopicSpec(Strict):
    """A topic: the intent asking about it and its answers."""

    id: TopicId
    intent: IntentName
    kind: TopicKind = TopicKind.topic
    site: SiteUse = SiteUse.any
    needs: list[Need] = []
    # Content words that make a message about this topic besides its answers' cues ("relief",
    # "fast"): a follow-up or an unclear message is only given to a topic its words support.
    words: Cues = {}
    # Safety categories (red flags' `category`) that are this topic's message as well: "I've
    # got a cold and it's on Thursday" is both a pre-procedure illness (urgent: call the clinic
    # today) and report_illness. The NLU reports this topic's intent, the safety gate's reply
    # is what the patient gets (bot/nlu/gate_verdict.py), so understanding is measured on what
    # the patient said and safety on what they were told.
    triage_categories: list[NonEmpty] = []
    # A feeling, not a question ("I'm scared it'll go wrong"): where real crises hide, so a
    # tentative crisis the NLU reads as this topic keeps the full crisis reply (bot/safety/gate.py).
    feeling: bool = False
    # The answer is "tell the clinic, your doctor decides" (a condition, who it is for): a
    # message right after it that cannot be placed ("its an older one, a medtronic i think",
    # "does it matter which make it is") is more for the clinic to know, answered as such
    # (assistant.noted_for_clinic) rather than with "I'm not sure I understood".
    clinic_decides: bool = False
    answers: Annotated[list[AnswerSpec], Field(min_length=1)]

    @field_validator("words")
    @classmethod
    def _lower_case_words(cls, value: Cues) -> Cues:
        return _check_cues(value)

    @model_validator(mode="after")
    def _keys_belong_to_topic(self) -> TopicSpec:
        for answer in self.answers:
            if not answer.key.startswith(f"{self.id}."):
                raise ValueError(f"answer key '{answer.key}' must start with '{self.id}.'")
        return self

    @property
    def main(self) -> AnswerSpec:
        """The general answer (the first)."""
        return self.answers[0]


class ConversationCues(Strict):
    """Words that are not topics: follow-ups, corrections, carers, "more", "none", leaving."""

    follow_up_starts: Cues
    correction: Cues
    carer: Cues
    more: Cues
    none_taken: Cues
    medicine_use: Cues
    stopped_taking: Cues
    leave: Cues
    kidney: Cues
    language_requests: Cues
    negation: Cues
    hypothetical: Cues
    minimising: Cues
    symptom_fading: Cues  # "wore off", "se me ha pasado": a reported symptom is resolving
    bleeding_stopped: Cues  # "it stopped", "ya no sangra": a bleed that stopped
    # Background, not a report (bot/safety/rules.py): see topics.yml for each list.
    past_event: Cues = {}  # "had a stroke 5 years ago", "hace anos me desmaye"
    long_standing: Cues = {}  # "have done for years", "llevo anos"
    chronic_breathing_conditions: Cues = {}  # "COPD", "insuficiencia cardiaca"
    lying_down: Cues = {}  # "lying flat", "boca abajo"
    posture_bound: Cues = {}  # "I get breathless when I lie", "si estoy tumbado": a habit
    symptom_new: Cues = {}  # "since this morning", "de repente": a change now
    procedure_ahead: Cues = {}  # "booked in tomorrow", "la prueba es el viernes": not done yet
    procedure_done: Cues = {}  # "since the procedure", "me lo hicieron ayer": already done
    # The engine's reading of a message (actions/conversation): see topics.yml for each list.
    question_joiners: Cues = {}  # "and", "or", "y": where one question ends and the next starts
    question_starts: Cues = {}  # "can i", "when", "puedo": a part that asks something
    question_phrases: Cues = {}  # "I was wondering if", "quería saber si": asks, anywhere in it
    generic_question: Cues = {}  # "what now?", "¿qué hago?": asks nothing of its own
    anaphora: Cues = {}  # "it", "that", "eso": the message leans on what was just said
    pronouns: Cues = {}  # "it", "eso": the pronouns among them (not "that morning")
    medicine_reference: Cues = {}  # "go back on it", "the shots", "tomarla": the drug named
    hypothetical_site: Cues = {}  # "what if", "y si fuera": a site asked about, not a change
    past_site: Cues = {}  # "the neck was last time", "lo lumbar fue el año pasado": not this one
    driver_named: Cues = {}  # "my son is driving me", "me lleva mi hijo"
    appointment_words: Cues = {}  # "my appointment", "la cita": a day or time said is the booking
    kidney_fine: Cues = {}  # "my kidneys are fine", "los riñones bien"
    language_words: Cues = {}  # common words of each language: keeps the conversation's one
    vague_reference: Cues = {}  # "the thing from before", "lo de la cosa esa": nothing named
    medicine_reasons: Cues = {}  # "I had a stent", "¿no es peligroso?": whether a pause is safe
    other_medicines: Cues = {}  # "my other tablets", "las otras pastillas": not the drug named
    someone_elses: Cues = {}  # "my friend on coumadin", "como mi vecina con el sintrom"
    condition_openings: Cues = {}  # "if", "si": a clause that opens with a condition
    question_words: Cues = {}  # "who", "cuándo": open a question even after a condition
    no_sedation_told: Cues = {}  # "only local, no sedation", "sin sedar": none is planned
    drug_no_longer_taken: Cues = {}  # right before a drug: "switched from", "back when I was on"
    drug_off_said: Cues = {}  # right before a drug: "came off", "off": no longer taken, if told
    hedges: Cues = {}  # "que yo sepa", "as far as I know": a clause that asks nothing
    telling_only: Cues = {}  # "forgot to mention", "se me olvidó decir": no answer's cue
    what_if: Cues = {}  # "even if", "y si al final": a condition put to the last answer
    how_long: Cues = {}  # "how long does that go on for", "¿cuánto dura?": the last answer's time
    time_units: Cues = {}  # "hours", "semanas": an answer that says how long
    acknowledgements: Cues = {}  # "ok noted", "vale, entendido": nothing asked, a short reply
    sedation_wish: Cues = {}  # "I'd rather just have the local": kept as a wish, not the plan
    nothing_more: Cues = {}  # "nothing more, bye", "nada más": not a request for more detail


class OtherIntents(Strict):
    """Intents that are not topics."""

    respond: list[IntentName]  # answered by the conversation engine
    safety: list[IntentName]  # answered by the safety gate's reply


class Registry(Strict):
    """The whole registry file."""

    languages: Annotated[list[Language], Field(min_length=1)]
    topics: Annotated[list[TopicSpec], Field(min_length=1)]
    intents: OtherIntents
    conversation: ConversationCues
    texts: dict[NonEmpty, dict[TextKey, list[NonEmpty]]]

    @model_validator(mode="after")
    def _unique(self) -> Registry:
        for what, values in (
            ("topic id", [t.id for t in self.topics]),
            ("intent", [*(t.intent for t in self.topics), *self.intents.respond,
                        *self.intents.safety]),
            ("answer key", [a.key for t in self.topics for a in t.answers]),
            ("text key", [k for group in self.texts.values() for k in group]),
        ):
            seen: set[str] = set()
            for value in values:
                if value in seen:
                    raise ValueError(f"{what} '{value}' is listed twice")
                seen.add(value)
        if Language.en not in self.languages:
            raise ValueError("languages must include 'en' (every text exists in English)")
        return self

    # -- derived lists -------------------------------------------------------------------------
    def topic(self, topic_id: str) -> TopicSpec:
        """A topic by id (KeyError if unknown)."""
        for topic in self.topics:
            if topic.id == topic_id:
                return topic
        raise KeyError(topic_id)

    def topic_for_intent(self, intent: str) -> Optional[TopicSpec]:
        """The topic an intent asks about, if any."""
        return next((t for t in self.topics if t.intent == intent), None)

    @property
    def topic_intents(self) -> list[str]:
        """Every topic intent, in registry order."""
        return [t.intent for t in self.topics]

    @property
    def question_intents(self) -> list[str]:
        """The topic intents that ask a preparation question (every topic but the feelings)."""
        return [t.intent for t in self.topics if not t.feeling]

    @property
    def all_intents(self) -> list[str]:
        """Every intent of the domain: topics, conversation, safety."""
        return [*self.topic_intents, *self.intents.respond, *self.intents.safety]

    def required_text_keys(self) -> dict[str, frozenset[str]]:
        """Every text key the assistant may show -> the extra placeholders it may use."""
        required: dict[str, frozenset[str]] = {}
        for topic in self.topics:
            required[f"label.{topic.id}"] = frozenset()
            required[f"question.{topic.id}"] = frozenset()
            for answer in topic.answers:
                for key in answer.text_keys():
                    required[key] = frozenset()
        for group in self.texts.values():
            for key, placeholders in group.items():
                required[key] = frozenset(placeholders)
        return required


_CUE_CACHE: dict[tuple[str, ...], re.Pattern[str]] = {}


def cue_pattern(cues: list[str]) -> re.Pattern[str]:
    """One compiled pattern for a cue list: whole words; a trailing * matches any ending."""
    key = tuple(cues)
    pattern = _CUE_CACHE.get(key)
    if pattern is None:
        parts = []
        for cue in sorted(cues, key=len, reverse=True):
            body = re.escape(cue.rstrip("*")).replace(r"\ ", r"\s+")
            parts.append(body + (r"\w*" if cue.endswith("*") else ""))
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)
        _CUE_CACHE[key] = pattern
    return pattern
