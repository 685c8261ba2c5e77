"""Command line for clinic staff and the Makefile: check, build and export the knowledge base.

    python -m actions.kb.cli check  data/kb      # validate only (make kb-check)
    python -m actions.kb.cli build  data/kb      # validate, load into KB_DATABASE_URL, export
    python -m actions.kb.cli export data/kb      # regenerate the Rasa-side files
    python -m actions.kb.cli export data/kb --check   # fail if those files are out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from actions.kb.builder import build_database
from actions.kb.db import KbSettings, get_engine
from actions.kb.export import stale_files, write_files
from actions.kb.loader import KbContent, load_kb

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load_or_report(directory: Path) -> KbContent | None:
    content, problems = load_kb(directory)
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
          f"{len(entries) - approved} not served) in {directory}")
    return content


def _safe_url(url: str) -> str:
    """The database URL without its password, for printing."""
    head, sep, tail = url.rpartition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, credentials = head.partition("://")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{tail}"


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="kb", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["check", "build", "export"])
    parser.add_argument("directory", type=Path, nargs="?", default=Path("data/kb"))
    parser.add_argument("--check", action="store_true",
                        help="with export: only report files that are out of date")
    args = parser.parse_args(argv)

    content = _load_or_report(args.directory)
    if content is None:
        return 1
    if args.command == "check":
        return 0
    if args.command == "export" and args.check:
        stale = stale_files(content, REPO_ROOT)
        for path in stale:
            print(f"{path}: out of date with {args.directory}; run `make kb-export`",
                  file=sys.stderr)
        return 1 if stale else 0
    if args.command == "build":
        settings = KbSettings.from_env()
        count = build_database(content, get_engine(settings.database_url), str(args.directory))
        print(f"KB loaded: {count} entries into {_safe_url(settings.database_url)}")
    for path in write_files(content, REPO_ROOT):
        print(f"regenerated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
