"""The scikit-learn intent model behind `TopicClassifier` (no Rasa import: the benchmark and
the tests train it directly).

Features: TF-IDF of word 1-2 grams and of character 2-5 grams inside word boundaries
(`char_wb`), both on `bot.nlu.text.normalise`d text (no case, accents or apostrophes), so
"sedacion", "Sedación" and "sedaciòn" are one word and "xeralto", "ibuprofin" or "nite" still
share most character grams with the spelling seen in training. Optionally a sentence
embedding (see `bot.nlu.embeddings`) is appended. Classifier: multinomial logistic regression
(probabilities are used as confidences) or a linear SVM calibrated by cross-validation.
"""

from typing import Any, Dict, List, Optional, Protocol, Sequence, Text, Tuple

import numpy as np
from scipy import sparse
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from bot.nlu.text import normalise


class Embedder(Protocol):
    """Anything that turns texts into a dense (n, d) array of L2-normalised vectors."""

    def encode(self, texts: Sequence[Text]) -> np.ndarray:
        """One vector per text."""


DEFAULTS: Dict[Text, Any] = {
    "classifier": "logreg",  # logreg | svm
    "C": 20.0,
    "word_ngrams": (1, 2),
    "char_ngrams": (2, 5),
    "min_df": 1,
    "sublinear_tf": True,
    "class_weight": "balanced",
    "embedding_weight": 1.0,  # scale of the embedding block next to the TF-IDF blocks
    "random_state": 42,
}


class IntentModel:
    """TF-IDF (+ optional sentence embedding) features and a linear classifier."""

    def __init__(self, embedder: Optional[Embedder] = None, **config: Any) -> None:
        self.config: Dict[Text, Any] = {**DEFAULTS, **config}
        self.embedder = embedder
        self.features: Optional[FeatureUnion] = None
        self.classifier: Any = None
        self.classes: List[Text] = []

    def _vectorizer(self) -> FeatureUnion:
        word_low, word_high = self.config["word_ngrams"]
        char_low, char_high = self.config["char_ngrams"]
        return FeatureUnion(
            [
                (
                    "words",
                    TfidfVectorizer(
                        analyzer="word",
                        ngram_range=(int(word_low), int(word_high)),
                        token_pattern=r"(?u)\b\w+\b",
                        min_df=self.config["min_df"],
                        sublinear_tf=self.config["sublinear_tf"],
                    ),
                ),
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=(int(char_low), int(char_high)),
                        min_df=self.config["min_df"],
                        sublinear_tf=self.config["sublinear_tf"],
                    ),
                ),
            ]
        )

    def _matrix(self, texts: Sequence[Text], fit: bool = False) -> Any:
        normalised = [normalise(text) for text in texts]
        assert self.features is not None
        tfidf = self.features.fit_transform(normalised) if fit else self.features.transform(
            normalised
        )
        if self.embedder is None:
            return tfidf
        dense = self.embedder.encode(list(texts)) * float(self.config["embedding_weight"])
        return sparse.hstack([tfidf, sparse.csr_matrix(dense)]).tocsr()

    def fit(self, texts: Sequence[Text], labels: Sequence[Text]) -> "IntentModel":
        """Trains on parallel lists of texts and intent names."""
        self.features = self._vectorizer()
        matrix = self._matrix(texts, fit=True)
        if self.config["classifier"] == "svm":
            base = LinearSVC(
                C=float(self.config["C"]),
                class_weight=self.config["class_weight"],
                random_state=self.config["random_state"],
            )
            self.classifier = CalibratedClassifierCV(base, cv=3, method="sigmoid")
        else:
            self.classifier = LogisticRegression(
                C=float(self.config["C"]),
                max_iter=2000,
                class_weight=self.config["class_weight"],
                random_state=self.config["random_state"],
            )
        self.classifier.fit(matrix, np.asarray(labels))
        self.classes = [str(label) for label in self.classifier.classes_]
        return self

    def predict_proba(self, texts: Sequence[Text]) -> np.ndarray:
        """(n, len(classes)) probabilities; columns follow `classes`."""
        if not texts:
            return np.zeros((0, len(self.classes)))
        return np.asarray(self.classifier.predict_proba(self._matrix(texts)))

    def rank(self, text: Text) -> List[Tuple[Text, float]]:
        """Intents of one text, most likely first."""
        probabilities = self.predict_proba([text])[0]
        order = np.argsort(-probabilities)
        return [(self.classes[i], float(probabilities[i])) for i in order]

    def __getstate__(self) -> Dict[Text, Any]:
        state = dict(self.__dict__)
        state["embedder"] = None  # reloaded by the component, never pickled
        return state
