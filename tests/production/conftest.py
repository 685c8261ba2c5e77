"""Fixtures of the production-mode tests: PostgreSQL and Redis on loopback, the clinic's texts.

Run with the Rasa environment: `.venv/bot/bin/python -m pytest tests/production`
(scripts/run_tests.sh does, after training). Tests marked `slow` start servers.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

REPO = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    """Registers the markers used here (also listed in pyproject.toml)."""
    config.addinivalue_line("markers", "slow: starts servers")
    config.addinivalue_line("markers", "postgres: needs PostgreSQL from scripts/test_services.sh")


@pytest.fixture(scope="session")
def pg_url() -> str:
    """Admin URL of the test PostgreSQL (TEST_POSTGRES_URL or scripts/test_services.sh)."""
    from prod_harness import service_url

    return service_url("postgres", "TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the test Redis (TEST_REDIS_URL or scripts/test_services.sh)."""
    from prod_harness import service_url

    return service_url("redis", "TEST_REDIS_URL")


@pytest.fixture(scope="session")
def unavailable_text() -> str:
    """The clinic's "please call" text (generated from the KB into the domain)."""
    responses = yaml.safe_load((REPO / "data/nlu/responses/kb_safety.yml").read_text())
    return str(responses["responses"]["utter_service_unavailable"][0]["text"])
