"""GSM-7 / UCS-2 segment arithmetic (bot/channels/sms_segments.py)."""

from __future__ import annotations

import pytest

from bot.channels.sms_segments import (
    encoding_of,
    fewest_segments,
    length_in_units,
    segment_count,
    split_segments,
)


@pytest.mark.parametrize(
    ("length", "segments"),
    [(0, 0), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_limits(length: int, segments: int) -> None:
    assert segment_count("a" * length) == segments


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_ucs2_limits(length: int, segments: int) -> None:
    text = "á" + "a" * (length - 1)  # one "á" makes the whole text UCS-2
    assert encoding_of(text) == "UCS-2"
    assert segment_count(text) == segments


def test_extension_characters_count_twice() -> None:
    assert encoding_of("€[]{}~^\\|") == "GSM-7"
    assert length_in_units("€") == 2
    assert segment_count("€" * 80) == 1  # 160 septets
    assert segment_count("€" * 81) == 2  # 162 septets
    assert segment_count("a" * 159 + "{") == 2


def test_an_escape_pair_never_straddles_two_parts() -> None:
    parts = split_segments("a" * 152 + "€" + "a" * 10)
    assert parts[0] == "a" * 152
    assert parts[1] == "€" + "a" * 10
    assert "".join(parts) == "a" * 152 + "€" + "a" * 10


def test_surrogate_pairs_count_twice_and_stay_whole() -> None:
    assert length_in_units("🙂") == 2
    assert segment_count("🙂" * 35) == 1
    parts = split_segments("a" * 66 + "🙂" + "a" * 10)
    assert parts[0] == "a" * 66 and parts[1].startswith("🙂")


def test_spanish_and_gsm7_letters() -> None:
    assert encoding_of("¡Hola! ¿Qué tal? Ñandú") == "UCS-2"  # ú is not GSM-7
    assert encoding_of("¡Hola! ¿Qué pasa? Niño, café, über") == "GSM-7"
    assert encoding_of("día") == "UCS-2"


def test_fewest_segments_replaces_typographic_punctuation_only_when_it_helps() -> None:
    curly = "Don\u2019t eat after midnight \u2013 water is fine\u2026 " + "a" * 60
    assert encoding_of(curly) == "UCS-2" and segment_count(curly) == 2
    plain = fewest_segments(curly)
    assert plain.startswith("Don't eat after midnight - water is fine... ")
    assert segment_count(plain) == 1
    accented = "Tomar el día \u2019x\u2019"  # stays UCS-2 anyway: keep the original
    assert fewest_segments(accented) == accented


def test_inverted_exclamation_mark_is_never_rewritten() -> None:
    assert fewest_segments("¡Hola!") == "¡Hola!"
    assert "@" not in fewest_segments("¡" * 200)
