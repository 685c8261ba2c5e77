"""The website chat in a real browser (Debian Chromium) against the real stack and model.

Covers the conversation (a KB answer, a quick reply), continuity across a reload, escaping of
markup, links, input checks, embedding from an allowed origin, reduced motion and WCAG 2.2 AA
checks with axe-core. It also writes screenshots at 360x740 and 1280x800 to
tests/browser/artifacts/.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect
from stack_harness import Stack

from common.patient_texts import load as load_patient_texts

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TURN_TIMEOUT_MS = 30_000
MOBILE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture
def context(browser: Any) -> Iterator[BrowserContext]:
    """A fresh browser profile (own sessionStorage); the page's CSP is enforced."""
    created = browser.new_context(viewport=DESKTOP)
    yield created
    created.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    opened = context.new_page()
    yield opened
    opened.close()


@pytest.fixture
def dialogs(page: Page) -> List[str]:
    """Messages of every alert/confirm/prompt the page opens (there must be none)."""
    seen: List[str] = []
    page.on("dialog", lambda dialog: (seen.append(dialog.message), dialog.dismiss()))
    return seen


def bot_messages(page: Page) -> Any:
    return page.locator(".rwc-msg--bot .rwc-bubble")


def user_messages(page: Page) -> Any:
    return page.locator(".rwc-msg--user .rwc-bubble")


def ask(page: Page, text: str) -> None:
    """Type a message and press Enter, like a patient."""
    box = page.get_by_label("Your message")
    box.fill(text)
    box.press("Enter")


def wait_for_bot_reply(page: Page, count_before: int) -> str:
    """The text of the bot messages that arrived after `count_before` bot messages."""
    expect(bot_messages(page)).not_to_have_count(count_before, timeout=TURN_TIMEOUT_MS)
    expect(page.locator(".rwc-typing")).to_be_hidden(timeout=TURN_TIMEOUT_MS)
    texts = bot_messages(page).all_text_contents()
    return "\n".join(texts[count_before:])


def converse(page: Page, text: str) -> str:
    before = bot_messages(page).count()
    ask(page, text)
    return wait_for_bot_reply(page, before)


def open_chat(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.get_by_label("Your message")).to_be_visible()
    expect(page.locator(".rwc-typing")).to_be_hidden(timeout=TURN_TIMEOUT_MS)


def run_axe(page: Page, axe_source: Path) -> List[Dict[str, Any]]:
    page.add_script_tag(path=str(axe_source))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def describe(violations: List[Dict[str, Any]]) -> str:
    return json.dumps(
        [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
         for v in violations],
        indent=1,
    )


# ------------------------------------------------------------------------------ conversation
def test_conversation_quick_reply_and_reload(
    page: Page, dialogs: List[str], stack: Stack
) -> None:
    open_chat(page, stack.chat_url)
    expect(page.locator(".rwc-emergency")).to_contain_text("In an emergency call 911")
    log = page.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")

    answer = converse(page, "when do i have to stop eating")
    assert "hours" in answer

    more = load_patient_texts(stack.data_dir / "generated" / "patient_texts.json").text(
        "label.more", "en").text
    driver = converse(page, "do i need a driver")
    assert "take you home" in driver
    more_button = page.get_by_role("button", name=more, exact=True)
    expect(more_button).to_be_visible()
    before = bot_messages(page).count()
    more_button.click()
    expect(user_messages(page).last).to_have_text(f"You said: {more}")
    detail = wait_for_bot_reply(page, before)
    assert detail.strip() and detail != driver
    expect(more_button).to_have_count(0)  # the answered quick replies are gone
    assert dialogs == []

    users_before_reload = user_messages(page).all_text_contents()
    bots_before_reload = bot_messages(page).all_text_contents()
    page.reload()
    expect(user_messages(page)).to_have_count(len(users_before_reload), timeout=TURN_TIMEOUT_MS)
    assert user_messages(page).all_text_contents() == users_before_reload
    assert bot_messages(page).all_text_contents() == bots_before_reload
    assert f"You said: {more}" in users_before_reload  # the button's title

    thanks = converse(page, "thank you")
    assert thanks.strip()
    # One conversation, under a server-issued "web:<uuid4>" id, continued after the reload.
    conversations = [
        texts for texts in _user_texts_by_sender(stack).values() if "thank you" in texts
    ]
    assert conversations == [
        ["when do i have to stop eating", "do i need a driver", more, "thank you"]
    ]


def _user_texts_by_sender(stack: Stack) -> Dict[str, List[str]]:
    """User messages per web conversation, read from the stack's tracker database."""
    with sqlite3.connect(stack.tracker_db) as db:
        rows = db.execute(
            "SELECT sender_id, data FROM events WHERE type_name = 'user' ORDER BY id"
        ).fetchall()
    texts: Dict[str, List[str]] = {}
    for sender, data in rows:
        if sender.startswith("web:"):
            texts.setdefault(sender, []).append(json.loads(data).get("text"))
    return texts


def test_markup_is_shown_as_text_and_never_run(browser: Any, stack: Stack) -> None:
    # bypass_csp: prove the widget's own escaping, not the Content-Security-Policy, stops it.
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    dialogs: List[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_chat(page, stack.chat_url)
    payload = "<img src=x onerror=alert(1)>"
    reply = converse(page, payload)
    assert reply.strip()
    expect(user_messages(page).last).to_have_text(f"You said: {payload}")
    assert page.locator(".rwc img, .rwc-log img").count() == 0
    page.reload()
    expect(user_messages(page).last).to_have_text(f"You said: {payload}",
                                                  timeout=TURN_TIMEOUT_MS)
    assert page.locator(".rwc-log img").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []
    context.close()


def test_bot_links_and_markup_are_rendered_safely(
    page: Page, dialogs: List[str], stack: Stack
) -> None:
    """Bot text is escaped as well; only http(s) URLs become links (rel=noopener)."""
    fake_reply = {
        "messages": [
            {
                "text": "See https://clinic.example/prep. Not javascript:alert(1) or "
                "<script>alert(2)</script> <a href='javascript:alert(3)'>x</a>",
                "buttons": [{"title": "<b>Bold?</b>", "payload": "/affirm"}],
            }
        ]
    }

    def fulfil(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(fake_reply))

    open_chat(page, stack.chat_url)
    page.route(re.compile(r".*/webhooks/webchat/message$"), fulfil)
    converse(page, "links please")
    last = bot_messages(page).last
    links = last.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://clinic.example/prep")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    expect(last).to_contain_text("<script>alert(2)</script>")
    assert page.locator(".rwc-log script, .rwc-log b").count() == 0
    expect(page.get_by_role("button", name="<b>Bold?</b>")).to_be_visible()
    assert dialogs == []


# ------------------------------------------------------------------------------ input checks
def test_empty_message_is_refused_in_the_browser(page: Page, stack: Stack) -> None:
    open_chat(page, stack.chat_url)
    sent: List[str] = []
    page.on("request", lambda request: sent.append(request.url)
            if request.url.endswith("/message") else None)
    ask(page, "   ")
    expect(page.get_by_role("alert")).to_contain_text("Please type a message")
    page.get_by_role("button", name="Send").click()
    page.wait_for_timeout(300)
    assert sent == []
    assert page.get_by_label("Your message").get_attribute("maxlength") == "2000"


def test_unknown_session_token_starts_a_new_session(page: Page, stack: Stack) -> None:
    open_chat(page, stack.chat_url)
    page.evaluate(
        "() => { for (const key of Object.keys(sessionStorage)) "
        "sessionStorage.setItem(key, 'v1.x.y'); }"
    )
    page.reload()
    expect(page.get_by_label("Your message")).to_be_visible()
    assert converse(page, "hello").strip()
    token = page.evaluate("() => Object.values(sessionStorage)[0]")
    assert token != "v1.x.y" and token.startswith("v2.")  # v2.<key id>.<payload>.<signature>


# ------------------------------------------------------------------------------ embedding
def test_embedded_widget_on_an_allowed_site(page: Page, clinic_site: str) -> None:
    page.goto(clinic_site)
    launcher = page.get_by_role("button", name="Questions about your procedure?")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.click()
    expect(page.locator(".rwc-emergency")).to_contain_text("In an emergency call 911")
    answer = converse(page, "do i need a driver")
    assert "home" in answer
    page.keyboard.press("Escape")
    expect(launcher).to_have_attribute("aria-expanded", "false")


def test_embedded_widget_on_a_foreign_site_is_refused(page: Page, foreign_site: str) -> None:
    page.goto(foreign_site)
    page.get_by_role("button", name="Questions about your procedure?").click()
    expect(page.get_by_role("alert")).to_contain_text("could not start", timeout=TURN_TIMEOUT_MS)


# ------------------------------------------------------------------------------ accessibility
@pytest.mark.parametrize("viewport", [MOBILE, DESKTOP], ids=["360x740", "1280x800"])
def test_accessibility_keyboard_and_screenshots(
    browser: Any, stack: Stack, axe_source: Path, artifacts: Path, viewport: Dict[str, int]
) -> None:
    context = browser.new_context(viewport=viewport, bypass_csp=True)  # to inject axe-core
    page = context.new_page()
    open_chat(page, stack.chat_url)

    # Keyboard only: type, Enter sends, Shift+Tab reaches the quick replies, Enter activates one.
    page.get_by_label("Your message").focus()
    page.keyboard.type("do i need a driver")
    before = bot_messages(page).count()
    page.keyboard.press("Enter")
    wait_for_bot_reply(page, before)
    quick = page.locator(".rwc-quick").last.get_by_role("button")
    first = quick.first
    expect(first).to_be_visible()
    first_title = first.inner_text()
    expect(page.get_by_label("Your message")).to_be_focused()
    for _ in range(quick.count()):  # the quick replies come just before the message box
        page.keyboard.press("Shift+Tab")
    expect(first).to_be_focused()
    outline = first.evaluate("el => getComputedStyle(el).outlineStyle + ' ' + "
                             "getComputedStyle(el).outlineWidth")
    assert outline.startswith("solid") and not outline.endswith(" 0px"), outline
    name = f"webchat-{viewport['width']}x{viewport['height']}.png"
    page.screenshot(path=str(artifacts / name))

    violations = run_axe(page, axe_source)
    assert violations == [], describe(violations)

    before = bot_messages(page).count()
    page.keyboard.press("Enter")
    wait_for_bot_reply(page, before)
    expect(user_messages(page).last).to_have_text(f"You said: {first_title}")

    # Readable at this width: nothing scrolls sideways.
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    context.close()


def test_reduced_motion_stops_the_typing_animation(browser: Any, stack: Stack) -> None:
    context = browser.new_context(viewport=MOBILE, reduced_motion="reduce")
    page = context.new_page()
    open_chat(page, stack.chat_url)
    assert page.evaluate(
        "() => getComputedStyle(document.querySelector('.rwc-dot')).animationName"
    ) == "none"
    context.close()
    context = browser.new_context(viewport=MOBILE, reduced_motion="no-preference")
    page = context.new_page()
    open_chat(page, stack.chat_url)
    assert page.evaluate(
        "() => getComputedStyle(document.querySelector('.rwc-dot')).animationName"
    ) == "rwc-bounce"
    context.close()


def test_no_patient_text_in_the_stack_log(page: Page, stack: Stack) -> None:
    """Nothing a patient types reaches the log: canaries typed here, in a normal turn and in
    a turn Rasa cannot classify, must not appear in it."""
    open_chat(page, stack.chat_url)
    typed = ["when do i have to stop eating, my DNI is 12345678Z",
             "zq canary 1961-03-14 <img src=x onerror=alert(1)>"]
    for text in typed:
        assert converse(page, text).strip()
    assert _user_texts_by_sender(stack)  # the turns did reach Rasa and its tracker
    log = stack.log_text()
    for canary in ("12345678Z", "1961-03-14", "onerror=alert"):
        assert canary not in log
