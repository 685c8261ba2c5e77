"""The safety gate in front of Rasa's turn, for every channel (web chat, SMS, REST, shell).

Why in front of the dialogue: an emergency must be answered even when the dialogue machinery
cannot answer — the conversation paused for a person, a question half asked, the action server
slow, hung or down, the tracker or KB database down. So every inbound message goes through
`SafetyGate.handle` (installed over `Agent.handle_message`, the one entry point every Rasa input
channel calls; bot/runtime_guards.py) before the conversation lock, the tracker or any action:

1. The message is triaged (bot/safety/triage.py: the KB's patterns and the trained model).
2. Emergency, crisis or urgent: the gate sends its reply at once — its first sentence is the
   direct instruction from the KB ("Call 911 now ...") — writes an alert (never the message
   text) and logs one line; then Rasa's turn runs in the background, only so the transcript
   records the message and the same reply (utter_triage), and its output is discarded, so no
   preparation answer is ever sent with or before the emergency reply.
3. A patient who plays the symptom down right after an emergency reply ("can I just wait and
   see?") is told again, firmly.
4. Anything else: Rasa's turn runs within a time budget. No reply in time, an exception, a
   paused conversation or an empty turn get the clinic's "I can't look that up right now,
   please call" text (or, when a person from the clinic has the conversation, the KB's
   "paused" text) — never silence and never a 5xx.
Every text comes from the KB export (common/patient_texts.py), so it needs no database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any, Awaitable, Callable, Dict, List, Optional, Protocol, Sequence
from zoneinfo import ZoneInfo

from bot.safety.language import requested_language
from bot.safety.rules import SELF_HARM_CATEGORIES
from common.patient_texts import PatientTexts, PatientTextsMissing
from common.patient_texts import load as load_patient_texts

logger = logging.getLogger(__name__)

ALARM_LEVELS = ("emergency", "crisis", "urgent")
REPEAT_LEVEL = "repeat"
# After a crisis reply, a message that plays it down ("I won't do anything, I'm just tired of
# everything") or carries any self-harm signal gets the crisis line again, from the gate itself.
AFTER_CRISIS_LEVEL = "after_crisis"
WATCHFUL_CRISIS_PROBABILITY = 0.05  # dev sets: every crisis message >= 0.07; ordinary questions
# median 0.002, 2 % >= 0.05 (those then get the crisis line again, only after a crisis reply)
RECENT_EMERGENCY_S = 12 * 3600  # a minimising message within this time gets the firm repeat
_VISIBLE_KEYS = ("text", "buttons", "image", "attachment", "custom", "elements", "quick_replies")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

HandleMessage = Callable[[Any, Any], Awaitable[Any]]


class VerdictLike(Protocol):
    """What the gate reads from a triage verdict (bot/safety/triage.py `Verdict`)."""

    level: str  # emergency | crisis | urgent | routine (| repeat, set by the gate)
    flag_id: Optional[str]
    category: Optional[str]
    language: str


class Triage(Protocol):
    """What the gate needs from the triage engine (bot/safety/triage.py)."""

    def assess(self, text: str, language: Optional[str] = None) -> Any:
        """The verdict for one message; `language` is the hint (conversation language)."""

    def is_minimising(self, text: str) -> bool:
        """Whether the message plays a symptom down ("wait and see", "no quiero molestar")."""


class ConversationLanguages:
    """The language to answer in: an explicit request ("English please", "en español";
    "I don't speak Spanish" asks for English),
    else the message's own language (detected by the triage), else the conversation's so far,
    else the clinic's default. Remembered per conversation in this process."""

    def __init__(self, languages: Sequence[str] = ("en", "es"), limit: int = 20_000) -> None:
        self._languages = tuple(languages)
        self._memory: Dict[str, str] = {}
        self._limit = limit

    def requested(self, text: str) -> Optional[str]:
        """The language the patient asks for, if the message asks for one
        (bot/safety/language.py, the reader the NLU's LanguageTagger uses too)."""
        found = requested_language(text, self._languages)
        return found[0] if found is not None else None

    def hint(self, sender_id: str, default: str) -> str:
        """The conversation's language so far (else the clinic's default)."""
        return self._memory.get(sender_id, default)

    def remember(self, sender_id: str, language: str) -> None:
        """Keep the conversation's language (oldest conversations forgotten first)."""
        if sender_id not in self._memory and len(self._memory) >= self._limit:
            self._memory.pop(next(iter(self._memory)))
        self._memory[sender_id] = language


class AlertSink(Protocol):
    """Where alerts go (bot/safety/alerts.py)."""

    def record(self, level: str, category: Optional[str], flag_id: Optional[str],
               conversation_id: str, channel: str) -> object:
        """Write one alert; may raise when the database is down."""


def short_ref(conversation_id: str) -> str:
    """A log-friendly prefix of the (already pseudonymous) conversation id."""
    return conversation_id[:12]


def is_visible(message: Dict[str, Any]) -> bool:
    """True when a collected bot message shows the patient something."""
    for key in _VISIBLE_KEYS:
        value = message.get(key)
        if isinstance(value, str):
            if value.strip():
                return True
        elif value:
            return True
    return False


def _clinic_weekday(texts: PatientTexts, now: Optional[dt.datetime]) -> tuple[str, str]:
    """Today's weekday name and the time ("14:05") in the clinic's own time zone."""
    zone = ZoneInfo(str(texts.clinic.get("time_zone") or "UTC"))
    local = (now or dt.datetime.now(dt.timezone.utc)).astimezone(zone)
    return _WEEKDAYS[local.weekday()], local.strftime("%H:%M")


def clinic_open(texts: PatientTexts, now: Optional[dt.datetime] = None) -> bool:
    """Whether the clinic is open now, in its own time zone and opening hours."""
    day, time_now = _clinic_weekday(texts, now)
    hours = (texts.clinic.get("opening_hours") or {}).get(day, "closed")
    if not isinstance(hours, str) or hours == "closed" or "-" not in hours:
        return False
    start, end = hours.split("-", 1)
    return start <= time_now < end


def closes_at(texts: PatientTexts, language: str, now: Optional[dt.datetime] = None) -> str:
    """Today's closing time as the patient reads it ("5:00 pm"), for "call the clinic today,
    before ..." (the export wrote it per language in the clinic's clock; "" when unknown)."""
    day, _ = _clinic_weekday(texts, now)
    times = texts.clinic.get("closing_times") or {}
    for candidate in (language, texts.default_language, "en"):
        found = (times.get(candidate) or {}).get(day)
        if found:
            return str(found)
    return ""


@dataclass
class GateMemory:
    """Per-process memory of recent alarms, per conversation (for the firm repeat)."""

    alarms: Dict[str, tuple[str, float]] = field(default_factory=dict)
    limit: int = 10_000

    def note(self, sender_id: str, level: str) -> None:
        """Remember an emergency or crisis reply."""
        if len(self.alarms) >= self.limit:
            oldest = min(self.alarms, key=lambda key: self.alarms[key][1])
            self.alarms.pop(oldest, None)
        self.alarms[sender_id] = (level, time.monotonic())

    def recent_alarm(self, sender_id: str) -> Optional[str]:
        """The level of an emergency or crisis reply in the last hours, if any."""
        found = self.alarms.get(sender_id)
        if found is None or time.monotonic() - found[1] > RECENT_EMERGENCY_S:
            return None
        return found[0]


def crisis_too(verdict: VerdictLike) -> bool:
    """An emergency that also carries a suicide or self-harm signal ("some nights I just want
    to go to sleep and not wake up" reads as both collapse and suicidal thoughts): the reply
    gives the crisis line too, instead of the other flag's advice, which would speak past the
    patient, and what follows is read as after a crisis."""
    return (verdict.level == "emergency" and bool(getattr(verdict, "self_harm", False))
            and verdict.category not in SELF_HARM_CATEGORIES)


def is_tentative(verdict: VerdictLike) -> bool:
    """A crisis only the classifier sees, at a low probability (bot/safety/triage.py): the
    gate sends the crisis reply and then lets the turn be answered (when no alarm came
    before it in the conversation)."""
    return verdict.level == "crisis" and bool(getattr(verdict, "tentative", False))


def triage_metadata(verdict: VerdictLike, reply: str) -> Dict[str, Any]:
    """What the gate records with an alarm turn for the NLU (bot/nlu/gate_verdict.py)."""
    return {"level": verdict.level, "flag": verdict.flag_id, "category": verdict.category,
            "text": reply, "follow_up": "crisis" if crisis_too(verdict) else None}


def alarm_reply(verdict: VerdictLike, language: str, texts: PatientTexts) -> str:
    """The direct instruction first, then the flag's own advice (both from the KB)."""
    keys: List[str]
    both = crisis_too(verdict)
    if verdict.level == "emergency":
        keys = ["triage.emergency", "triage.crisis"] if both else ["triage.emergency"]
    elif verdict.level == "crisis":
        keys = ["triage.crisis"]
    elif verdict.level == REPEAT_LEVEL:
        keys = ["triage.repeat"]
    elif verdict.level == AFTER_CRISIS_LEVEL:
        keys = ["triage.after.crisis"]
    else:
        keys = []
    if verdict.flag_id and verdict.level in ALARM_LEVELS and not both:
        flag_key = "triage.flag." + verdict.flag_id.split(".", 1)[-1]
        try:
            texts.text(flag_key, language)
            keys.append(flag_key)
        except PatientTextsMissing:
            pass
    if verdict.level == "urgent":
        keys.append("triage.urgent" if clinic_open(texts) else "triage.urgent_out_of_hours")
    parts = []
    for key in keys:
        try:
            text = texts.text(key, language)
        except PatientTextsMissing:
            logger.error("safety.gate.missing_text key=%s", key)
            continue
        parts.append(text.fill(closes_at=closes_at(texts, text.language))
                     if "{closes_at}" in text.text else text.text)
    return " ".join(parts)


@dataclass
class GateSettings:
    """Time budgets (bot/settings.py reads them from the environment)."""

    turn_budget_s: float = 7.0  # the whole Rasa turn, above the action budget
    # reading a tentative crisis with the NLU (in this process, ~10 ms): over it, the full reply
    question_read_s: float = 0.5
    # a tentative crisis that the NLU reads as this topic's question at this confidence or more
    # gets the one-line crisis check before its answer (dev: 0.55 is the engine's CONFIDENT)
    clear_question_confidence: float = 0.55
    paused_check_s: float = 1.0  # reading the tracker to tell "paused" from "failed"
    alert_timeout_s: float = 2.0


class SafetyGate:
    """Triage first; Rasa's turn within a budget; never silence."""

    def __init__(self, triage: Triage, languages: ConversationLanguages,
                 alerts: Optional[AlertSink],
                 settings: Optional[GateSettings] = None,
                 texts: Callable[[], PatientTexts] = load_patient_texts) -> None:
        self.triage = triage
        self.languages = languages
        self.alerts = alerts
        self.settings = settings or GateSettings()
        self.texts = texts
        self.memory = GateMemory()
        self._background: set[asyncio.Future[Any]] = set()

    # ------------------------------------------------------------------ entry point
    async def handle(self, agent: Any, message: Any, original: HandleMessage) -> Any:
        """Replace Agent.handle_message: answer `message` through its output channel."""
        text = message.text or ""
        sender = str(message.sender_id)
        channel = str(message.input_channel or "")
        try:
            texts = self.texts()
        except PatientTextsMissing:
            logger.error("safety.gate.no_texts (run make kb)")
            return await original(agent, message)
        verdict, language = self.assess(sender, text, texts)
        verdict = self._in_light_of_an_alarm(sender, text, verdict)
        # The NLU's GateVerdictTagger reads "triage": a routine verdict is not triaged twice.
        metadata = {**(message.metadata or {}), "language": language,
                    "triage": {"level": verdict.level}}
        if self._is_tentative_crisis(sender, verdict):
            return await self._answer_after_crisis_reply(agent, message, original, verdict,
                                                         metadata, language, texts, channel)
        if verdict.level in ALARM_LEVELS or verdict.level in (REPEAT_LEVEL, AFTER_CRISIS_LEVEL):
            reply = self.alarm_reply(verdict, language, texts)
            await message.output_channel.send_text_message(sender, reply)
            self._after_alarm(agent, message, original, verdict, reply, metadata, channel)
            return None
        return await self._turn(agent, message, original, metadata, language, texts)

    def _is_tentative_crisis(self, sender: str, verdict: Any) -> bool:
        """A crisis only the classifier sees, at a low probability, and no alarm before it in
        this conversation (after one, every crisis signal gets the full crisis reply)."""
        return is_tentative(verdict) and self.memory.recent_alarm(sender) is None

    async def _answer_after_crisis_reply(self, agent: Any, message: Any,
                                         original: HandleMessage, verdict: Any,
                                         metadata: Dict[str, Any], language: str,
                                         texts: PatientTexts, channel: str) -> Any:
        """Why: "can't sleep for thinking about it" or "I live alone and nobody can drive me"
        read a little like a crisis to the classifier, and so do some real crises. Both get
        the crisis line first, sent at once as for any crisis, and the alert: the one-line
        crisis check when the NLU reads a clear preparation question, else the full crisis
        reply; then the answer to what the patient asked, which a real crisis loses nothing
        by and a worried patient needs (or, if the action server is down or slow or staff
        paused the conversation, the usual text for that). The conversation is not marked as after a
        crisis, so the next questions are answered as usual; a new crisis signal is triaged
        again."""
        sender = str(message.sender_id)
        if self.alerts is None:  # the alert store logs its own line
            logger.warning("safety.triage level=crisis tentative=1 conversation=%s channel=%s",
                           short_ref(sender), channel or "-")
        self._spawn(self._record_alert(verdict, sender, channel))
        if await self._reads_as_a_clear_question(agent, message, language):
            reply = texts.text("triage.crisis_check", language).text
        else:
            reply = self.alarm_reply(verdict, language, texts)
        await message.output_channel.send_text_message(sender, reply)
        routine = {**metadata, "triage": {"level": "routine", "answered_after": "crisis"}}
        return await self._turn(agent, message, original, routine, language, texts)

    async def _reads_as_a_clear_question(self, agent: Any, message: Any, language: str) -> bool:
        """Why: "I live alone and nobody can drive me, can I get an Uber?" is a driver question
        that the crisis classifier reads at 0.18. Such a message gets the one-line crisis check
        (the crisis line first, and the emergency number) and then its answer, instead of the
        whole crisis reply in front of it. The test is the NLU of this process (no action
        server, no tracker, no database): its top intent is a topic's question at
        `clear_question_confidence` or more, and not a feeling (a registry topic flagged
        `feeling`, such as fear: where real crises hide). Anything else,
        an error or no answer within `question_read_s`, keeps the full crisis reply."""
        vocabulary = getattr(self.triage, "vocabulary", None)
        topics = set(getattr(vocabulary, "question_intents", ()) or ())
        processor = getattr(agent, "processor", None)
        if not topics or processor is None:
            return False
        from rasa.core.channels.channel import UserMessage

        probe = UserMessage(text=message.text, sender_id=message.sender_id,
                            metadata={"language": language, "triage": {"level": "routine"}})
        try:
            parsed = await asyncio.wait_for(processor.parse_message(probe),
                                            self.settings.question_read_s)
        except Exception as error:  # noqa: BLE001 - unread counts as unclear: the full reply
            logger.warning("safety.gate.question_unread error=%s", type(error).__name__)
            return False
        intent = (parsed or {}).get("intent") or {}
        return (intent.get("name") in topics
                and float(intent.get("confidence") or 0.0)
                >= self.settings.clear_question_confidence)

    def assess(self, sender: str, text: str, texts: PatientTexts) -> tuple[Any, str]:
        """(verdict, language to answer in) for one message of a conversation; the language
        is remembered for the conversation. Channels that answer without a Rasa turn (SMS
        after STOP) use this too, so they triage exactly as the gate does."""
        hint = self.languages.hint(sender, texts.default_language)
        verdict = self.triage.assess(text, hint)
        language = self.languages.requested(text) or verdict.language or hint
        self.languages.remember(sender, language)
        return verdict, language

    # ------------------------------------------------------------------ alarms
    def _in_light_of_an_alarm(self, sender: str, text: str, verdict: Any) -> Any:
        """After an emergency reply, playing it down gets the firm repeat (unless the patterns
        found a new alarm: a classifier guess never replaces the repeat); after a crisis reply,
        playing it down or any self-harm signal gets the crisis line again."""
        recent = self.memory.recent_alarm(sender)
        if recent is None:
            return verdict
        found_by_patterns = any(str(r).startswith("pattern:")
                                for r in getattr(verdict, "reasons", ()))
        minimising = self.triage.is_minimising(text)
        if recent == "emergency" and minimising and (
                verdict.level not in ALARM_LEVELS or not found_by_patterns):
            return replace(verdict, level=REPEAT_LEVEL)
        if recent == "crisis" and verdict.level not in ALARM_LEVELS and (
                minimising or getattr(verdict, "crisis_probability", 0.0)
                >= WATCHFUL_CRISIS_PROBABILITY):
            return replace(verdict, level=AFTER_CRISIS_LEVEL)
        return verdict

    def alarm_reply(self, verdict: VerdictLike, language: str, texts: PatientTexts) -> str:
        """The reply to an alarm (module function `alarm_reply`)."""
        return alarm_reply(verdict, language, texts)

    def _after_alarm(self, agent: Any, message: Any, original: HandleMessage, verdict: Any,
                     reply: str, metadata: Dict[str, Any], channel: str) -> None:
        sender = str(message.sender_id)
        if verdict.level in ("emergency", "crisis", AFTER_CRISIS_LEVEL):
            self.memory.note(sender, "crisis" if verdict.level == AFTER_CRISIS_LEVEL
                             or crisis_too(verdict) else verdict.level)
        if self.alerts is None:  # the alert store logs its own line
            logger.warning("safety.triage level=%s category=%s conversation=%s channel=%s",
                           verdict.level, verdict.category or "-", short_ref(sender),
                           channel or "-")
        self._spawn(self._record_alert(verdict, sender, channel))
        recorded = _user_message(message, {**metadata, "triage": triage_metadata(verdict, reply)})
        self._spawn(self._record_turn(agent, recorded, original))

    async def _record_alert(self, verdict: Any, sender: str, channel: str) -> None:
        if self.alerts is None:
            return
        sink = self.alerts
        level = {REPEAT_LEVEL: "emergency", AFTER_CRISIS_LEVEL: "crisis"}.get(verdict.level,
                                                                             verdict.level)
        try:
            await asyncio.wait_for(asyncio.to_thread(
                sink.record, level=level, category=verdict.category, flag_id=verdict.flag_id,
                conversation_id=sender, channel=channel or "unknown"),
                self.settings.alert_timeout_s)
        except Exception as error:  # noqa: BLE001 - the reply is already sent; log the type
            logger.error("safety.alert.not_recorded level=%s error=%s", level,
                         type(error).__name__)

    async def _record_turn(self, agent: Any, message: Any, original: HandleMessage) -> None:
        """Rasa's turn for the transcript only; what it says is not sent."""
        try:
            await original(agent, message)
        except Exception as error:  # noqa: BLE001 - nothing to send; the reply went out
            logger.error("safety.gate.record_failed error=%s", type(error).__name__)

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------------ ordinary turns
    async def _turn(self, agent: Any, message: Any, original: HandleMessage,
                    metadata: Dict[str, Any], language: str, texts: PatientTexts) -> Any:
        from rasa.core.channels.channel import CollectingOutputChannel

        collector = CollectingOutputChannel()
        inner = _user_message(message, metadata, output_channel=collector)
        future = asyncio.ensure_future(original(agent, inner))
        try:
            await asyncio.wait_for(asyncio.shield(future), self.settings.turn_budget_s)
        except asyncio.TimeoutError:
            logger.warning("safety.gate.turn_slow budget_s=%.1f conversation=%s",
                           self.settings.turn_budget_s, short_ref(str(message.sender_id)))
            self._background.add(future)
            future.add_done_callback(self._late_done)
        except Exception as error:  # noqa: BLE001 - the patient still gets an answer
            logger.error("safety.gate.turn_failed error=%s", type(error).__name__)
        messages = [dict(m) for m in collector.messages if is_visible(m)] if future.done() \
            else []
        if not messages and (message.text or "").strip():
            key = "assistant.paused" if await self._paused(agent, message) \
                else "assistant.unavailable"
            messages = [{"text": texts.text(key, language).text}]
        sender = str(message.sender_id)
        for bot_message in messages:
            bot_message.pop("recipient_id", None)
            # The collector drops empty fields, but send_response needs "text" next to
            # buttons or quick replies (Rasa's own messages always carry it, maybe None).
            bot_message.setdefault("text", None)
            await message.output_channel.send_response(sender, bot_message)
        return messages

    def _late_done(self, future: asyncio.Future[Any]) -> None:
        self._background.discard(future)
        if not future.cancelled() and future.exception() is not None:
            logger.error("safety.gate.late_turn_failed error=%s",
                         type(future.exception()).__name__)

    async def _paused(self, agent: Any, message: Any) -> bool:
        """Whether a person from the clinic has paused this conversation."""
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return False
        try:
            tracker = await asyncio.wait_for(store.retrieve(message.sender_id),
                                             self.settings.paused_check_s)
        except Exception:  # noqa: BLE001 - unknown counts as not paused
            return False
        return bool(tracker is not None and tracker.is_paused())


def _user_message(message: Any, metadata: Dict[str, Any], output_channel: Any = None) -> Any:
    """A copy of the UserMessage with gate metadata (and optionally another output channel)."""
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    return UserMessage(
        text=message.text,
        output_channel=output_channel or CollectingOutputChannel(),
        sender_id=message.sender_id,
        parse_data=message.parse_data,
        input_channel=message.input_channel,
        message_id=message.message_id,
        metadata=metadata,
    )
