"""Start-up configuration: the ports given to make reach both servers, and production refuses
the example clinic profile before it starts anything."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from prod_harness import REPO

GOOD_TOKEN = "t" * 40


def make_variable(name: str, *assignments: str) -> str:
    """The value `make run` exports to scripts/run_stack.sh for one variable."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"ACTION_SERVER_URL", "RASA_PORT", "ACTIONS_PORT", "MAKEFLAGS"}}
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", f"--eval=_print_env: ; @echo \"$${name}\"",
         "_print_env", *assignments],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.strip()


def test_make_run_talks_to_the_action_server_on_actions_port() -> None:
    assert make_variable("ACTION_SERVER_URL", "RASA_PORT=5105", "ACTIONS_PORT=5155") == \
        "http://127.0.0.1:5155/webhook"
    assert make_variable("ACTION_SERVER_URL") == "http://127.0.0.1:5055/webhook"
    assert make_variable("ACTION_SERVER_URL", "ACTION_SERVER_URL=http://10.0.0.2:9/webhook") \
        == "http://10.0.0.2:9/webhook"


def test_production_refuses_the_example_clinic_profile(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "RASA_", "PROFILE", "LOCK_STORE", "ACTION_SERVER",
                                "KB_"))}
    env.update({
        "RASA_TELEMETRY_ENABLED": "false", "PROFILE": "production", "DATA_DIR": str(tmp_path),
        "TRACKER_STORE_URL": "postgresql://u@127.0.0.1:1/t",
        "KB_DATABASE_URL": "postgresql://u@127.0.0.1:1/k", "ACTION_SERVER_TOKEN": GOOD_TOKEN,
        "PUBLIC_BASE_URL": "https://assistant.clinic.example",
    })
    result = subprocess.run(["bash", "scripts/run_stack.sh"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120, check=False,
                            start_new_session=True)
    assert result.returncode == 1
    assert "is an example profile" in result.stderr
    assert "clinic's own profile" in result.stderr
    assert "rasa_sdk" not in result.stderr  # nothing was started


def test_production_needs_its_public_origin(tmp_path: Path) -> None:
    """The web chat trusts only configured origins (never Host): production names its own."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "RASA_", "PROFILE", "LOCK_STORE", "ACTION_SERVER",
                                "PUBLIC_BASE_URL"))}
    env.update({
        "RASA_TELEMETRY_ENABLED": "false", "PROFILE": "production", "DATA_DIR": str(tmp_path),
        "TRACKER_STORE_URL": "postgresql://u@127.0.0.1:1/t",
        "KB_DATABASE_URL": "postgresql://u@127.0.0.1:1/k", "ACTION_SERVER_TOKEN": GOOD_TOKEN,
    })
    result = subprocess.run(["bash", "scripts/run_stack.sh"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60, check=False,
                            start_new_session=True)
    assert result.returncode == 1 and "PUBLIC_BASE_URL" in result.stderr
