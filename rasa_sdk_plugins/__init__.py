"""rasa_sdk plugin entry point (rasa_sdk 3.6 imports a top-level `rasa_sdk_plugins` module).

Why a top-level package: rasa_sdk looks it up by this exact name. The hooks live in
actions/security.py; the action server is started from the repository root, which is on
sys.path (`python -m rasa_sdk`).
"""

from __future__ import annotations

from typing import Any


def init_hooks(manager: Any) -> None:
    """Called by rasa_sdk.plugin with its pluggy PluginManager."""
    from actions import security

    security.register(manager)
