"""Fixtures for the channel tests; the machinery is in channel_harness.py."""

from __future__ import annotations

from typing import Callable, Iterator, List, Optional

import pytest
from channel_harness import CLINIC, FakeAgent, RunningApp, serve
from rasa.core.channels.channel import InputChannel

from bot.channels.clinic_profile import ClinicProfile


@pytest.fixture
def fake_agent() -> FakeAgent:
    return FakeAgent()


@pytest.fixture
def clinic() -> ClinicProfile:
    return CLINIC


@pytest.fixture
def make_server() -> Iterator[Callable[[InputChannel, Optional[FakeAgent]], RunningApp]]:
    """Start servers on demand; all are stopped at the end of the test."""
    generators: List[Iterator[RunningApp]] = []

    def start(channel: InputChannel, agent: Optional[FakeAgent] = None) -> RunningApp:
        generator = serve(channel, agent or FakeAgent())
        generators.append(generator)
        return next(generator)

    yield start
    for generator in generators:
        generator.close()
