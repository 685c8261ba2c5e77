"""Which parts of a message are not the appointment: birth dates, ages, past events, doses."""

from __future__ import annotations

import pytest

from actions.plan.date_context import read_context

ES = ("es",)


def excluded(text: str, languages: tuple[str, ...] = ("en",)) -> list[str]:
    context = read_context(text, languages)
    return [text[start:end].strip() for start, end in context.not_appointment]


@pytest.mark.parametrize(
    ("text", "languages", "spans"),
    [
        ("born 14/03/1961", ("en",), ["born 14/03/1961"]),
        ("DOB: 14/3/61, procedure Friday", ("en",), ["DOB: 14/3/61"]),
        ("my birthday is March 14", ("en",), ["birthday is March 14"]),
        ("14/3/61 is my date of birth", ("en",), ["14/3/61 is my date of birth"]),
        ("I'm 64 years old", ("en",), ["I'm 64 years old"]),
        ("I had an injection on 3/11, it's on Friday", ("en",), ["I had an injection on 3/11"]),
        ("nací el 14/03/1961", ES, ["nací el 14/03/1961"]),
        ("tengo 64 años", ES, ["tengo 64 años"]),
        ("me operaron el 5 de mayo y la cita es el 14", ES, ["me operaron el 5 de mayo"]),
        ("I was told it's on Friday", ("en",), []),  # says when it is booked
        ("it was moved to Friday", ("en",), []),
        ("me han dicho que es el viernes", ES, []),
        ("next Tuesday at 9", ("en",), []),
    ],
)
def test_not_appointment_spans(text: str, languages: tuple[str, ...], spans: list[str]) -> None:
    assert excluded(text, languages) == spans


def test_dose_sentences_are_about_a_medicine() -> None:
    text = "I take it at 9am and my procedure is Friday"
    context = read_context(text)
    assert [text[a:b].strip() for a, b in context.about_medicine] == ["I take it at 9am"]
    assert read_context("my procedure: take nothing after 9").about_medicine == ()
