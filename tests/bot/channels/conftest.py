"""Fixtures for the channel tests; the machinery is in channel_harness.py."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, List, Optional

import pytest
from channel_harness import CLINIC, FakeAgent, RunningApp, serve
from rasa.core.channels.channel import InputChannel

from bot.channels.clinic_profile import ClinicProfile
from common.patient_texts import PatientTexts
from common.patient_texts import load as load_patient_texts
from tests.kb_export import write_export


@pytest.fixture(autouse=True)
def _shared_rate_limits_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Channels built without explicit limits share the process's (bot/rate_limit.py); here
    those are off, so one test's sessions do not count against the next test's
    (tests/bot/channels/test_rate_limits.py passes its own limits)."""
    from bot import rate_limit

    off = {kind: rate_limit.Limit(0, 60.0) for kind in rate_limit.DEFAULTS}
    monkeypatch.setattr(rate_limit, "_shared",
                        rate_limit.RateLimits(rate_limit.MemoryCounter(), off))


@pytest.fixture(autouse=True)
def _no_safety_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """No installed safety gate unless a test sets its own (test_sms_after_stop.py,
    test_rate_limits.py): the channels ask `runtime_guards.current_gate()` for the triage, and
    a gate left by an earlier test of the process would triage here too."""
    from bot import runtime_guards

    monkeypatch.setattr(runtime_guards, "_gate", None)


@pytest.fixture
def fake_agent() -> FakeAgent:
    return FakeAgent()


@pytest.fixture
def clinic() -> ClinicProfile:
    return CLINIC


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A $DATA_DIR holding the shipped KB's export for the US example clinic (`make kb`)."""
    directory = tmp_path_factory.mktemp("data")
    write_export(directory)
    return directory


@pytest.fixture
def patient_texts(export_dir: Path) -> PatientTexts:
    """The clinic's approved texts as the Rasa side reads them."""
    return load_patient_texts(export_dir / "generated" / "patient_texts.json")


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
