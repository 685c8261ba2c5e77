"""Keep the cost of a turn flat however long the conversation: bounded sessions, compact
carry-over, and only the current turn's events sent to the action server.

Why: a turn's cost grew with the conversation (median 176 ms fresh, 429 ms at 100 turns,
1,263 ms at 600; one long session slowed every other patient, the event loop being shared).
Everything Rasa does per turn is proportional to the session's events: the SQL tracker store
loads and replays them, RulePolicy featurises the whole history on every prediction, and every
action call serialises all of them to the action server (rasa#6334), which parses them again.
Sessions ended only after 60 idle minutes, so a patient typing steadily had one ever-growing
session. Rasa 3.6 offers no option for any of this; `install()` (from bot/runtime_guards.py):

1. Bounded sessions: a session with more than SESSION_MAX_EVENTS events (default 200, about
   25 turns) counts as expired at the next message, so Rasa starts a new one through its own
   `action_session_start` (SessionStarted, the slots carried over, action_listen). Rasa loads
   only the latest session, so a turn never costs more than one full session. The conversation
   engine keeps all its memory in slots (actions/conversation/turn.py), so nothing the patient
   said is lost; a paused conversation is never rolled over (a new session would unpause it).
2. Compact carry-over: Rasa's session start copies *every* SlotSet of the old session into
   the new one, so each rollover would carry the whole history forward again. Only the last
   value of each slot is carried (the same slots, the same values).
3. The action server gets the tracker's state (slots, latest message, channel) and only the
   events of the current turn (from the latest user message on), not the whole session:
   actions/respond.py and actions/handoff.py read slots, the latest message and the latest
   input channel only. endpoints.yml also turns on `enable_selective_domain`, so the domain is
   no longer sent with every call.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Text

logger = logging.getLogger(__name__)

MAX_EVENTS_ENV = "SESSION_MAX_EVENTS"
DEFAULT_MAX_EVENTS = 200
MIN_MAX_EVENTS = 40
FALLBACK_TAIL_EVENTS = 20  # events sent when a tracker has no user message yet
_installed = False


def max_session_events() -> int:
    """SESSION_MAX_EVENTS (at least MIN_MAX_EVENTS), default 200."""
    raw = os.environ.get(MAX_EVENTS_ENV, "").strip()
    try:
        value = int(raw) if raw else DEFAULT_MAX_EVENTS
    except ValueError:
        logger.warning("%s is not a number; using %d", MAX_EVENTS_ENV, DEFAULT_MAX_EVENTS)
        value = DEFAULT_MAX_EVENTS
    return max(MIN_MAX_EVENTS, value)


def session_event_count(tracker: Any) -> int:
    """Events since the latest SessionStarted (all events when there is none)."""
    from rasa.shared.core.events import SessionStarted

    count = 0
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            break
        count += 1
    return count


def session_is_full(tracker: Any, limit: int) -> bool:
    """Whether the current session should end at this message."""
    return not tracker.is_paused() and session_event_count(tracker) > limit


def compact_slot_events(tracker: Any) -> List[Any]:
    """One SlotSet per slot, with its latest value and metadata, in order of last setting."""
    from rasa.shared.core.events import SlotSet

    latest: Dict[Text, Any] = {}
    for event in tracker.applied_events():
        if isinstance(event, SlotSet):
            latest.pop(event.key, None)  # re-insert: keeps the order of the last setting
            latest[event.key] = event
    return [SlotSet(key=e.key, value=e.value, metadata=e.metadata) for e in latest.values()]


def current_turn_events(tracker: Any) -> List[Dict[Text, Any]]:
    """The events from the latest user message on, as dicts (what an action reads)."""
    from rasa.shared.core.events import UserUttered

    tail: List[Any] = []
    for event in reversed(tracker.events):
        tail.append(event)
        if isinstance(event, UserUttered):
            break
    else:
        tail = tail[:FALLBACK_TAIL_EVENTS]
    return [event.as_dict() for event in reversed(tail)]


def install() -> None:
    """Patch Rasa's processor, session start and remote action once per process."""
    global _installed
    if _installed:
        return
    _installed = True
    import rasa
    from rasa.core.actions.action import ActionSessionStart, RemoteAction
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.trackers import EventVerbosity

    limit = max_session_events()
    expired = MessageProcessor._has_session_expired

    def has_session_expired(self: MessageProcessor, tracker: Any) -> bool:
        if expired(self, tracker):
            return True
        if session_is_full(tracker, limit):
            logger.info("session.rollover events_over=%d", limit)
            return True
        return False

    def slot_set_events_from_tracker(tracker: Any) -> List[Any]:
        return compact_slot_events(tracker)

    def action_call_format(self: RemoteAction, tracker: Any, domain: Any) -> Dict[Text, Any]:
        state = tracker.current_state(EventVerbosity.NONE)
        state["events"] = current_turn_events(tracker)
        result: Dict[Text, Any] = {
            "next_action": self._name,
            "sender_id": tracker.sender_id,
            "tracker": state,
            "version": rasa.__version__,
        }
        if not self._is_selective_domain_enabled() or \
                domain.does_custom_action_explicitly_need_domain(self.name()):
            result["domain"] = domain.as_dict()
        return result

    MessageProcessor._has_session_expired = has_session_expired
    ActionSessionStart._slot_set_events_from_tracker = staticmethod(slot_set_events_from_tracker)
    RemoteAction._action_call_format = action_call_format
