"""actions/security.py: the shared-secret check of the action server (action-server environment)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from actions.security import check_token, require_token, safe_error

TOKEN = "x" * 40


@pytest.mark.parametrize(("method", "path", "presented", "expected", "status"), [
    ("POST", "/webhook", None, None, None),  # no token configured: local profile
    ("POST", "/webhook", None, TOKEN, 401),
    ("POST", "/webhook", "", TOKEN, 401),
    ("POST", "/webhook", "wrong", TOKEN, 403),
    ("GET", "/actions", TOKEN[:-1], TOKEN, 403),
    ("POST", "/webhook", TOKEN, TOKEN, None),
    ("GET", "/health", None, TOKEN, None),
    ("POST", "/health", None, TOKEN, 401),
])
def test_check_token(method: str, path: str, presented: str | None, expected: str | None,
                     status: int | None) -> None:
    assert check_token(method, path, presented, expected) == status


async def test_every_route_of_the_real_action_server_but_health_needs_the_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The app `python -m rasa_sdk` builds, with this project's plugin attached: each route it
    serves refuses a request without the token, except GET /health."""
    from rasa_sdk.endpoint import create_app
    from rasa_sdk.plugin import plugin_manager

    from actions import security

    monkeypatch.setenv("ACTION_SERVER_TOKEN", TOKEN)
    # the log filters are tested in test_log_redaction.py; here they would stay on the
    # test process's handlers after the test
    monkeypatch.setattr(security, "install_redaction", lambda: True)
    app = create_app("actions")
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    middleware = list(app.request_middleware)
    assert require_token in middleware
    refused, open_routes = [], []
    for route in app.router.routes:
        for method in route.methods:
            path = "/" + route.path.lstrip("/")
            request = SimpleNamespace(method=method, path=path, headers={})
            answer = await require_token(request)  # type: ignore[arg-type]
            (refused if answer is not None and answer.status == 401 else open_routes).append(
                f"{method} {path}")
    assert open_routes == ["GET /health"]
    assert {"POST /webhook", "GET /actions"} <= set(refused)


async def test_error_body_has_no_request_data() -> None:
    request = SimpleNamespace(json={"tracker": {"latest_message": {"text": "DNI 12345678Z"}}})
    response = await safe_error(request, RuntimeError("boom DNI 12345678Z"))  # type: ignore[arg-type]
    assert response.status == 500
    assert json.loads(response.body) == {"error": "internal error"}
