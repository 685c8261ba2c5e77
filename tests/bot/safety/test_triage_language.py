"""Language detection for triage: lingua restricted to English and Spanish, the hint when unsure."""

from bot.safety.language import LanguageDetector


def test_short_messages() -> None:
    detector = LanguageDetector(("en", "es"))
    assert detector.detect("no siento las piernas").language == "es"
    assert detector.detect("I can't feel my legs").language == "en"
    assert detector.detect("tinc la cama adormida").language == "es"  # Catalan counts as es


def test_hint_when_nothing_to_detect() -> None:
    detector = LanguageDetector(("en", "es"))
    assert detector.detect("112", "es").language == "es"
    assert detector.detect("🙂", "es").source == "hint"
    assert detector.detect("", None).language == "en"
