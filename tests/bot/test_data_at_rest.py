"""Patient data at rest: files 0600 in 0700 folders whichever process writes them (the local
profile's SQLite files are the example), and the production warning when the data directory is
not on an encrypted volume it can detect."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from common.volume_encryption import check, mount_of, warning_line

REPO = Path(__file__).resolve().parents[2]
ACT_BIN = REPO / ".venv" / "actions" / "bin"
MOUNTS = """\
/dev/sda1 / ext4 rw,relatime 0 0
/dev/mapper/cryptdata /srv/assistant ext4 rw,relatime 0 0
/dev/sdb1 /srv/plain ext4 rw,relatime 0 0
tmpfs /run tmpfs rw 0 0
overlay /var/lib/docker/x overlay rw 0 0
/dev/sdc1 /mnt/with\\040space ext4 rw 0 0
"""


def modes(folder: Path) -> dict[str, int]:
    """Permission bits of every path under `folder` (itself included), by relative name."""
    found = {".": stat.S_IMODE(folder.stat().st_mode)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def assert_private(folder: Path) -> None:
    for name, mode in modes(folder).items():
        path = folder / name
        wanted = 0o700 if path.is_dir() else 0o600
        assert mode == wanted, f"{name}: {oct(mode)}"


def run(python: Path, code: str, env: dict[str, str]) -> None:
    result = subprocess.run([str(python), "-c", code], cwd=REPO, capture_output=True, text=True,
                            timeout=300, check=False,
                            env={**os.environ, "PYTHONPATH": str(REPO), **env})
    assert result.returncode == 0, result.stderr[-3000:]


# --------------------------------------------------------------------------- file modes
def test_rasa_process_creates_private_files_and_tightens_old_ones(tmp_path: Path) -> None:
    """What the Rasa process writes (SQLite tracker, SMS state, a generated secret) is 0600,
    and a file an older version left 0644 in a 0755 folder is tightened at start-up."""
    data = tmp_path / "data"
    (data / "old").mkdir(parents=True)
    (data / "old" / "tracker.sqlite3").write_text("x")
    os.chmod(data, 0o755)
    os.chmod(data / "old", 0o755)
    os.chmod(data / "old" / "tracker.sqlite3", 0o644)
    code = f"""
import os
os.umask(0o022)
from bot.tracker_store import StrictSQLTrackerStore
from rasa.shared.core.domain import Domain
StrictSQLTrackerStore(domain=Domain.empty(), host="sqlite:///{data}/tracker.sqlite3")
from bot.channels.sms_state import SmsStateStore
SmsStateStore("sqlite:///{data}/sms/sms_state.sqlite3").contact("sms:" + "0" * 64)
from bot.channels.local_secrets import load_or_create_secret
load_or_create_secret("UNSET_TEST_SECRET_ENV", "test_secret")
"""
    run(REPO / ".venv" / "bot" / "bin" / "python", code,
        {"DATA_DIR": str(data), "LOG_LEVEL": "INFO", "RASA_TELEMETRY_ENABLED": "false"})
    assert (data / "tracker.sqlite3").exists() and (data / "sms" / "sms_state.sqlite3").exists()
    assert_private(data)


def test_kb_build_writes_private_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code = "import os, sys; os.umask(0o022); from actions.kb.cli import main; " \
           "sys.exit(main(['build', 'data/kb']))"
    run(ACT_BIN / "python", code, {"DATA_DIR": str(data),
                                   "KB_DATABASE_URL": f"sqlite:///{data}/kb.sqlite3"})
    assert (data / "kb.sqlite3").exists() and (data / "generated" / "patient_texts.json").exists()
    assert_private(data)


def test_run_stack_sets_umask_077() -> None:
    script = (REPO / "scripts" / "run_stack.sh").read_text()
    head = script.split("MODE=", 1)[0]
    assert "\numask 077\n" in head  # before anything is created


# --------------------------------------------------------------------------- encryption
def lsblk_types(mapping: dict[str, str]):  # type: ignore[no-untyped-def]
    return lambda device: mapping.get(device)


def test_mount_of_picks_the_longest_mount_point() -> None:
    assert mount_of(Path("/srv/assistant/.data"), MOUNTS)[:2] == (
        "/srv/assistant", "/dev/mapper/cryptdata")
    assert mount_of(Path("/srv/plainer"), MOUNTS)[0] == "/"
    assert mount_of(Path("/mnt/with space/x"), MOUNTS)[1] == "/dev/sdc1"


@pytest.mark.parametrize(("path", "lsblk", "expected"), [
    ("/srv/assistant/.data", {"/dev/mapper/cryptdata": "crypt\npart\ndisk\n"}, True),
    ("/srv/plain/.data", {"/dev/sdb1": "part\ndisk\n"}, False),
    ("/run/assistant", {}, None),            # tmpfs: not a block device
    ("/var/lib/docker/x/app", {}, None),     # overlay: cannot tell
    ("/srv/plain/.data", {}, None),          # lsblk failed
])
def test_encryption_is_detected_from_mounts_and_lsblk(
        monkeypatch: pytest.MonkeyPatch, path: str, lsblk: dict[str, str],
        expected: bool | None) -> None:
    monkeypatch.delenv("DATA_VOLUME_ENCRYPTED", raising=False)
    result = check(Path(path), MOUNTS, lsblk_types(lsblk))
    assert result.encrypted is expected
    line = warning_line(Path(path), result)
    assert (line is None) is (expected is True)
    if line:
        assert "DATA_VOLUME_ENCRYPTED=true" in line and "\n" not in line


def test_operator_can_assert_encryption(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_VOLUME_ENCRYPTED", "true")
    assert check(Path("/srv/plain/.data"), MOUNTS, lsblk_types({})).encrypted is True


def test_production_start_warns_once_and_goes_on(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """The Rasa start-up logs one warning line in production (nothing locally), no failure."""
    from bot import runtime_guards

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATA_VOLUME_ENCRYPTED", raising=False)
    monkeypatch.setattr("common.volume_encryption.run_lsblk", lambda device: "part\ndisk\n")
    previous = os.umask(0o022)
    try:
        with caplog.at_level(logging.INFO):
            monkeypatch.setenv("PROFILE", "local")
            runtime_guards.protect_data_at_rest()
            assert "storage.encryption" not in caplog.text
            monkeypatch.setenv("PROFILE", "production")
            runtime_guards.protect_data_at_rest()
    finally:
        os.umask(previous)
    lines = [r for r in caplog.records if "storage.encryption.unverified" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING


def test_readme_explains_encrypting_the_postgresql_volume() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Data at rest", 1)[1].split("\n## ", 1)[0]
    assert "cryptsetup luksFormat" in section and "PostgreSQL" in section
    assert "DATA_VOLUME_ENCRYPTED" in section


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
