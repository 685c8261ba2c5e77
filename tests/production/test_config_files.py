"""The YAML the servers start from: no secrets, no REST channel in production, safe logging."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator, Tuple

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"^\$\{[A-Z][A-Z0-9_]*\}$")
SECRET_WORDS = ("token", "password", "secret", "auth", "sid", "key", "url", "number")
CONFIG_FILES = ["endpoints.yml", "credentials.yml", "credentials.production.yml",
                "bot/channels/credentials.twilio.yml"]
# Values that are configuration, not secrets or deployment data.
LITERALS = {"bot.tracker_store.StrictSQLTrackerStore"}


def leaves(node: Any, path: Tuple[str, ...] = ()) -> Iterator[Tuple[Tuple[str, ...], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaves(value, (*path, str(index)))
    else:
        yield path, node


@pytest.mark.parametrize("name", CONFIG_FILES)
def test_every_value_is_an_environment_placeholder(name: str) -> None:
    """R13: secrets and deployment values only as ${VAR} (Rasa expands them at start-up)."""
    content = yaml.safe_load((REPO / name).read_text()) or {}
    for path, value in leaves(content):
        if isinstance(value, int | float) or value in LITERALS or value is None:
            assert not any(w in path[-1].lower() for w in ("token", "password", "secret"))
            continue
        assert isinstance(value, str) and PLACEHOLDER.match(value), (name, path, value)


@pytest.mark.parametrize("name", CONFIG_FILES)
def test_secret_looking_keys_are_placeholders(name: str) -> None:
    content = yaml.safe_load((REPO / name).read_text()) or {}
    for path, value in leaves(content):
        if any(word in path[-1].lower() for word in SECRET_WORDS):
            assert isinstance(value, str) and PLACEHOLDER.match(value), (name, path)


def test_production_credentials_have_no_rest_channel() -> None:
    channels = yaml.safe_load((REPO / "credentials.production.yml").read_text())
    assert not {"rest", "bot.rest_safe.SafeRestInput", "socketio", "twilio"} & set(channels)
    assert "bot.channels.webchat.WebChatInput" in channels


def test_endpoints_send_the_action_token_and_use_the_strict_stores() -> None:
    endpoints = yaml.safe_load((REPO / "endpoints.yml").read_text())
    assert endpoints["action_endpoint"]["headers"] == {
        "X-Action-Server-Token": "${ACTION_SERVER_TOKEN}"}
    assert endpoints["tracker_store"]["type"] == "bot.tracker_store.StrictSQLTrackerStore"
    assert endpoints["lock_store"]["type"] == "${LOCK_STORE_TYPE}"


def test_production_logging_redacts_every_handler() -> None:
    config = yaml.safe_load((REPO / "scripts" / "logging.production.yml").read_text())
    assert config["filters"]["redact"]["()"] == "privacy.log_redaction.RedactingFilter"
    assert all("redact" in handler.get("filters", []) for handler in config["handlers"].values())
    assert config["root"]["level"] in {"INFO", "WARNING"}


def test_session_expiry_is_short_and_keeps_slots() -> None:
    session = yaml.safe_load((REPO / "domain.yml").read_text())["session_config"]
    assert 0 < session["session_expiration_time"] <= 240
    assert session["carry_over_slots_to_new_session"] is True
