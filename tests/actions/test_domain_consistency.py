"""Actions, forms and responses named in Python and YAML agree (no `rasa` import needed)."""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


# Run in a fresh interpreter: rasa_sdk registers every Action subclass imported in the
# process, and this test process has also imported the test modules' own actions.
_REGISTRY_PROBE = """
import inspect, json
from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.utils import all_subclasses
def qualified(cls):
    return f"{cls.__module__}.{cls.__qualname__}"
executor = ActionExecutor()
executor.register_package("actions")
print(json.dumps({
    "registered": {name: qualified(type(run.__self__)) for name, run in executor.actions.items()},
    "names": {name: type(run.__self__)().name() for name, run in executor.actions.items()},
    "classes": {qualified(cls): {
                    "abstract": inspect.isabstract(cls),
                    "subclassed": any(sub.__module__.startswith("actions.")
                                      for sub in cls.__subclasses__())}
                for cls in all_subclasses(Action) if cls.__module__.startswith("actions.")},
}))
"""


@functools.lru_cache(maxsize=1)
def _server_view() -> dict[str, Any]:
    """What `python -m rasa_sdk --actions actions` registers: action name -> class, and every
    Action class of the package (abstract or not, subclassed or not)."""
    result = subprocess.run([sys.executable, "-c", _REGISTRY_PROBE], cwd=REPO,
                            capture_output=True, text=True, timeout=120, check=True)
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _responses() -> set[str]:
    names = set(yaml.safe_load((REPO / "domain.yml").read_text())["responses"])
    for path in (REPO / "data" / "nlu" / "responses").glob("*.yml"):
        names |= set(yaml.safe_load(path.read_text())["responses"])
    return names


def test_every_action_is_in_the_domain(domain: dict[str, Any]) -> None:
    listed = set(domain["actions"])
    registered = set(_server_view()["registered"])
    assert registered - listed == set(), "implemented but not in domain.yml"
    assert listed - registered == set(), "in domain.yml but not implemented"


def test_the_server_registers_every_concrete_action_and_no_base_class() -> None:
    """A shared base class must be abstract, or rasa_sdk registers it as an action too
    (engineering notes 1.2): the registry holds exactly the concrete classes."""
    view = _server_view()
    classes = view["classes"]
    concrete = {name for name, facts in classes.items() if not facts["abstract"]}
    assert set(view["registered"].values()) == concrete
    bases = [name for name, facts in classes.items() if facts["subclassed"]]
    assert bases, "no shared base class found: the check below would be empty"
    for base in bases:
        assert classes[base]["abstract"], f"{base} is subclassed but not abstract"
        assert base not in view["registered"].values()
    assert view["names"] == {name: name for name in view["registered"]}


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
