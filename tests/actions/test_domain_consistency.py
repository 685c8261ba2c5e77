"""What Python, domain.yml, the dialogue data and the KB name agree (no `rasa` import needed):
actions, responses, slots, intents, text keys, and the files generated from the KB."""

from __future__ import annotations

import ast
import functools
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from actions.conversation.turn import State
from actions.kb.export import generated_files, stale_files
from actions.kb.loader import KbContent, text_requirements

REPO = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: rasa_sdk registers every Action subclass imported in the
# process, and this test process may have imported other modules' actions.
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
# Where patient-facing text keys are named in code (actions/kb/literals.py scans the same
# places for sentences).
PATIENT_CODE = ("actions/conversation", "actions/respond.py", "actions/handoff.py",
                "actions/unavailable.py", "bot", "common")
TEXT_KEY = re.compile(r"^[a-z_]+(\.[a-z0-9_]+)+$")


@functools.lru_cache(maxsize=1)
def _server_view() -> dict[str, Any]:
    """What `python -m rasa_sdk --actions actions` registers: action name -> class, and every
    Action class of the package (abstract or not, subclassed or not)."""
    result = subprocess.run([sys.executable, "-c", _REGISTRY_PROBE], cwd=REPO,
                            capture_output=True, text=True, timeout=120, check=True)
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text("utf-8"))


# ------------------------------------------------------------------------------ actions
def test_every_action_in_the_domain_is_served_and_vice_versa(domain: dict[str, Any]) -> None:
    listed = set(domain["actions"])
    registered = set(_server_view()["registered"])
    assert registered - listed == set(), "implemented but not in domain.yml"
    assert listed - registered == set(), "in domain.yml but not implemented"
    assert {"action_respond", "action_request_human"} <= registered


def test_the_server_registers_exactly_the_concrete_actions() -> None:
    """A shared base class must be abstract, or rasa_sdk registers it as an action too
    (engineering notes 1.2): the registry holds exactly the concrete classes, each under the
    name it reports."""
    view = _server_view()
    classes = view["classes"]
    concrete = {name for name, facts in classes.items() if not facts["abstract"]}
    assert set(view["registered"].values()) == concrete
    for name, facts in classes.items():
        if facts["subclassed"]:
            assert facts["abstract"], f"{name} is subclassed but not abstract"
    assert view["names"] == {name: name for name in view["registered"]}


def _dialogue_steps() -> Iterator[tuple[str, dict[str, Any]]]:
    for folder in ("data/rules", "data/stories", "tests/stories"):
        for path in sorted((REPO / folder).glob("*.yml")):
            document = _yaml(path) or {}
            for block in (*document.get("rules", []), *document.get("stories", [])):
                for step in block.get("steps", []):
                    yield str(path.relative_to(REPO)), step


def test_rules_and_stories_name_only_domain_actions_and_intents(domain: dict[str, Any]) -> None:
    known_actions = set(domain["actions"]) | set(domain["responses"]) | {"action_listen"}
    intents = set(domain["intents"]) | {"nlu_fallback"}
    seen = 0
    for path, step in _dialogue_steps():
        if "action" in step:
            assert step["action"] in known_actions, (path, step)
            seen += 1
        if "intent" in step:
            assert step["intent"] in intents, (path, step)
    assert seen >= 20


def test_every_response_named_in_python_exists(domain: dict[str, Any]) -> None:
    used = set()
    for path in [*(REPO / "actions").rglob("*.py"), *(REPO / "bot").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and re.fullmatch(r"utter_[a-z_]+", node.value):
                used.add(node.value)
    assert used, "no response named in Python: the check below would be empty"
    assert used - set(domain["responses"]) == set()


# ------------------------------------------------------------------------------ slots
def test_every_engine_slot_is_in_the_domain(domain: dict[str, Any]) -> None:
    """The engine reads and sets one slot per State field (and reads `language`); Rasa drops a
    SlotSet for a slot the domain does not declare, and the memory would silently be lost."""
    slots = set(domain["slots"])
    assert {f.name for f in fields(State)} <= slots
    assert set(State().as_slots()) <= slots
    assert {"language", "handoff_requested"} <= slots


# ------------------------------------------------------------------------------ text keys
def _code_files() -> Iterator[Path]:
    for name in PATIENT_CODE:
        path = REPO / name
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
        else:
            yield path


def _named_keys(prefixes: set[str], files: list[Path] | None = None,
                root: Path = REPO) -> Iterator[tuple[str, int, str, bool]]:
    """(file, line, key or key prefix, is_prefix) for every text key named in the code."""
    for path in files if files is not None else list(_code_files()):
        relative = str(path.relative_to(root))
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                value = node.value
                if value.split(".")[0] not in prefixes:
                    continue
                if TEXT_KEY.match(value):
                    yield relative, node.lineno, value, False
                elif TEXT_KEY.match(value.rstrip(".")) or re.fullmatch(r"[a-z_]+\.", value):
                    yield relative, node.lineno, value, True  # "triage.flag." + flag
            elif isinstance(node, ast.JoinedStr) and node.values and isinstance(
                    node.values[0], ast.Constant) and isinstance(node.values[0].value, str):
                head = node.values[0].value
                if "." in head and head.split(".")[0] in prefixes:
                    yield relative, node.lineno, head, True  # f"label.{topic}"
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "_text" and relative.endswith("twilio_secure.py") \
                    and node.args and isinstance(node.args[0], ast.Constant):
                yield relative, node.lineno, f"sms.{node.args[0].value}", False


def test_every_text_key_named_in_code_exists_in_the_kb(kb_content: KbContent) -> None:
    """Keys the code asks the KB (or its export) for are keys the validator requires, so
    every one has an approved English text; prefixes (f"label.{topic}") match some key."""
    required = set(text_requirements(kb_content))
    prefixes = {key.split(".")[0] for key in required}
    found = list(_named_keys(prefixes))
    keys = [item for item in found if not item[3]]
    assert len(keys) >= 50, "the scan found too few keys: is it still reading the code?"
    missing = [f"{f}:{line}: {key}" for f, line, key, is_prefix in found
               if (key not in required if not is_prefix
                   else not any(k.startswith(key) for k in required))]
    assert missing == []
    approved_en = {t.entry.key for t in kb_content.approved_texts(
        kb_content.registry.languages[0])}
    assert {k for _, _, k, p in keys if not p} <= approved_en


def test_the_scan_would_notice_an_unknown_key(tmp_path: Path, kb_content: KbContent) -> None:
    module = tmp_path / "made_up.py"
    module.write_text('KEY = "assistant.made_up_key"\nLABEL = f"label.{1}"\n', "utf-8")
    found = set(_named_keys({"assistant", "label"}, [module], tmp_path))
    assert found == {("made_up.py", 1, "assistant.made_up_key", False),
                     ("made_up.py", 2, "label.", True)}
    assert "assistant.made_up_key" not in text_requirements(kb_content)


# ------------------------------------------------------------------------------ generated files
def test_the_domain_intents_are_the_registrys(domain: dict[str, Any],
                                              kb_content: KbContent) -> None:
    assert domain["intents"] == kb_content.registry.all_intents


def test_generated_files_are_up_to_date(kb_content: KbContent) -> None:
    """domain.yml, data/rules/generated_topics.yml and bot/generated/kb_vocabulary.json are
    what `make generate` makes from the KB now."""
    assert stale_files(kb_content, REPO) == []


def test_a_stale_generated_file_is_detected(tmp_path: Path, kb_content: KbContent) -> None:
    for generated in generated_files(kb_content, REPO):
        target = tmp_path / generated.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / generated.path, target)
    (tmp_path / "bot").mkdir(exist_ok=True)
    shutil.copy(REPO / "bot" / "domain_base.yml", tmp_path / "bot" / "domain_base.yml")
    assert stale_files(kb_content, tmp_path) == []
    rules = tmp_path / "data" / "rules" / "generated_topics.yml"
    rules.write_text(rules.read_text("utf-8").replace("ask_driver", "ask_taxi"), "utf-8")
    assert stale_files(kb_content, tmp_path) == [Path("data/rules/generated_topics.yml")]


def test_the_generate_check_command_passes() -> None:
    """What `make kb-up-to-date` runs (with the default clinic profile)."""
    result = subprocess.run([sys.executable, "-m", "actions.kb.cli", "generate", "data/kb",
                             "--check"], cwd=REPO, capture_output=True, text=True, check=False,
                            timeout=120)
    assert result.returncode == 0, result.stderr


def test_every_topic_intent_goes_to_its_action(kb_content: KbContent) -> None:
    rules = _yaml(REPO / "data" / "rules" / "generated_topics.yml")["rules"]
    routed = {r["steps"][0]["intent"]: r["steps"][1]["action"] for r in rules}
    for intent in kb_content.registry.topic_intents:
        expected = "action_request_human" if intent == "request_human" else "action_respond"
        assert routed[intent] == expected, intent
    for intent in kb_content.registry.intents.safety:
        assert routed[intent] == "utter_triage", intent
        kept = [r for r in rules if r["steps"][0]["intent"] == intent][0]["steps"][2:]
        assert kept == [{"action": "action_keep_facts"}], intent
