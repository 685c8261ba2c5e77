"""Files with patient data are readable by their owner only: umask 077 and a tightening pass.

Why: SQLite trackers, the SMS state, the KB database (call-back requests), the channel secrets
and the exports all live under $DATA_DIR. With the default umask (022) every one of them was
created 0644 in a 0755 folder, readable by any local account. Every process that writes there
(Rasa, the action server, `make kb`, `make erase`/`make purge`, scripts/run_stack.sh) calls
`private_umask()` before it creates anything, and the start-up tightens what an older version
left behind. Standard library only: both environments import it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def private_umask() -> int:
    """Set the process umask to 077 (files 0600, folders 0700); returns the previous one."""
    return os.umask(PRIVATE_UMASK)


def tighten(directory: Path) -> list[Path]:
    """Make `directory`, its folders 0700 and its files 0600 (symlinks are not followed);
    returns what was changed. A missing directory is left alone."""
    changed: list[Path] = []
    if not directory.is_dir() or directory.is_symlink():
        return changed
    for root, folders, files in os.walk(directory, followlinks=False):
        for name, wanted in [(".", DIRECTORY_MODE)] + [(f, DIRECTORY_MODE) for f in folders] \
                + [(f, FILE_MODE) for f in files]:
            path = Path(root) / name
            try:
                info = path.lstat()
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode):
                continue
            if stat.S_IMODE(info.st_mode) & ~wanted & 0o777:
                path.chmod(stat.S_IMODE(info.st_mode) & wanted)
                changed.append(path)
    return changed
