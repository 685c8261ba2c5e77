"""Record the safety gate's verdict in the NLU result, so the transcript shows its reply.

Why: the gate (bot/safety/gate.py) answers an emergency before Rasa's turn and passes its
decision in the message metadata; this component, last in the pipeline, turns it into the
intent (report_emergency / report_crisis / report_urgent) and the `red_flag` and `triage_text`
entities, which fill the slots `utter_triage` ("{triage_text}") reads. Rasa's rule then records
exactly the text the patient already received. A message that did not come through the gate
(`rasa test`, `rasa interactive`) is triaged here with the gate's own triage and reply, so
there is one safety detector, not a second one in the NLU pipeline.

An urgent category the topic registry also gives to a topic (`triage_categories`: "I've got a
cold and it's on Thursday" is a pre-procedure illness and report_illness) keeps that topic's
intent: the intent says what the patient told us, the `alarm` and `triage_text` entities say
how the gate answered, and action_respond records that same reply (actions/respond.py).

No `from __future__ import annotations`: Rasa inspects these signatures at runtime.
"""

import datetime
import logging
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    METADATA,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.vocabulary import DEFAULT_VOCABULARY_PATH, VocabularyError, load_vocabulary

logger = logging.getLogger(__name__)
_triage: Optional[Any] = None


def _now_iso() -> Text:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _shared_triage() -> Any:
    """The gate's triage when the gate runs in this process, else one of our own."""
    global _triage
    from bot import runtime_guards
    from bot.safety.triage import Triage

    gate = runtime_guards.current_gate()
    if gate is not None:
        return gate.triage
    if _triage is None:
        _triage = Triage(wait_for_classifier=True)
    return _triage


def _triage_without_gate(text: Text) -> Optional[Tuple[Text, Optional[Text], Optional[Text],
                                                         Text]]:
    """(level, flag, category, reply) for an emergency, crisis or urgent message; None when
    routine."""
    from bot.safety.gate import alarm_reply
    from common.patient_texts import PatientTextsMissing, load

    if not text.strip():
        return None
    verdict = _shared_triage().assess(text)
    if verdict.level not in SAFETY_INTENTS:
        return None
    try:
        reply = alarm_reply(verdict, verdict.language, load())
    except PatientTextsMissing:
        reply = ""
    return verdict.level, verdict.flag_id, verdict.category, reply

SAFETY_INTENTS = {"emergency": "report_emergency", "crisis": "report_crisis",
                  "urgent": "report_urgent", "repeat": "report_emergency",
                  "after_crisis": "report_crisis"}


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class GateVerdictTagger(GraphComponent, IntentClassifier, EntityExtractorMixin):
    """Sets the safety intent and the reply text from the gate's verdict."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """The component's default config (see parent class for full docstring)."""
        return {"vocabulary_path": DEFAULT_VOCABULARY_PATH}

    def __init__(self, config: Dict[Text, Any]) -> None:
        """Stores the config; the vocabulary is read on first use."""
        self._config = {**self.get_default_config(), **config}
        self._category_intents: Optional[Dict[Text, Text]] = None

    def _intent_for(self, level: Text, category: Optional[Text]) -> Text:
        """The safety intent, or the topic intent an urgent category also is."""
        if self._category_intents is None:
            try:
                vocabulary = load_vocabulary(self._config["vocabulary_path"])
                self._category_intents = dict(vocabulary.triage_category_intents)
            except VocabularyError as error:
                logger.warning("gate_verdict.no_vocabulary error=%s", type(error).__name__)
                self._category_intents = {}
        if level == "urgent" and category in self._category_intents:
            return self._category_intents[category]
        return SAFETY_INTENTS[level]

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        """Creates the component (see parent class for full docstring)."""
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        """Applies the gate's verdict, or triages a message that did not pass the gate."""
        for message in messages:
            verdict = (message.get(METADATA) or {}).get("triage")
            if isinstance(verdict, dict):
                level = verdict.get("level")
                if level in SAFETY_INTENTS:
                    self._apply(message, self._intent_for(level, verdict.get("category")),
                                level, verdict.get("flag"), str(verdict.get("text") or ""),
                                follow_up=verdict.get("follow_up"))
                continue
            found = _triage_without_gate(message.get(TEXT) or "")
            if found is not None:
                level, flag, category, reply = found
                self._apply(message, self._intent_for(level, category), level, flag, reply)
        return messages

    def _apply(self, message: Message, intent: Text, level: Text, flag: Optional[Text],
               text: Text, follow_up: Optional[Text] = None) -> None:
        top = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or []
                   if r.get(INTENT_NAME_KEY) != intent]
        message.set(INTENT, top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [top, *ranking], add_to_output=True)
        size = len(message.get(TEXT) or "")
        entities = [e for e in message.get(ENTITIES, [])
                    if e.get(ENTITY_ATTRIBUTE_TYPE) not in ("red_flag", "triage_text", "alarm",
                                                            "alarm_at")]
        # the gate says "crisis" for an emergency that also carried a self-harm signal
        alarm = follow_up if follow_up in SAFETY_INTENTS else SAFETY_INTENTS[level].removeprefix(
            "report_")
        added = [{ENTITY_ATTRIBUTE_TYPE: "triage_text", ENTITY_ATTRIBUTE_VALUE: text,
                  ENTITY_ATTRIBUTE_START: 0, ENTITY_ATTRIBUTE_END: size},
                 # remembered in slots (last_alarm, last_alarm_at): action_respond answers the
                 # next unclear messages in the light of this alarm (actions/.../after_alarm.py)
                 {ENTITY_ATTRIBUTE_TYPE: "alarm", ENTITY_ATTRIBUTE_VALUE: alarm,
                  ENTITY_ATTRIBUTE_START: 0, ENTITY_ATTRIBUTE_END: size},
                 {ENTITY_ATTRIBUTE_TYPE: "alarm_at", ENTITY_ATTRIBUTE_VALUE: _now_iso(),
                  ENTITY_ATTRIBUTE_START: 0, ENTITY_ATTRIBUTE_END: size}]
        if flag:
            added.append({ENTITY_ATTRIBUTE_TYPE: "red_flag", ENTITY_ATTRIBUTE_VALUE: flag,
                          ENTITY_ATTRIBUTE_START: 0, ENTITY_ATTRIBUTE_END: size})
        message.set(ENTITIES, entities + self.add_extractor_name(added), add_to_output=True)
