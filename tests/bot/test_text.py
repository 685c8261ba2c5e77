"""bot.nlu.text: normalisation and splitting a message into its questions."""

from typing import List

import pytest

from bot.nlu.text import normalise, split_questions


def parts(text: str) -> List[str]:
    return [text[start:end] for start, end in split_questions(text)]


def test_normalise_ignores_case_accents_and_apostrophes() -> None:
    assert normalise("¿Sedación?") == "sedacion"
    assert normalise("I’m NOT sure, can't I?") == "im not sure cant i"
    assert normalise("  mañana   a las 9.30 ") == "manana a las 9 30"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("do i need to fast and do i need a driver?", ["do i need to fast", "do i need a driver"]),
        ("When can I eat? Also, will I be asleep?", ["When can I eat", "will I be asleep"]),
        ("can i eat; can i drive", ["can i eat", "can i drive"]),
        ("cuando dejo de comer y puedo volver en taxi?",
         ["cuando dejo de comer", "puedo volver en taxi"]),
        ("¿A qué hora llego, puedo desayunar y me lleva mi marido?",
         ["A qué hora llego", "puedo desayunar", "me lleva mi marido"]),
        ("Can mum have tea, does she stop her aspirin, and will she be awake?",
         ["Can mum have tea", "does she stop her aspirin", "will she be awake"]),
    ],
)
def test_questions_are_split(text: str, expected: List[str]) -> None:
    assert parts(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "when do i stop eating",
        "my mother takes fish oil, garlic pills",  # no question word after the comma
        "and water?",
        "",
    ],
)
def test_single_questions_stay_whole(text: str) -> None:
    assert len(parts(text)) <= 1


def test_a_one_word_part_joins_its_neighbour() -> None:
    assert parts("eliquis and xarelto, do i stop both?") == ["eliquis and xarelto",
                                                              "do i stop both"]
    assert parts("ok and when do i stop?") == ["ok and when do i stop"]


def test_offsets_index_the_original_text() -> None:
    text = "  Can I eat?  And can I drive?  "
    for start, end in split_questions(text):
        assert text[start:end] == text[start:end].strip()
        assert text[start].isalnum() and text[end - 1].isalnum()
