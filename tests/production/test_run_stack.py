"""scripts/run_stack.sh: a model that fails to load stops the start, and the production profile
refuses unsafe settings before starting anything."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from prod_harness import MODEL, REPO, free_port

GOOD_TOKEN = "t" * 40


def run_stack(env_overrides: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "RASA_", "PROFILE", "LOCK_STORE", "ACTION_SERVER"))}
    env.update({"RASA_TELEMETRY_ENABLED": "false", **env_overrides})
    return subprocess.run(["bash", "scripts/run_stack.sh"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False,
                          start_new_session=True)


@pytest.mark.slow
def test_truncated_model_makes_the_start_fail(tmp_path: Path) -> None:
    """A model that cannot load: readiness fails and run_stack.sh exits non-zero by itself."""
    if not MODEL.exists():
        pytest.fail(f"No trained model at {MODEL}. Run `make kb train` first.")
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(MODEL.read_bytes()[: MODEL.stat().st_size // 3])
    kb = os.environ.get("KB_DATABASE_URL") or f"sqlite:///{REPO / '.data' / 'kb.sqlite3'}"
    result = run_stack({
        "RASA_MODEL": str(broken), "RASA_PORT": str(free_port()),
        "ACTIONS_PORT": str(free_port()), "DATA_DIR": str(tmp_path / "data"),
        "KB_DATABASE_URL": kb, "READINESS_TIMEOUT": "40",
        "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'tracker.sqlite3'}",
    }, timeout=240)  # a hang guard, not a measurement
    assert result.returncode != 0
    assert "Rasa is not answering messages" in result.stderr
    assert "The assistant is running" not in result.stdout
    # readiness.py gave up on its own: Rasa exited, or its READINESS_TIMEOUT (40 s) passed
    assert ("exited before it was ready" in result.stderr
            or "did not answer a test message within 40 s" in result.stderr), result.stderr[-2000:]


@pytest.mark.parametrize(("overrides", "message"), [
    ({}, "TRACKER_STORE_URL"),
    ({"TRACKER_STORE_URL": "postgresql://u@127.0.0.1:1/t"}, "KB_DATABASE_URL"),
    ({"TRACKER_STORE_URL": "postgresql://u@127.0.0.1:1/t",
      "KB_DATABASE_URL": "postgresql://u@127.0.0.1:1/k"}, "ACTION_SERVER_TOKEN"),
    ({"TRACKER_STORE_URL": "postgresql://u@127.0.0.1:1/t",
      "KB_DATABASE_URL": "postgresql://u@127.0.0.1:1/k", "ACTION_SERVER_TOKEN": "short"},
     "ACTION_SERVER_TOKEN"),
    ({"TRACKER_STORE_URL": "postgresql://u@127.0.0.1:1/t",
      "KB_DATABASE_URL": "postgresql://u@127.0.0.1:1/k", "ACTION_SERVER_TOKEN": GOOD_TOKEN,
      "LOG_LEVEL": "DEBUG"}, "INFO or WARNING"),
    ({"TRACKER_STORE_URL": "postgresql://u@127.0.0.1:1/t",
      "KB_DATABASE_URL": "postgresql://u@127.0.0.1:1/k", "ACTION_SERVER_TOKEN": GOOD_TOKEN,
      "RASA_CORS_ORIGINS": "*"}, "may not contain"),
    ({"TRACKER_STORE_URL": "postgresql://u@127.0.0.1:1/t",
      "KB_DATABASE_URL": "postgresql://u@127.0.0.1:1/k", "ACTION_SERVER_TOKEN": GOOD_TOKEN,
      "RASA_ENABLE_API": "true"}, "RASA_API_AUTH_TOKEN or RASA_JWT_SECRET"),
    ({"TRACKER_STORE_URL": "postgresql://u@127.0.0.1:1/t",
      "KB_DATABASE_URL": "postgresql://u@127.0.0.1:1/k", "ACTION_SERVER_TOKEN": GOOD_TOKEN,
      "RASA_ENABLE_API": "true", "RASA_JWT_SECRET": "short"}, "at least 32"),
])
def test_production_profile_refuses_unsafe_settings(tmp_path: Path, overrides: dict[str, str],
                                                    message: str) -> None:
    result = run_stack({"PROFILE": "production", "DATA_DIR": str(tmp_path),
                        "TRACKER_STORE_URL": "", "KB_DATABASE_URL": "", **overrides}, timeout=30)
    assert result.returncode == 1
    assert message in result.stderr
    assert "rasa_sdk" not in result.stderr  # nothing was started


def test_extra_rasa_processes_need_the_redis_lock_store(tmp_path: Path) -> None:
    result = run_stack({"DATA_DIR": str(tmp_path), "EXTRA_RASA_PORTS": "5999"}, timeout=30)
    assert result.returncode == 1 and "Redis lock store" in result.stderr
