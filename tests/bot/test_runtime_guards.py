"""Runtime guards that patch Rasa classes must leave Rasa's own machinery working.

`plain_text_only()` replaced RegexMessageHandler.process with a function whose `self` was
annotated: Rasa's graph validation reads the annotations, took `self` for a required input of
the graph node, and every training in that process failed ("needs the param 'self'"). A
`rasa run` with the HTTP API trains in the same process; so did the test run after a test
loaded credentials.yml (SafeRestInput.from_credentials installs the guards).
"""

from __future__ import annotations

import pytest
from rasa.engine.validation import _get_parameter_information, _required_args
from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
from rasa.shared.nlu.training_data.message import Message

from bot import runtime_guards


@pytest.fixture
def restored_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard patches the class for the whole process: put the original back afterwards."""
    monkeypatch.setattr(RegexMessageHandler, "process", RegexMessageHandler.process)


@pytest.mark.usefixtures("restored_handler")
def test_plain_text_only_keeps_the_graph_signature_of_process() -> None:
    before = _get_parameter_information(RegexMessageHandler, "process")
    runtime_guards.plain_text_only()
    after = _get_parameter_information(RegexMessageHandler, "process")
    assert after == before
    assert _required_args(after[0]) == {"messages"}  # not `self`


@pytest.mark.usefixtures("restored_handler")
def test_plain_text_only_reads_no_intent_from_a_slash_message() -> None:
    runtime_guards.plain_text_only()
    message = Message(data={"text": '/inform{"drug": "warfarin"}'})
    [processed] = RegexMessageHandler().process([message])
    assert processed.get("intent") is None and processed.get("entities") is None


def test_the_gate_has_its_classifier_before_the_first_message(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A crisis message sent right after a restart must meet the classifier, not the patterns
    alone: the gate is fitted before install_gate returns (the server starts after it)."""
    from rasa.core.agent import Agent

    monkeypatch.setattr(Agent, "handle_message", Agent.handle_message)  # restored afterwards
    monkeypatch.setattr(runtime_guards, "_gate", None)
    runtime_guards.install_gate(5.0)
    gate = runtime_guards.current_gate()
    assert gate is not None
    verdict = gate.triage.assess("si esto tampoco funciona no sé para qué seguir viviendo", "es")
    assert verdict.level == "crisis"
    assert gate.triage._classifier() is not None  # noqa: SLF001 - the point of the test
