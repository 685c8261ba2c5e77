"""Is the data directory on an encrypted volume? The production start-up warns when it cannot
tell (one log line; it never refuses to start).

Why: conversations, SMS state and call-back requests are health data at rest (GDPR Art. 32,
HIPAA 164.312(a)(2)(iv); reliability-security.md R17). The check recognises dm-crypt/LUKS: it
finds the mount that holds the directory in /proc/mounts and asks `lsblk` whether that device
or one below it is of type "crypt". Encryption the operating system cannot see (a cloud
provider's encrypted disk, a SAN) is asserted with DATA_VOLUME_ENCRYPTED=true (README,
"Data at rest"). Standard library only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

ASSERT_ENV = "DATA_VOLUME_ENCRYPTED"
MOUNTS = Path("/proc/mounts")
LsblkRunner = Callable[[str], Optional[str]]


@dataclass(frozen=True)
class VolumeCheck:
    """What the check found: encrypted True/False (None: could not tell) and why."""

    encrypted: Optional[bool]
    mount_point: str
    device: str
    reason: str


def _unescape(field: str) -> str:
    """/proc/mounts escapes spaces and tabs as octal (\\040)."""
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")


def mount_of(path: Path, mounts_text: str) -> tuple[str, str, str]:
    """(mount point, device, file system type) of the mount holding `path`."""
    best = ("/", "", "")
    target = str(path)
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        device, point, fstype = _unescape(fields[0]), _unescape(fields[1]), fields[2]
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best[0]):
            best = (point, device, fstype)
    return best


def run_lsblk(device: str) -> Optional[str]:
    """`lsblk -s -n -o TYPE <device>`: the device's type and those of the devices below it."""
    try:
        result = subprocess.run(["lsblk", "-s", "-n", "-o", "TYPE", device],
                                capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


def check(path: Path, mounts_text: Optional[str] = None,
          lsblk: LsblkRunner = run_lsblk) -> VolumeCheck:
    """Whether `path` is on a dm-crypt/LUKS volume (or the operator asserted encryption)."""
    if os.environ.get(ASSERT_ENV, "").strip().lower() in {"1", "true", "yes"}:
        return VolumeCheck(True, "", "", f"asserted by {ASSERT_ENV}")
    if mounts_text is None:
        try:
            mounts_text = MOUNTS.read_text(encoding="utf-8")
        except OSError:
            return VolumeCheck(None, "", "", f"{MOUNTS} is not readable")
    point, device, fstype = mount_of(path.resolve(), mounts_text)
    if not device.startswith("/dev/"):
        return VolumeCheck(None, point, fstype or device,
                           f"file system '{fstype or device}' is not a block device")
    types = lsblk(device)
    if types is None:
        return VolumeCheck(None, point, device, "lsblk could not describe the device")
    if "crypt" in types.split():
        return VolumeCheck(True, point, device, "dm-crypt/LUKS")
    return VolumeCheck(False, point, device, "no dm-crypt/LUKS layer")


def warning_line(path: Path, result: VolumeCheck) -> Optional[str]:
    """The one warning line for an unencrypted or unknown volume, or None."""
    if result.encrypted:
        return None
    return (f"storage.encryption.unverified data_dir={path} mount={result.mount_point or '-'} "
            f"device={result.device or '-'} reason={result.reason}: keep patient data on an "
            f"encrypted volume (README: Data at rest); set {ASSERT_ENV}=true if the disk is "
            "encrypted below the operating system")


def main(argv: Optional[list[str]] = None) -> int:
    """Print the warning line (if any) for the directory given; always exit 0."""
    args = argv if argv is not None else sys.argv[1:]
    path = Path(args[0] if args else os.environ.get("DATA_DIR") or ".data")
    line = warning_line(path, check(path))
    if line:
        print(f"WARNING {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
