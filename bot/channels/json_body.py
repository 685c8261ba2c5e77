"""Parse a client's JSON body safely: bounded size, bounded nesting, UTF-8 only.

Why: `json.loads` recurses once per nesting level, so 60 kB of "[[[[…" raised RecursionError —
not a ValueError — and the web chat and REST channels answered 500 (and logged the request).
A chat request is at most three levels deep ({"metadata": {...}}); anything nested deeper
than MAX_DEPTH is refused with a 400 before it is parsed, and RecursionError is caught as a
last resort. Every channel that reads JSON from a client uses `parse_json_body`.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 16
# One escape (backslash + the next character), a quote or a bracket: a linear scan (no
# backtracking), so a hostile body costs one pass however its quotes are arranged.
_TOKENS = re.compile(r'\\.|["\[\]{}]', re.DOTALL)


class JsonBodyError(ValueError):
    """The body is not JSON the channel accepts; `code` is the error code for the 400."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


def nesting_exceeds(text: str, max_depth: int = MAX_DEPTH) -> bool:
    """Whether arrays/objects nest deeper than `max_depth` (stops at the first excess)."""
    depth = 0
    in_string = False
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token == '"':
            in_string = not in_string
        elif in_string or len(token) == 2:  # inside a string, or an escape
            continue
        elif token in "[{":
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def parse_json_body(raw: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The decoded JSON value, or JsonBodyError (invalid_json / too_deep)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonBodyError("invalid_json", "The request is not valid JSON.") from None
    if nesting_exceeds(text, max_depth):
        raise JsonBodyError("too_deep", "The request is nested too deeply.")
    try:
        return json.loads(text)
    except RecursionError:  # not reachable within MAX_DEPTH; never a 500 if it were
        raise JsonBodyError("too_deep", "The request is nested too deeply.") from None
    except ValueError:
        raise JsonBodyError("invalid_json", "The request is not valid JSON.") from None
