"""Wait until Rasa really answers a message, not just until its port is open.

Why: a Rasa server whose model failed to load still answers GET / with 200 and ignores every
message. The probe sends a greeting through the local REST channel (or, in the production
profile, the website chat) and needs a non-empty reply.
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


def _post_json(url: str, payload: dict, timeout_s: float, token: str = "") -> object:
    """POST JSON; the decoded reply of a 200, else None."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers=headers,
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read() or b"null") if response.status == 200 else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


_SESSIONS: dict = {}  # base URL -> web chat token of this probe


def answers(base_url: str, timeout_s: float, channel: str = "rest") -> bool:
    """True when a greeting gets at least one bot message back.

    `rest`: the local REST channel. `webchat`: the website chat (production has no REST
    channel), through a fresh session as a browser would.
    """
    if channel == "webchat":
        token = _SESSIONS.get(base_url)
        if token is None:  # one session for every attempt: new sessions are rate-limited
            session = _post_json(f"{base_url}/webhooks/webchat/session", {}, timeout_s)
            token = session.get("token") if isinstance(session, dict) else None
            if not isinstance(token, str):
                return False
            _SESSIONS[base_url] = token
        reply = _post_json(f"{base_url}/webhooks/webchat/message", {"message": "/greet"},
                           timeout_s, token=token)
        return isinstance(reply, dict) and bool(reply.get("messages"))
    body = {"sender": f"probe-{uuid.uuid4().hex}", "message": "/greet"}
    return bool(_post_json(f"{base_url}/webhooks/rest/webhook", body, timeout_s))


def _alive(pid: int) -> bool:
    """True while the process runs. A process that exited but was not reaped yet by its
    parent (a zombie, state Z) still accepts signal 0, so /proc is read as well."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (not Linux): signal 0 is all we know
    return state not in {"Z", "X"}


def main() -> int:
    """Poll until ready or until the deadline; exit 0 when ready, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:5005")
    parser.add_argument("--timeout", type=float, default=240.0)
    parser.add_argument("--pid", type=int, help="give up at once if this process exits")
    parser.add_argument("--channel", choices=["rest", "webchat"], default="rest")
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if answers(args.url, timeout_s=10, channel=args.channel):
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
