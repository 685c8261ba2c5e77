"""The whole detector (patterns + classifier + language) on the shipped vocabulary and data."""

import pytest

from bot.safety.classifier import Scores
from bot.safety.triage import DEFAULT_THRESHOLDS, OVERRULE_PROBABILITY, Triage, Verdict


@pytest.mark.parametrize("text", [
    "Not sure if this is normal but I can't feel my legs",
    "i might be overreacting but my legs are numb",
    "I can't feel my legs since the procedure",
    "hi, thanks for yesterday, the nurse was lovely, quick question about parking next time, "
    "also since last night i can't really feel my left leg, and do i need to bring the letter?",
])
def test_emergencies(triage: Triage, text: str) -> None:
    verdict = triage.assess(text, "en")
    assert verdict.level == "emergency"
    assert verdict.flag_id == "red_flag.weakness"
    assert verdict.language == "en"
    assert verdict.needs_alert


@pytest.mark.parametrize("text", [
    "no numbness", "no fever", "what if I get a fever?", "can I drink water before",
    "I'm dying for a coffee", "when do I stop eating?",
])
def test_routine_english(triage: Triage, text: str) -> None:
    verdict = triage.assess(text, "en")
    assert verdict.level == "routine"
    assert verdict.flag_id is None
    assert not verdict.needs_alert


@pytest.mark.parametrize("text", ["no tengo fiebre", "¿y si me da fiebre?",
                                  "me muero de hambre, cuando puedo comer?"])
def test_routine_spanish(triage: Triage, text: str) -> None:
    verdict = triage.assess(text, "en")
    assert verdict.level == "routine"
    assert verdict.language == "es"


def test_the_acceptance_messages(triage: Triage) -> None:
    legs = triage.assess("no siento las piernas desde la rizolisis", "en")
    assert (legs.level, legs.language, legs.flag_id) == ("emergency", "es", "red_flag.weakness")
    crisis = triage.assess("ya no puedo más, quiero quitarme la vida", "en")
    assert (crisis.level, crisis.language) == ("crisis", "es")
    assert crisis.shows_crisis_line
    english = triage.assess("with this pain there's no point going on, I'm tired of being "
                            "alive", "es")
    assert (english.level, english.language) == ("crisis", "en")


def test_the_classifier_catches_what_no_pattern_names(triage: Triage, patterns: Triage) -> None:
    text = "my legs feel like they belong to a stranger and wont do what i tell them"
    assert patterns.assess(text).level == "routine"  # if a pattern is added, pick another
    verdict = triage.assess(text)
    assert verdict.level == "emergency"
    assert verdict.flag_id is not None  # the category's KB flag, so its advice can be shown
    assert any(r.startswith("classifier:emergency") for r in verdict.reasons)


def test_language_hint_decides_when_the_text_cannot(triage: Triage) -> None:
    assert triage.assess("ok", "es").language == "es"
    assert triage.assess("112", "en").language == "en"


def test_classifier_only_raises_above_its_threshold(triage: Triage) -> None:
    strict = Triage(triage.vocabulary, use_rules=False,
                    thresholds={"emergency": 1.01, "crisis": 1.01, "urgent": 1.01})
    assert strict.assess("I cant breathe and my chest hurts").level == "routine"
    assert set(DEFAULT_THRESHOLDS) == {"emergency", "crisis", "urgent"}


def test_assess_many_matches_assess(triage: Triage) -> None:
    texts = ["no fever", "i cant pee since this morning", "me he caido en la ducha"]
    assert triage.assess_many(texts, ["en", "en", "es"]) == [
        triage.assess(t, h) for t, h in zip(texts, ["en", "en", "es"], strict=True)]


def test_patterns_alone_when_the_classifier_is_not_ready(triage: Triage) -> None:
    cold = Triage(triage.vocabulary, classifier_key="never-fitted", wait_for_classifier=False)
    verdict = cold.assess("I can't feel my legs")
    assert verdict.level == "emergency"
    assert "classifier:unavailable" in verdict.reasons


def test_a_verdict_is_plain_data() -> None:
    verdict = Verdict("crisis", "red_flag.suicidal_thoughts", "suicidal_thoughts", "en")
    assert verdict.shows_crisis_line and verdict.needs_alert
    assert not Verdict("emergency", "red_flag.weakness", "weakness_numbness", "en",
                       self_harm=False).shows_crisis_line


def _scores(level: str, category: str, probability: float) -> Scores:
    levels = {"emergency": 0.0, "crisis": 0.0, "urgent": 0.0, "routine": 1.0 - probability}
    levels[level] = probability
    best = {name: (category if name == level else "other_question", p)
            for name, p in levels.items()}
    return Scores(levels, best)


@pytest.mark.parametrize("text, category", [
    ("what if I can't pee after?", "bladder_bowel"),  # hypothetical
    ("no chest pain at all, just sore", "chest_breathing"),  # negated
])
def test_the_classifier_needs_more_to_overrule_a_symptom_the_patterns_denied(
        triage: Triage, text: str, category: str) -> None:
    """The n-grams see the symptom words but not the "what if" or the "no": below
    OVERRULE_PROBABILITY the patterns' reading stands, above it the classifier still wins."""
    weak = triage._verdict(text, "en", _scores("emergency", category, 0.5), False)
    assert weak.level == "routine"
    assert f"classifier-overruled:{category}" in weak.reasons
    strong = triage._verdict(text, "en", _scores("emergency", category, OVERRULE_PROBABILITY),
                             False)
    assert strong.level == "emergency"


def test_a_denied_symptom_does_not_hide_another_one(triage: Triage) -> None:
    """"No fever, but my leg keeps giving way": the classifier's other category is raised."""
    verdict = triage._verdict("no fever, but it feels odd", "en",
                              _scores("emergency", "weakness_numbness", 0.5), False)
    assert verdict.level == "emergency"


def test_self_harm_is_never_overruled(triage: Triage) -> None:
    verdict = triage._verdict("i'm not suicidal, i just can't see the point", "en",
                              _scores("crisis", "suicidal_thoughts", 0.3), False)
    assert verdict.level == "crisis"


def test_an_alarm_in_a_long_message_must_be_found_in_one_of_its_sentences() -> None:
    """`localised`: the whole message's alarm probability is capped by its most alarming
    sentence's; routine stays the whole message's; categories come from anywhere."""
    from bot.safety.classifier import localised, sentences

    assert sentences("my husband is taking me. he has to be at work by 10, how long is it?"
                     ) == ["my husband is taking me", "he has to be at work by 10, how long is it"]
    assert sentences("no fever") == []  # too short to split: scored whole
    whole = _scores("emergency", "weakness_numbness", 0.45)
    calm = _scores("emergency", "weakness_numbness", 0.05)
    alarming = _scores("emergency", "bladder_bowel", 0.9)
    capped = localised(whole, [calm, calm])
    assert capped.level_probabilities["emergency"] == pytest.approx(0.05)
    assert capped.level_probabilities["routine"] == whole.level_probabilities["routine"]
    kept = localised(whole, [calm, alarming])
    assert kept.level_probabilities["emergency"] == pytest.approx(0.45)
    assert kept.best_category["emergency"] == ("bladder_bowel", 0.9)


def test_a_crisis_only_the_classifier_sees_at_a_low_probability_is_tentative() -> None:
    """With a crisis threshold near zero every message is a classifier crisis; an ordinary
    question (low probability, no pattern) is then tentative, a strong signal is not."""
    from bot.safety.triage import FIRM_CRISIS_PROBABILITY
    eager = Triage(thresholds={"emergency": 0.40, "crisis": 0.0001, "urgent": 0.45})
    ordinary = eager.assess("can i drink water before the procedure?")
    assert ordinary.level == "crisis" and ordinary.tentative
    assert ordinary.crisis_probability < FIRM_CRISIS_PROBABILITY
    strong = eager.assess("wish i could just disappear and never come back")
    assert strong.level == "crisis" and strong.crisis_probability >= FIRM_CRISIS_PROBABILITY
    assert not strong.tentative


@pytest.mark.parametrize("text", [
    "with this pain there's no point going on, I'm tired of being alive",
    "I keep thinking everyone would be better off without me",
    "ya no puedo más, quiero quitarme la vida",
    "I've been cutting myself again since the procedure",
])
def test_a_crisis_the_patterns_find_is_never_tentative(text: str) -> None:
    verdict = Triage().assess(text)
    assert verdict.shows_crisis_line and not verdict.tentative, verdict.reasons


def test_the_stack_tests_tentative_message_is_still_tentative() -> None:
    """tests/stack/test_fault_injection.py uses it; retrained triage data can change that."""
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "stack" / "test_fault_injection.py"
    source = path.read_text()
    text = source.split('TENTATIVE = "', 1)[1].split('"', 1)[0]
    verdict = Triage().assess(text)
    assert verdict.level == "crisis" and verdict.tentative, (text, verdict.reasons)


# --- round 9 (blind dev sets eval/nlu/dev5_*, eval/conversations/dev6_*) -------------------

@pytest.mark.parametrize("text", [
    "I get breathless flat on my back, can they raise my head a bit",
    "me ahogo si estoy tumbado del todo, es problema?",
    "es que boca abajo se ahoga, no aguanta ni cinco minutos así",
])
def test_breathlessness_bound_to_a_posture_is_a_positioning_question(
        triage: Triage, text: str) -> None:
    verdict = triage.assess(text)
    assert verdict.level == "routine"
    assert "pattern-background:red_flag.chest_breathing" in verdict.reasons


@pytest.mark.parametrize("text", [
    "I can't breathe lying down since the procedure",
    "when i lie down i cant breathe and my chest hurts",
    "she can't breathe, she's lying on the floor",
    "I have COPD but this is much worse than usual since this morning, I can't finish a "
    "sentence and my inhaler isn't touching it",
    "no puede terminar una frase, le falta el aire",
])
def test_breathlessness_now_is_still_an_emergency(triage: Triage, text: str) -> None:
    assert triage.assess(text).level == "emergency"


@pytest.mark.parametrize("text", [
    "puede dañar los nervios de las piernas",
    "can it make my legs weak",
])
def test_a_classifier_only_emergency_in_a_question_about_what_might_happen_is_overruled(
        triage: Triage, text: str) -> None:
    verdict = triage.assess(text)
    assert verdict.level == "routine"
    assert any(r.startswith("classifier-overruled:") for r in verdict.reasons)


@pytest.mark.parametrize("text", [
    # the classifier reads these as questions itself since the round-12 training examples
    # (they were the overrule's examples above before)
    "my pain goes down my leg right to my foot, will this work for me",
    "and infection?",
    "I was so hoping this would be the answer to my pain",
])
def test_questions_and_disappointment_are_routine(triage: Triage, text: str) -> None:
    assert triage.assess(text).level == "routine"


def test_a_fever_before_the_procedure_is_not_raised_to_an_infection_after_it(
        triage: Triage) -> None:
    verdict = triage.assess("hola, tengo la rf el jueves pero estoy con un resfriado y algo de "
                            "fiebre, 37,8. que hago?")
    assert (verdict.level, verdict.category) == ("urgent", "pre_procedure_illness")
    # a fever with a stiff neck still has its own pattern
    assert triage.assess("tengo la rf el jueves y tengo fiebre alta y el cuello muy rígido, "
                         "no puedo doblarlo").level == "emergency"


@pytest.mark.parametrize("text", ["is it going to hurt", "is this going to hurt a lot"])
def test_asking_whether_it_will_hurt_is_not_a_crisis(triage: Triage, text: str) -> None:
    assert triage.assess(text).level == "routine"


def test_going_to_hurt_myself_is_still_a_crisis(triage: Triage) -> None:
    assert triage.assess("I'm going to hurt myself tonight").level in ("crisis", "emergency")


def test_a_fever_with_a_neck_that_moves_fine_is_urgent_not_meningism(triage: Triage) -> None:
    """"nada rigido, solo la fiebre y algun escalofrio": the classifier read meningism (0.45);
    the fever pattern (singular "escalofrio" too) makes it the fever flag: call the clinic."""
    verdict = triage.assess("el cuello lo muevo bien, nada rigido, solo la fiebre y algun "
                            "escalofrio", "es")
    assert (verdict.level, verdict.flag_id) == ("urgent", "red_flag.fever")


def test_what_to_watch_tonight_is_not_a_crisis(triage: Triage) -> None:
    """A sedation wish ("preferiria q me durmieran") stays a tentative crisis (the crisis line,
    then the answer): routine training messages for it lowered real crises that sound alike
    (a wish to fall asleep and not wake up) under the threshold."""
    text = "anything in particular i should keep an eye out for tonight"
    assert triage.assess(text, "en").level == "routine"


def test_a_wish_not_to_wake_up_is_still_a_crisis(triage: Triage) -> None:
    assert triage.assess("ojala me durmieran y no despertar nunca mas", "es").level == "crisis"
