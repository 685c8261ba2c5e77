"""Run one Rasa turn within a time budget without cancelling it.

Why: a webhook must answer in time (Twilio waits 15 s at most; a browser user gives up sooner),
but cancelling a turn half-way can leave the tracker and lock inconsistent. The turn is shielded
and left to finish; its outcome is only logged (exception type, never message text).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable

logger = logging.getLogger(__name__)

_late_turns: set[asyncio.Future] = set()  # strong references until late turns finish


def _late_turn_done(turn: asyncio.Future) -> None:
    _late_turns.discard(turn)
    if not turn.cancelled() and turn.exception() is not None:
        logger.error("channel.turn.failed_late error=%s", type(turn.exception()).__name__)


async def finished_within(turn: Awaitable[Any], timeout_s: float) -> bool:
    """True when the turn finished in time; False when it is still running in the background.

    Exceptions raised by the turn within the budget propagate to the caller.
    """
    future = asyncio.ensure_future(turn)
    try:
        await asyncio.wait_for(asyncio.shield(future), timeout=timeout_s)
    except asyncio.TimeoutError:
        _late_turns.add(future)
        future.add_done_callback(_late_turn_done)
        return False
    return True
