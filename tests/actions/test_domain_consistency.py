"""Actions, forms and responses named in Python and YAML agree (no `rasa` import needed)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.utils import all_subclasses

REPO = Path(__file__).resolve().parents[2]


def _registered_actions() -> set[str]:
    """Names of the concrete actions the SDK registers from the `actions` package."""
    ActionExecutor().register_package("actions")  # imports every module, as the server does
    return {
        cls().name() for cls in all_subclasses(Action)
        if cls.__module__.startswith("actions.") and not inspect.isabstract(cls)
    }


def _responses() -> set[str]:
    names = set(yaml.safe_load((REPO / "domain.yml").read_text())["responses"])
    for path in (REPO / "data" / "nlu" / "responses").glob("*.yml"):
        names |= set(yaml.safe_load(path.read_text())["responses"])
    return names


def test_every_action_is_in_the_domain(domain: dict[str, Any]) -> None:
    listed = set(domain["actions"])
    registered = _registered_actions()
    assert registered - listed == set(), "implemented but not in domain.yml"
    assert listed - registered == set(), "in domain.yml but not implemented"


def test_no_abstract_base_registered() -> None:
    for cls in all_subclasses(Action):
        if cls.__module__.startswith("actions.") and inspect.isabstract(cls):
            assert cls.__name__ not in _registered_actions()


def test_every_response_used_in_python_exists() -> None:
    known = _responses()
    used = set()
    for path in (REPO / "actions").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value.startswith("utter_"):
                used.add(node.value)
    assert used - known == set()


def test_forms_have_questions(domain: dict[str, Any]) -> None:
    responses = _responses()
    actions = set(domain["actions"])
    for form in domain["forms"].values():
        for slot in form["required_slots"]:
            assert f"utter_ask_{slot}" in responses or f"action_ask_{slot}" in actions, slot
