"""Process-wide settings Rasa 3.6 has no configuration option for, installed at start-up.

Why here: Rasa 3.6 runs no project code at start-up except the classes it loads from
endpoints.yml and credentials.yml. `bot.tracker_store.StrictSQLTrackerStore` (every profile's
tracker store) and `bot.rest_safe.SafeRestInput` call `install()`; it is idempotent.

1. Action time budget. Rasa calls the action server with a hard-coded 300 s timeout
   (rasa.core.constants.DEFAULT_REQUEST_TIMEOUT, rasa#9789), far beyond the 60 s ticket lock
   (TICKET_LOCK_LIFETIME): a hung action server would hold the conversation's lock until the
   patient's next message is dropped. The budget comes from ACTION_TIMEOUT_S (default 5 s;
   the action server's own KB budget is KB_QUERY_TIMEOUT_S = 3 s). After it, the action
   counts as failed and the safety gate (3.) sends the "please call" reply.
2. Log redaction (privacy.log_redaction) on every handler of the root and Sanic loggers unless
   LOG_LEVEL is DEBUG, because Rasa's colored-logs set-up can replace the handlers that the
   logging config file configured.
3. The safety gate (bot/safety/gate.py) over `Agent.handle_message`, the one entry point of
   every input channel: emergencies are answered before the dialogue, and no turn ends silent.
4. Patient text is plain text: Rasa's RegexMessageHandler would read a message starting with
   "/" as an intent with entities ("/inform{...}"), letting anyone set slots. Quick replies send
   plain KB texts instead, so the handler is turned off for every message.
5. Flat turn cost (bot/sessions.py): sessions bounded by SESSION_MAX_EVENTS with the slots
   carried over compactly, and only the current turn's events sent to the action server.
6. Data at rest: umask 077 before Rasa creates anything under DATA_DIR (SQLite tracker, SMS
   state, secrets), older files tightened to 0600/0700 (common/private_files.py), and in the
   production profile one warning line when DATA_DIR is not on a volume known to be encrypted
   (common/volume_encryption.py).
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any, List, Optional

if TYPE_CHECKING:
    from bot.safety.gate import SafetyGate

DEFAULT_ACTION_TIMEOUT_S = 5.0
MIN_ACTION_TIMEOUT_S = 0.5
logger = logging.getLogger(__name__)
_installed = False


def action_timeout_s() -> float:
    """ACTION_TIMEOUT_S as a number of seconds, bounded below the ticket lock lifetime."""
    raw = os.environ.get("ACTION_TIMEOUT_S", "")
    try:
        value = float(raw) if raw.strip() else DEFAULT_ACTION_TIMEOUT_S
    except ValueError:
        logger.warning("ACTION_TIMEOUT_S is not a number; using %.0f s", DEFAULT_ACTION_TIMEOUT_S)
        value = DEFAULT_ACTION_TIMEOUT_S
    lock_lifetime = float(os.environ.get("TICKET_LOCK_LIFETIME", "0") or 0) or 60.0
    # A turn may call several actions; each must finish well inside the lock's lifetime.
    return max(MIN_ACTION_TIMEOUT_S, min(value, lock_lifetime / 4))


def apply_action_timeout() -> float:
    """Replace Rasa's 300 s action-server timeout by the budget; returns the budget."""
    import rasa.core.actions.action as rasa_action
    import rasa.utils.endpoints as rasa_endpoints

    budget = action_timeout_s()
    rasa_action.DEFAULT_REQUEST_TIMEOUT = budget
    rasa_endpoints.DEFAULT_REQUEST_TIMEOUT = budget
    return budget


def turn_budget_s(action_budget: float) -> float:
    """The whole turn's budget: TURN_BUDGET_S, else the action budget plus two seconds."""
    raw = os.environ.get("TURN_BUDGET_S", "")
    try:
        return float(raw) if raw.strip() else action_budget + 2.0
    except ValueError:
        return action_budget + 2.0


_gate: Optional[SafetyGate] = None


def current_gate() -> Optional[SafetyGate]:
    """The installed safety gate (channels call its triage directly, e.g. after SMS STOP)."""
    return _gate


def install_gate(action_budget: float) -> None:
    """Put the safety gate in front of every Rasa turn."""
    from rasa.core.agent import Agent

    from bot.safety.alerts import AlertStore
    from bot.safety.gate import ConversationLanguages, GateSettings, SafetyGate
    from bot.safety.triage import Triage

    global _gate
    # Fitted before the server takes its first message (a few seconds): a crisis message
    # sent right after a restart must meet the classifier too, not the patterns alone (those
    # miss about a fifth of the held-out emergencies). If the fit fails, the patterns answer.
    triage = Triage(wait_for_classifier=False)
    started = time.monotonic()
    try:
        triage.warm_up(background=False)
    except Exception:  # noqa: BLE001 - the gate must start; the patterns answer without it
        logger.exception("safety gate warm-up failed; patterns only until a fit succeeds")
    logger.info("safety gate ready in %.1f s", time.monotonic() - started)
    gate = SafetyGate(triage, ConversationLanguages(), alerts=AlertStore(),
                      settings=GateSettings(turn_budget_s=turn_budget_s(action_budget)))
    _gate = gate
    original = Agent.handle_message

    async def gated_handle_message(self: Agent, message: Any) -> Any:
        return await gate.handle(self, message, original)

    Agent.handle_message = gated_handle_message


def plain_text_only() -> None:
    """Never read "/intent{...}" from a message: quick replies send plain text."""
    import functools

    from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler

    original = RegexMessageHandler.process
    # Rasa's graph validation reads the signature and annotations (`wraps` keeps the
    # original's): an annotated `self` of its own became a required graph input.
    @functools.wraps(original)
    def process(self: Any, messages: List[Any], domain: Any = None) -> List[Any]:
        return messages

    RegexMessageHandler.process = process


def protect_data_at_rest() -> None:
    """umask 077, DATA_DIR tightened, and the encryption warning in production."""
    from bot.channels.local_secrets import data_dir
    from common.private_files import private_umask, tighten
    from common.volume_encryption import check, warning_line

    private_umask()
    folder = data_dir()
    tighten(folder)
    if os.environ.get("PROFILE", "local") == "production":
        line = warning_line(folder, check(folder))
        if line:
            logger.warning(line)


def install() -> None:
    """Apply every guard once per process."""
    global _installed
    if _installed:
        return
    _installed = True
    protect_data_at_rest()
    budget = apply_action_timeout()
    from bot import sessions
    from privacy.log_redaction import install_redaction

    install_redaction()
    plain_text_only()
    sessions.install()
    install_gate(budget)
    logger.info("runtime guards installed: action budget %.1f s", budget)
