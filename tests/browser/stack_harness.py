"""Types and helpers shared by the stack fixtures and the tests (conftest is not importable)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Dict


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Stack:
    """The running assistant and where its state and log are."""

    base_url: str
    data_dir: Path
    log_path: Path
    tracker_db: Path
    embed_origin: str
    env: Dict[str, str]

    @property
    def chat_url(self) -> str:
        return f"{self.base_url}/webhooks/webchat/"

    @property
    def sms_url(self) -> str:
        return f"{self.base_url}/webhooks/twilio/webhook"

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")
