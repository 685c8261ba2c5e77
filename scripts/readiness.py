"""Wait until Rasa really answers a message, not just until its port is open.

Why: a Rasa server whose model failed to load still answers GET / with 200 and ignores every
message. The probe sends a greeting through the local REST channel and needs a non-empty reply.
Standard library only, so any Python can run it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid


def answers(base_url: str, timeout_s: float) -> bool:
    """True when a greeting sent to the REST channel gets at least one bot message back."""
    body = json.dumps({"sender": f"probe-{uuid.uuid4().hex}", "message": "/greet"}).encode()
    request = urllib.request.Request(
        f"{base_url}/webhooks/rest/webhook", data=body,
        headers={"Content-Type": "application/json"}, method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status == 200 and bool(json.loads(response.read() or b"[]"))
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main() -> int:
    """Poll until ready or until the deadline; exit 0 when ready, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:5005")
    parser.add_argument("--timeout", type=float, default=240.0)
    parser.add_argument("--pid", type=int, help="give up at once if this process exits")
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if answers(args.url, timeout_s=10):
            return 0
        if args.pid and not _alive(args.pid):
            print(f"The Rasa process ({args.pid}) exited before it was ready", file=sys.stderr)
            return 1
        time.sleep(2)
    print(f"Rasa at {args.url} did not answer a test message within {args.timeout:.0f} s",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
