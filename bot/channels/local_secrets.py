"""Channel secrets (SMS id key, web session key): from the environment, or generated locally.

Why: conversation ids and web session tokens are keyed with these secrets, so they must stay the
same across restarts (otherwise every patient silently starts a new conversation and SMS opt-outs
no longer match). Production sets them in the environment; a local run without them gets a random
secret written once to $DATA_DIR/<name> with 0600 permissions and reused afterwards.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from bot.channels.clinic_profile import REPO_ROOT

logger = logging.getLogger(__name__)

MIN_SECRET_BYTES = 32


def data_dir() -> Path:
    """$DATA_DIR (relative to the working directory, as the Makefile uses it) or <repo>/.data."""
    configured = os.environ.get("DATA_DIR")
    return Path(configured).resolve() if configured else REPO_ROOT / ".data"


def _read_secret_file(path: Path) -> bytes:
    value = path.read_text(encoding="ascii").strip()
    if len(value) < MIN_SECRET_BYTES:
        raise RuntimeError(f"{path} holds a secret shorter than {MIN_SECRET_BYTES} characters")
    return value.encode("ascii")


def load_or_create_secret(env_var: str, file_name: str) -> bytes:
    """The secret in `env_var`, else the one in $DATA_DIR/file_name, created on first use."""
    configured = os.environ.get(env_var, "").strip()
    if configured:
        if len(configured) < MIN_SECRET_BYTES:
            raise RuntimeError(f"{env_var} must be at least {MIN_SECRET_BYTES} characters long")
        return configured.encode("utf-8")
    path = data_dir() / file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Write a private temporary file, then hard-link it into place: the link fails if
        # another process got there first, so every process ends up with the same secret.
        temporary = path.with_name(f".{file_name}.{secrets.token_hex(8)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        else:
            logger.warning(
                "%s is not set: generated a local secret in %s (set it in production)",
                env_var, path,
            )
        finally:
            temporary.unlink(missing_ok=True)
    return _read_secret_file(path)
