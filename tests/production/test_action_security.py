"""actions/security.py: the shared-secret check of the action server (pure parts)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from actions.security import OPEN_ROUTES, check_token, safe_error

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


def test_only_health_is_open() -> None:
    assert {path for _, path in OPEN_ROUTES} == {"/health"}


async def test_error_body_has_no_request_data() -> None:
    request = SimpleNamespace(json={"tracker": {"latest_message": {"text": "DNI 12345678Z"}}})
    response = await safe_error(request, RuntimeError("boom DNI 12345678Z"))  # type: ignore[arg-type]
    assert response.status == 500
    assert json.loads(response.body) == {"error": "internal error"}
