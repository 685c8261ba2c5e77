"""Action-server hardening, attached to rasa_sdk's Sanic app by the `rasa_sdk_plugins` hook.

Why: rasa_sdk 3.6 has no authentication (rasa-sdk#56; token PR #831 was closed), binds
0.0.0.0 unless SANIC_HOST says otherwise, and its error handler answers a failing action with
a 500 whose body echoes the whole request: the patient's tracker (reliability-security.md §2.5,
R6, R11). rasa_sdk 3.6.2 imports a top-level `rasa_sdk_plugins` module and calls the pluggy
hook `attach_sanic_app_extensions(app)`; this module provides that hook:

- when ACTION_SERVER_TOKEN is set (always in production), every request except GET /health
  must carry it in the `X-Action-Server-Token` header (Rasa sends it from endpoints.yml
  `action_endpoint.headers`): no header -> 401, wrong value -> 403;
- a failing action gets a 500 with a generic body and one log line with the exception type;
- a call whose action name is not a plain identifier gets a 404 before rasa_sdk sees it
  (rasa_sdk logs the name it cannot find, verbatim: a forged name is data in the log);
  the refusal lines carry the method and status only, never the path or the name;
- the log redaction filter (privacy/log_redaction.py, standard library only) is added to the
  server's log handlers;
- umask 077, so a file the server creates (an SQLite journal of the KB database that holds the
  call-back requests) is readable by its owner only (common/private_files.py).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import sys
from typing import Any, Optional

import pluggy
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from common.private_files import private_umask
from privacy.log_redaction import install_redaction

logger = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("rasa_sdk")

TOKEN_ENV = "ACTION_SERVER_TOKEN"
TOKEN_HEADER = "X-Action-Server-Token"
OPEN_ROUTES = frozenset({("GET", "/health"), ("HEAD", "/health")})
ACTION_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")  # every name in domain.yml looks like this


def configured_token() -> Optional[str]:
    """The shared secret, or None when the server runs without one (local profile)."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    return token or None


def check_token(method: str, path: str, presented: Optional[str],
                expected: Optional[str]) -> Optional[int]:
    """The status to refuse a request with (401/403), or None to let it through."""
    if expected is None or (method.upper(), path.rstrip("/") or "/") in OPEN_ROUTES:
        return None
    if not presented:
        return 401
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        return 403
    return None


async def require_token(request: Request) -> Optional[HTTPResponse]:
    """Sanic request middleware: refuse requests without the shared secret."""
    status = check_token(request.method, request.path, request.headers.get(TOKEN_HEADER),
                         configured_token())
    if status is None:
        return None
    logger.warning("action server refused a %s request: %d", request.method, status)
    return response.json({"error": "unauthorized" if status == 401 else "forbidden"},
                         status=status)


def action_name_of(body: Any) -> Optional[str]:
    """The requested action name when it is a plain identifier, else None."""
    name = body.get("next_action") if isinstance(body, dict) else None
    return name if isinstance(name, str) and ACTION_NAME.fullmatch(name) else None


async def refuse_malformed_action_names(request: Request) -> Optional[HTTPResponse]:
    """Sanic request middleware: 404 for a /webhook call whose action name is not an
    identifier (forged), with a log line that does not repeat it."""
    if request.method != "POST" or request.path.rstrip("/") != "/webhook":
        return None
    if request.headers.get("Content-Encoding") == "deflate":
        return None  # rasa_sdk decompresses it itself; its log lines are redacted
    try:
        body = json.loads(request.body or b"")
    except (ValueError, RecursionError):
        logger.warning("action server refused an unreadable action call")
        return response.json({"error": "bad request"}, status=400)
    if action_name_of(body) is None:
        logger.warning("action server refused an action call with a malformed action name")
        return response.json({"error": "unknown action"}, status=404)
    return None


async def safe_error(request: Request, exception: Exception) -> HTTPResponse:
    """500 without the request body (the tracker); logs the exception type only."""
    logger.error("action server request failed: %s", type(exception).__name__)
    status = getattr(exception, "status_code", 500)
    if not isinstance(status, int) or status < 400:
        status = 500
    return response.json({"error": "internal error" if status >= 500 else "bad request"},
                         status=status)


@hookimpl
def attach_sanic_app_extensions(app: Sanic) -> None:
    """Add the token check, the safe error handler and log redaction to the action server."""
    private_umask()
    install_redaction()
    app.register_middleware(require_token, "request")
    app.register_middleware(refuse_malformed_action_names, "request")
    app.error_handler.add(Exception, safe_error)
    if configured_token() is None:
        logger.info("action server token check off (%s not set)", TOKEN_ENV)
    else:
        logger.info("action server requires the %s header", TOKEN_HEADER)


def register(manager: Any) -> None:
    """Register this module's hooks with rasa_sdk's plugin manager."""
    manager.register(sys.modules[__name__])
