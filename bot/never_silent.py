"""The safety net that keeps a patient from ever getting silence back.

Why: Rasa 3.6 swallows custom-action failures (the processor logs the error and carries on),
ignores messages when the model failed to load, and drops a turn whose lock expired. In each
case the channel receives no bot message at all, and a patient who asked "do I stop my blood
thinner?" sees nothing. Every channel calls `never_silent` after a turn: when the patient wrote
something and nothing came back, the reply is the clinic's "I can't look that up right now -
please call ..." text (the KB-generated `utter_service_unavailable` response of the loaded
domain, so it carries the clinic's own phone and emergency number).

Pure functions of plain data (no Rasa import), so every channel and its tests can use them.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Mapping, Optional

UNAVAILABLE_RESPONSE = "utter_service_unavailable"
# Only used when the loaded domain has no utter_service_unavailable text (a broken model or
# domain): the clinic's number is then unknown, so the text names the emergency services.
LAST_RESORT_TEXT = (
    "I can't look that up right now. Please call the clinic. "
    "If this is an emergency, call your local emergency number now."
)
# Keys of a CollectingOutputChannel message that make it visible to the patient.
_VISIBLE_KEYS = ("text", "buttons", "image", "attachment", "custom", "elements", "quick_replies")


def unavailable_text(responses: Optional[Mapping[str, Any]]) -> str:
    """The first text variant of `utter_service_unavailable` in domain responses."""
    variants = (responses or {}).get(UNAVAILABLE_RESPONSE) or []
    for variant in variants:
        if isinstance(variant, Mapping):
            text = variant.get("text")
            if isinstance(text, str) and text.strip():
                return text.strip()
    return LAST_RESORT_TEXT


def responses_of(agent: Any) -> Mapping[str, Any]:
    """The response templates of a loaded Rasa agent ({} when no model is loaded)."""
    domain = getattr(agent, "domain", None)
    responses = getattr(domain, "responses", None)
    return responses if isinstance(responses, Mapping) else {}


def is_visible(message: Mapping[str, Any]) -> bool:
    """True when a collected bot message shows the patient something."""
    for key in _VISIBLE_KEYS:
        value = message.get(key)
        if isinstance(value, str):
            if value.strip():
                return True
        elif value:
            return True
    return False


def never_silent(
    user_text: Optional[str],
    bot_messages: Iterable[Mapping[str, Any]],
    responses: Optional[Mapping[str, Any]],
) -> Optional[str]:
    """The unavailable text when a non-empty user message got no visible reply; else None."""
    if not isinstance(user_text, str) or not user_text.strip():
        return None
    if any(is_visible(message) for message in bot_messages):
        return None
    return unavailable_text(responses)


def with_safety_net(
    user_text: Optional[str],
    bot_messages: List[Mapping[str, Any]],
    responses: Optional[Mapping[str, Any]],
    recipient_id: str,
) -> List[Mapping[str, Any]]:
    """The messages to send: the turn's own, or the unavailable reply if there were none."""
    text = never_silent(user_text, bot_messages, responses)
    if text is None:
        return list(bot_messages)
    return [*bot_messages, {"recipient_id": recipient_id, "text": text}]
