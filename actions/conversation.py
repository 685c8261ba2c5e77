"""Load `conversation.yml`: intent-to-topic map, sub-topic cues and quick-reply labels."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

CONVERSATION_FILE = Path(__file__).with_name("conversation.yml")


def _mentions_any(text: str, cues: list[str]) -> bool:
    """Whole-word/phrase match of any cue, case-insensitive, curly apostrophes normalised."""
    lowered = text.lower().replace("’", "'")
    return any(re.search(rf"(?<!\w){re.escape(cue)}(?!\w)", lowered) for cue in cues)


@dataclass(frozen=True)
class ConversationMap:
    """How intents and words map onto knowledge-base answer keys."""

    intent_topics: dict[str, str]
    intent_actions: dict[str, str]
    topic_extras: dict[str, list[str]]
    subtopic_cues: dict[str, list[str]]
    class_subtopics: dict[str, str]
    topic_labels: dict[str, str]
    default_topics: list[str]
    none_taken_cues: list[str]
    blood_thinner_classes: frozenset[str]

    def action_for(self, intent: str) -> str:
        """The custom action that answers a topic intent."""
        return self.intent_actions.get(intent, "action_answer_topic")

    def means_none_taken(self, text: str) -> bool:
        """True when a reply says the patient takes no such medicine ("none", "nothing")."""
        return _mentions_any(text, self.none_taken_cues)

    def subtopic_for(self, topic: str, text: str) -> str | None:
        """The first cue-matched answer key of this topic found in the user's text."""
        for key, cues in self.subtopic_cues.items():
            if key.startswith(f"{topic}.") and _mentions_any(text, cues):
                return key
        return None


@lru_cache(maxsize=1)
def conversation_map(path: Path = CONVERSATION_FILE) -> ConversationMap:
    """Parsed once per process; the file ships with the code."""
    raw = yaml.safe_load(path.read_text("utf-8"))
    return ConversationMap(
        intent_topics=dict(raw["intent_topics"]),
        intent_actions=dict(raw.get("intent_actions", {})),
        topic_extras={k: list(v) for k, v in raw.get("topic_extras", {}).items()},
        subtopic_cues={k: list(v) for k, v in raw["subtopic_cues"].items()},
        class_subtopics=dict(raw.get("class_subtopics", {})),
        topic_labels=dict(raw["topic_labels"]),
        default_topics=list(raw["default_topics"]),
        none_taken_cues=list(raw.get("none_taken_cues", [])),
        blood_thinner_classes=frozenset(raw.get("blood_thinner_classes", [])),
    )
