"""What the latest patient message said, and what the conversation already knows.

Why plain dataclasses: the engine that decides the reply is a pure function of these two
values and the KB snapshot, so it runs in a worker thread and in unit tests without a tracker.
Slots are the only memory: `State.changes()` turns an updated state back into SlotSet events.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping, Optional

TOPIC_ENTITY = "topic"  # several questions in one message: one entity per topic, in order


@dataclass(frozen=True)
class Entity:
    """One entity found in the message (value normalised by the extractor)."""

    name: str
    value: str
    start: int = 0
    end: int = 0
    # a `topic` entity's probability for the whole message (bot/nlu/topic_classifier.py): the
    # message intent is the first topic at its part's confidence, so the ranking lacks it
    support: Optional[float] = None


def _support(value: Any) -> Optional[float]:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


@dataclass(frozen=True)
class Turn:
    """The latest user message: text, language, classifier output and entities."""

    text: str
    language: str
    intent: str
    confidence: float = 1.0
    ranking: tuple[tuple[str, float], ...] = ()
    entities: tuple[Entity, ...] = ()
    channel: str = ""
    previous_language: str = ""  # the conversation's language before this message

    def values(self, name: str) -> list[str]:
        """Values of one entity type, in message order, without repeats."""
        found = sorted((e for e in self.entities if e.name == name), key=lambda e: e.start)
        return list(dict.fromkeys(e.value for e in found))

    def mentions(self, name: str) -> list[Entity]:
        """Entities of one type, in message order."""
        return sorted((e for e in self.entities if e.name == name), key=lambda e: e.start)

    @classmethod
    def from_parse_data(cls, latest: Mapping[str, Any], language: str, channel: str = "") -> Turn:
        """From Rasa's `latest_message` (parse data) as rasa_sdk hands it to actions."""
        intent = latest.get("intent") or {}
        ranking = tuple(
            (str(item.get("name")), float(item.get("confidence") or 0.0))
            for item in latest.get("intent_ranking") or []
            if item.get("name")
        )
        entities = tuple(
            Entity(str(e.get("entity")), str(e.get("value")), int(e.get("start") or 0),
                   int(e.get("end") or 0), _support(e.get("support")))
            for e in latest.get("entities") or []
            if e.get("entity") and isinstance(e.get("value"), str | int | float)
        )
        return cls(
            text=str(latest.get("text") or ""),
            language=language,
            intent=str(intent.get("name") or ""),
            confidence=float(intent.get("confidence") or 0.0),
            ranking=ranking,
            entities=entities,
            channel=channel,
        )


@dataclass(frozen=True)
class Pending:
    """A question the assistant asked and is waiting for an answer to."""

    ask: str  # site | medication | appointment | appointment_time | has_driver | kidney |
    #           dose_times | confirm_date
    topic: Optional[str] = None  # the topic to answer once the question is answered
    key: Optional[str] = None  # the answer key to give then
    attempts: int = 0  # answers that could not be used so far
    medications: tuple[str, ...] = ()  # drugs the question is about
    # set aside for one other question ("wait, what time do you open?" while the site is
    # asked): the next message that answers it still gets the answer it was asked for
    paused: bool = False

    def as_slot(self) -> dict[str, Any]:
        """JSON for the `pending` slot."""
        return {"ask": self.ask, "topic": self.topic, "key": self.key,
                "attempts": self.attempts, "medications": list(self.medications),
                "paused": self.paused}

    @classmethod
    def from_slot(cls, value: Any) -> Optional[Pending]:
        """Read the slot back; anything malformed counts as no question."""
        if not isinstance(value, Mapping) or not isinstance(value.get("ask"), str):
            return None
        meds = value.get("medications") or []
        return cls(
            ask=value["ask"],
            topic=value.get("topic") if isinstance(value.get("topic"), str) else None,
            key=value.get("key") if isinstance(value.get("key"), str) else None,
            attempts=int(value.get("attempts") or 0),
            medications=tuple(str(m) for m in meds if isinstance(m, str)),
            paused=value.get("paused") is True,
        )


def _text_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(dict.fromkeys(str(v) for v in value if isinstance(v, str) and v))


def _dose_times(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): _text_list(v) for k, v in value.items() if isinstance(k, str)}


def _bool(value: Any) -> Optional[bool]:
    return value if isinstance(value, bool) else None


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class State:
    """The conversation's memory, one field per slot (domain.yml `slots:`)."""

    procedure_site: Optional[str] = None
    procedure_start: Optional[str] = None  # ISO 8601 with the clinic's offset
    appointment_candidate: Optional[str] = None  # a reading waiting for "yes"
    medications_taken: tuple[str, ...] = ()  # generic names of catalogue drugs
    medications_unknown: tuple[str, ...] = ()  # names the catalogue does not know (as typed)
    medications_answered: Optional[bool] = None  # the patient said which (or "none")
    has_driver: Optional[bool] = None
    sedation_planned: Optional[bool] = None
    renal_impaired: Optional[bool] = None
    dose_times: dict[str, tuple[str, ...]] = field(default_factory=dict)  # drug -> "HH:MM"s
    last_topic: Optional[str] = None
    last_key: Optional[str] = None
    last_medications: tuple[str, ...] = ()
    last_site: Optional[str] = None  # the site the last answer was given for
    pending: Optional[Pending] = None
    misses: int = 0  # messages in a row the assistant could not place
    handoff_requested: Optional[bool] = None
    plan_requested: Optional[bool] = None  # asked for the plan; still waiting for a fact
    sedation_declined: Optional[bool] = None  # no sedation wished or said (the clinic decides)
    timed_key: Optional[str] = None  # the last answer given with a clock-time version

    @classmethod
    def from_slots(cls, slots: Mapping[str, Any]) -> State:
        """Read every known slot, ignoring values of the wrong type (never trust a slot)."""
        site = slots.get("procedure_site")
        return cls(
            procedure_site=site if site in ("lumbar", "cervical") else None,
            procedure_start=_text(slots.get("procedure_start")),
            appointment_candidate=_text(slots.get("appointment_candidate")),
            medications_taken=_text_list(slots.get("medications_taken")),
            medications_unknown=_text_list(slots.get("medications_unknown")),
            medications_answered=_bool(slots.get("medications_answered")),
            has_driver=_bool(slots.get("has_driver")),
            sedation_planned=_bool(slots.get("sedation_planned")),
            renal_impaired=_bool(slots.get("renal_impaired")),
            dose_times=_dose_times(slots.get("dose_times")),
            last_topic=_text(slots.get("last_topic")),
            last_key=_text(slots.get("last_key")),
            last_medications=_text_list(slots.get("last_medications")),
            last_site=_text(slots.get("last_site")),
            pending=Pending.from_slot(slots.get("pending")),
            misses=int(slots.get("misses") or 0)
            if isinstance(slots.get("misses"), int | float) else 0,
            handoff_requested=_bool(slots.get("handoff_requested")),
            plan_requested=_bool(slots.get("plan_requested")),
            sedation_declined=_bool(slots.get("sedation_declined")),
            timed_key=_text(slots.get("timed_key")),
        )

    def as_slots(self) -> dict[str, Any]:
        """Every field as a slot value (lists and dicts in JSON form)."""
        values: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Pending):
                value = value.as_slot()
            elif isinstance(value, dict):
                value = {k: list(v) for k, v in value.items()}
            values[item.name] = value
        return values

    def changes(self, before: State) -> dict[str, Any]:
        """Slots whose value differs from `before` (what the action must set)."""
        old, new = before.as_slots(), self.as_slots()
        return {name: value for name, value in new.items() if old.get(name) != value}

    def update(self, **values: Any) -> State:
        """A copy with some fields replaced."""
        return replace(self, **values)
