"""Shared settings of scripts/erase.py and scripts/purge.py (databases from the environment).

Why a helper: both commands must find the same three databases the running assistant uses:
TRACKER_STORE_URL (Rasa's events), KB_DATABASE_URL (call-back requests, audit table) and the
SMS channel's state (SMS_STATE_DATABASE_URL, default $DATA_DIR/sms_state.sqlite3 if present).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from common.private_files import private_umask  # noqa: E402

private_umask()  # an audit table or SQLite journal these jobs create is the owner's only


def data_dir() -> Path:
    """$DATA_DIR (as the Makefile and run_stack.sh use it) or .data."""
    return Path(os.environ.get("DATA_DIR") or REPO / ".data").resolve()


def tracker_url() -> str:
    """TRACKER_STORE_URL, else the local profile's SQLite tracker."""
    return os.environ.get("TRACKER_STORE_URL") or f"sqlite:///{data_dir() / 'tracker.sqlite3'}"


def kb_url() -> str:
    """KB_DATABASE_URL, else the local profile's SQLite KB."""
    return os.environ.get("KB_DATABASE_URL") or f"sqlite:///{data_dir() / 'kb.sqlite3'}"


def sms_state_url() -> Optional[str]:
    """SMS_STATE_DATABASE_URL, else the local SQLite file when the SMS channel created it."""
    configured = os.environ.get("SMS_STATE_DATABASE_URL")
    if configured:
        return configured
    local = data_dir() / "sms_state.sqlite3"
    return f"sqlite:///{local}" if local.exists() else None


def sms_id_secret() -> bytes:
    """The SMS channel's id key: SMS_ID_SECRET or $DATA_DIR/sms_id_secret."""
    configured = os.environ.get("SMS_ID_SECRET", "").strip()
    if configured:
        return configured.encode("utf-8")
    path = data_dir() / "sms_id_secret"
    if not path.exists():
        raise SystemExit("SMS_ID_SECRET is not set and there is no $DATA_DIR/sms_id_secret")
    return path.read_text(encoding="ascii").strip().encode("ascii")
