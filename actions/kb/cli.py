"""Command line for clinic staff and the Makefile: check, build and export the knowledge base.

    python -m actions.kb.cli check  data/kb             # validate only (make kb-check)
    python -m actions.kb.cli build  data/kb             # validate, load into KB_DATABASE_URL,
                                                        # write $DATA_DIR/generated (make kb)
    python -m actions.kb.cli generate data/kb           # rewrite the tracked derived files
    python -m actions.kb.cli generate data/kb --check   # fail if they are out of date
    python -m actions.kb.cli production-check data/kb   # refuse example/placeholder content

The clinic profile is KB_CLINIC (default us_example), or --clinic NAME.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from actions.kb.builder import build_database
from actions.kb.db import DEFAULT_DATA_DIR, KbSettings, get_engine
from actions.kb.export import stale_files, write_files, write_patient_texts
from actions.kb.loader import KbContent, load_kb
from actions.kb.production import production_problems
from common.private_files import private_umask, tighten

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load_or_report(directory: Path, clinic: str | None) -> KbContent | None:
    content, problems = load_kb(directory, clinic)
    for problem in problems:
        print(problem, file=sys.stderr)
    if content is None:
        count = len(problems)
        print(f"KB check FAILED: {count} problem{'s' if count != 1 else ''} in {directory}",
              file=sys.stderr)
        return None
    entries = list(content.all_entries())
    approved = sum(1 for e in entries if e.status.value == "approved")
    print(f"KB check OK: {len(entries)} entries ({approved} approved, "
          f"{len(entries) - approved} not served) in {directory}, clinic profile "
          f"'{content.clinic_profile}'")
    return content


def _safe_url(url: str) -> str:
    """The database URL without its password, for printing."""
    head, sep, tail = url.rpartition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, credentials = head.partition("://")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{tail}"


def _report_stale(content: KbContent) -> int:
    stale = stale_files(content, REPO_ROOT)
    for path in stale:
        print(f"{path}: out of date with data/kb; run `make generate`", file=sys.stderr)
    return 1 if stale else 0


def _ensure_sqlite_folder(url: str) -> None:
    """A local SQLite KB's folder exists and only its owner can read it (patient data lives
    next to it)."""
    prefix = "sqlite:///"
    if url.startswith(prefix):
        folder = Path(url.removeprefix(prefix)).parent
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="kb", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["check", "build", "generate", "production-check"])
    parser.add_argument("directory", type=Path, nargs="?", default=Path("data/kb"))
    parser.add_argument("--clinic", default=None, help="clinic profile (default: KB_CLINIC)")
    parser.add_argument("--check", action="store_true",
                        help="with generate: only report files that are out of date")
    args = parser.parse_args(argv)
    private_umask()  # the KB database and the exports are created 0600 in 0700 folders

    content = _load_or_report(args.directory, args.clinic)
    if content is None:
        return 1
    if args.command == "check":
        return 0
    if args.command == "production-check":
        problems = production_problems(content)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"PRODUCTION REFUSED: {len(problems)} placeholder or unreviewed value(s); "
                  "replace them with the clinic's own (README \"Clinic profile\")",
                  file=sys.stderr)
            return 1
        print("Production check OK: no example or placeholder content")
        return 0
    if args.command == "generate":
        if args.check:
            return _report_stale(content)
        for path in write_files(content, REPO_ROOT):
            print(f"regenerated {path}")
        return 0
    # build: the database and the clinic-specific files; tracked files are only checked.
    if _report_stale(content):
        return 1
    settings = KbSettings.from_env()
    _ensure_sqlite_folder(settings.database_url)
    count = build_database(content, get_engine(settings.database_url), str(args.directory))
    print(f"KB loaded: {count} entries into {_safe_url(settings.database_url)}")
    data_dir = Path(os.environ.get("DATA_DIR") or DEFAULT_DATA_DIR)
    print(f"wrote {write_patient_texts(content, data_dir)}")
    tighten(data_dir)  # files an older version created 0644
    return 0


if __name__ == "__main__":
    sys.exit(main())
