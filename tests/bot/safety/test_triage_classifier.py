"""The triage classifier: deterministic, its fast path equals scikit-learn's."""

import numpy as np
import scipy.sparse as sparse

from bot.safety.classifier import (
    Example,
    TriageClassifier,
    decide,
    default_examples,
    load_nlu_routine_examples,
)
from bot.safety.rules import normalise


def small_examples() -> list:
    examples = default_examples()
    return examples[::4]


def test_fitting_twice_gives_the_same_model() -> None:
    examples = small_examples()
    first, second = TriageClassifier.fit(examples), TriageClassifier.fit(examples)
    texts = ["i cant feel my legs", "no tengo fiebre", "what if i get a fever?"]
    for text in texts:
        assert np.array_equal(first.probabilities(text), second.probabilities(text))
    assert first.categories == second.categories


def test_fast_single_message_path_equals_predict_proba() -> None:
    model = TriageClassifier.fit(small_examples())
    texts = ["cant fell my legs", "me duele el pecho", "hello", "", "🙂"]
    features = sparse.hstack([v.transform([normalise(t) for t in texts])
                              for v in model._vectorizers]).tocsr()
    expected = model._model.predict_proba(features)
    for row, text in zip(expected, texts, strict=True):
        assert np.allclose(model.probabilities(text), row, atol=1e-6)


def test_levels_are_sums_of_their_categories() -> None:
    model = TriageClassifier.fit(small_examples())
    scores = model.scores("my chest is tight and I cant breathe")
    assert abs(sum(scores.level_probabilities.values()) - 1.0) < 1e-6
    level, category = decide(scores, {"emergency": 0.3, "crisis": 0.3, "urgent": 0.3})
    assert level == "emergency" and category == "chest_breathing"


def test_a_category_with_two_levels_is_refused() -> None:
    examples = [Example("a", "routine", "x"), Example("b", "urgent", "x")]
    try:
        TriageClassifier.fit(examples)
    except ValueError as error:
        assert "both" in str(error)
    else:
        raise AssertionError("expected a ValueError")


def test_nlu_negatives_are_routine_questions_without_markup() -> None:
    examples = load_nlu_routine_examples()
    assert len(examples) > 300
    assert all(e.level == "routine" and e.category == "other_question" for e in examples)
    assert not any("]{" in e.text or "](" in e.text for e in examples)
