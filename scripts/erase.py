"""Erase one patient's conversation: `make erase CONVERSATION=<id>` (or PHONE=<E.164>).

Deletes the tracker events, call-back requests and SMS state rows of that conversation and
writes an `erasure_audit` row (hash of the id, time, counts; no content). See
actions/retention.py. Prints counts only, never the conversation id.
"""

from __future__ import annotations

import argparse
import sys

import retention_cli

from actions.retention import erase
from common.conversation_ids import sms_conversation_id


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, erase, print the counts."""
    parser = argparse.ArgumentParser(description=__doc__)
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--conversation", help="the Rasa conversation (sender) id")
    who.add_argument("--phone", help="an SMS patient's number in E.164 (+34600000001)")
    args = parser.parse_args(argv)
    conversation = (
        sms_conversation_id(args.phone, retention_cli.sms_id_secret())
        if args.phone else args.conversation
    )
    if not conversation or not conversation.strip():
        parser.error("empty conversation id")
    report = erase(conversation, retention_cli.tracker_url(), retention_cli.kb_url(),
                   retention_cli.sms_state_url())
    print(f"erased conversation sha256:{report.subject_hash}: {report.events_deleted} events, "
          f"{report.handoffs_deleted} call-back requests, {report.sms_rows_deleted} SMS rows; "
          "audit row written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
