"""Low-confidence messages: offer the closest topics, and after a second miss the clinic."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.conversation import conversation_map

FALLBACK_INTENT = "nlu_fallback"
MAX_SUGGESTIONS = 3


def consecutive_fallbacks(tracker: Tracker) -> int:
    """How many of the latest user messages in a row fell back."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != FALLBACK_INTENT:
            break
        count += 1
    return count


def suggested_intents(tracker: Tracker) -> List[str]:
    """The closest topic intents by classifier rank, else the clinic's default topics."""
    mapping = conversation_map()
    ranking = (tracker.latest_message or {}).get("intent_ranking") or []
    ranked = [i.get("name") for i in ranking if i.get("name") in mapping.topic_labels]
    return (ranked or mapping.default_topics)[:MAX_SUGGESTIONS]


class ActionHandleFallback(Action):
    """First miss: "did you mean…" quick replies. Second miss in a row: the clinic's contact."""

    def name(self) -> Text:
        """Action name."""
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        """No database needed: labels ship with the code, the contact text is a response."""
        if consecutive_fallbacks(tracker) >= 2:
            dispatcher.utter_message(response="utter_fallback_contact")
            return []
        labels = conversation_map().topic_labels
        buttons = [{"title": labels[i], "payload": f"/{i}"} for i in suggested_intents(tracker)]
        dispatcher.utter_message(response="utter_rephrase", buttons=buttons)
        return []
