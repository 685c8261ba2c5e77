"""The staff alert store on SQLite: rows without message text, newest first, never raising."""

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bot.safety import alerts
from bot.safety.alerts import AlertStore, format_alerts, safety_alert
from bot.safety.triage import Verdict


@pytest.fixture
def store(tmp_path: Path) -> AlertStore:
    store = AlertStore(f"sqlite:///{tmp_path / 'alerts.sqlite3'}")
    yield store
    store.close()


def test_record_and_list_newest_first(store: AlertStore) -> None:
    start = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.timezone.utc)
    assert store.record("urgent", "fever", "red_flag.fever", "c-1", "sms", created_at=start)
    assert store.record("emergency", "weakness_numbness", "red_flag.weakness", "c-2", "webchat",
                        created_at=start + dt.timedelta(minutes=5))
    assert store.record("crisis", "suicidal_thoughts", "red_flag.suicidal_thoughts", "c-3",
                        "rest", created_at=start + dt.timedelta(minutes=1))
    listed = store.list_alerts(10)
    assert [a.conversation_id for a in listed] == ["c-2", "c-3", "c-1"]
    assert listed[0].created_at == start + dt.timedelta(minutes=5)
    assert listed[0].created_at.tzinfo is not None
    assert [a.conversation_id for a in store.list_alerts(1)] == ["c-2"]


def test_the_table_has_no_place_for_message_text(store: AlertStore) -> None:
    store.record("urgent", "rash", "red_flag.rash", "c-1", "sms")
    columns = {c["name"] for c in inspect(store._get_engine()).get_columns("safety_alert")}
    assert columns == {"id", "created_at", "level", "category", "flag_id", "conversation_id",
                       "channel"}
    assert {c.name for c in safety_alert.columns} == columns


def test_routine_and_incomplete_alerts_are_refused(store: AlertStore) -> None:
    assert not store.record("routine", None, None, "c-1", "sms")
    assert not store.record("emergency", None, None, "", "sms")
    assert store.list_alerts() == []


def test_record_verdict(store: AlertStore) -> None:
    verdict = Verdict("emergency", "red_flag.weakness", "weakness_numbness", "en")
    assert store.record_verdict(verdict, "c-9", "webchat")
    assert not store.record_verdict(Verdict("routine", None, None, "en"), "c-9", "webchat")
    assert store.list_alerts()[0].flag_id == "red_flag.weakness"


def test_background_record(store: AlertStore) -> None:
    future = store.record_in_background("crisis", "self_harm_thoughts",
                                        "red_flag.self_harm_thoughts", "c-5", "sms")
    assert future.result(timeout=10) is True
    assert store.list_alerts()[0].level == "crisis"


def test_an_unreachable_database_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    store = AlertStore("postgresql://user:secret@127.0.0.1:1/none", connect_timeout_s=1)
    assert store.record("emergency", "collapse", "red_flag.collapse", "c-1", "sms") is False
    assert "secret" not in caplog.text
    assert "could not be stored" in caplog.text


def test_one_log_line_without_text(store: AlertStore, caplog: pytest.LogCaptureFixture) -> None:
    store.record("emergency", "stroke", "red_flag.stroke", "c-7", "rest")
    lines = [r.getMessage() for r in caplog.records if "safety alert" in r.getMessage()]
    assert lines == ["safety alert: level=emergency category=stroke flag=red_flag.stroke "
                     "conversation=c-7 channel=rest"]


def test_listing_creates_nothing_and_formats(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    store = AlertStore(f"sqlite:///{path}")
    assert store.list_alerts() == []
    assert not inspect(store._get_engine(create=False)).has_table("safety_alert")
    assert format_alerts([]) == "no safety alerts"
    store.close()


def test_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_DATABASE_URL", "sqlite:////tmp/kb.sqlite3")
    monkeypatch.delenv("ALERTS_DATABASE_URL", raising=False)
    assert alerts.database_url() == "sqlite:////tmp/kb.sqlite3"
    monkeypatch.setenv("ALERTS_DATABASE_URL", "postgresql://a@h/db")
    assert AlertStore().url == "postgresql+psycopg2://a@h/db"


def test_cli_lists(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    store = AlertStore(url)
    store.record("urgent", "fall", "red_flag.fall", "c-1", "sms")
    store.close()
    assert alerts.main(["list", "--url", url, "--limit", "5"]) == 0
    out = capsys.readouterr().out
    assert "urgent" in out and "fall" in out and "c-1" in out
