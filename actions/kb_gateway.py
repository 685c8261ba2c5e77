"""Run knowledge-base work off the event loop, within a time budget.

Why: rasa_sdk runs every action on one asyncio loop; a blocking query would stall every other
patient, and a hung database must turn into the "please call the clinic" reply well before
Rasa's lock on the conversation expires.
"""

from __future__ import annotations

import asyncio
from typing import Callable, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions.kb.db import KbSettings, KnowledgeBaseUnavailable, session_factory

T = TypeVar("T")


async def query_kb(work: Callable[[Session], T]) -> T:
    """Run `work(session)` in a worker thread with its own session; raise KnowledgeBaseUnavailable
    on database errors or when it takes longer than KB_QUERY_TIMEOUT_S."""
    settings = KbSettings.from_env()
    factory = session_factory(settings.database_url)

    def _unit_of_work() -> T:
        with factory() as session:
            return work(session)

    try:
        return await asyncio.wait_for(
            asyncio.to_thread(_unit_of_work), timeout=settings.query_timeout_s
        )
    except asyncio.TimeoutError as exc:
        raise KnowledgeBaseUnavailable("knowledge base query timed out") from exc
    except SQLAlchemyError as exc:
        raise KnowledgeBaseUnavailable(f"knowledge base error: {type(exc).__name__}") from exc
