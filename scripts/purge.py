"""Retention purge: `make purge DAYS=90` deletes conversations idle for longer than DAYS.

Also deletes earlier sessions older than DAYS in conversations still in use, call-back
requests and processed SMS ids older than DAYS, and writes an `erasure_audit` row (counts
only). Run it daily (cron or a systemd timer); see actions/retention.py and the README.
"""

from __future__ import annotations

import argparse
import sys

import retention_cli

from actions.retention import purge


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, purge, print the counts."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, required=True, help="retention period in days")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    report = purge(args.days, retention_cli.tracker_url(), retention_cli.kb_url(),
                   retention_cli.sms_state_url())
    print(f"purged {report.conversations} conversations idle for more than {args.days} days: "
          f"{report.events_deleted} events, {report.handoffs_deleted} call-back requests, "
          f"{report.sms_rows_deleted} SMS rows; audit row written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
