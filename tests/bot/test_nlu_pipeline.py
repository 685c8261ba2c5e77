"""End to end: both components in a trained Rasa pipeline, loaded and parsing like the server.

Proves the registration (config names resolve, graph validation accepts the signatures) and
that `create` runs at model load with the config from config.yml.
"""

import asyncio
import textwrap
from pathlib import Path
from typing import Any, Dict

import pytest

NLU_DATA = """
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi there
    - good morning
- intent: ask_medication
  examples: |
    - should I stop my blood thinner
    - do I keep taking my pills
    - which medicines do I stop before the procedure
- intent: report_emergency
  examples: |
    - I need help now
    - this is an emergency
    - something is very wrong
"""


def write_config(path: Path, vocabulary_path: Path) -> None:
    path.write_text(
        textwrap.dedent(
            f"""
            recipe: default.v1
            assistant_id: nlu-pipeline-test
            language: en
            pipeline:
              - name: WhitespaceTokenizer
              - name: CountVectorsFeaturizer
              - name: DIETClassifier
                epochs: 1
              - name: bot.nlu.prep_entity_extractor.PrepEntityExtractor
                vocabulary_path: "{vocabulary_path}"
              - name: bot.nlu.red_flag_detector.RedFlagDetector
                vocabulary_path: "{vocabulary_path}"
              - name: FallbackClassifier
                threshold: 0.3
                ambiguity_threshold: 0.1
            """
        )
    )


async def parse(model_path: str, text: str) -> Dict[str, Any]:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    return await agent.parse_message(text)


@pytest.mark.slow
def test_trained_pipeline_uses_both_components(
    tmp_path: Path, vocabulary_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rasa.model_training import train_nlu

    # keep Rasa's training cache out of the work tree (default: ./.rasa/cache)
    monkeypatch.setenv("RASA_CACHE_DIRECTORY", str(tmp_path / "cache"))

    config = tmp_path / "config.yml"
    write_config(config, vocabulary_path)
    nlu = tmp_path / "nlu.yml"
    nlu.write_text(NLU_DATA)

    model_path = train_nlu(str(config), str(nlu), str(tmp_path / "models"), fixed_model_name="nlu")
    assert model_path is not None and Path(model_path).is_file()

    text = "I take Xarelto for my lower back and cant feel my legs"
    result = asyncio.run(parse(model_path, text))

    assert result["intent"] == {"name": "report_emergency", "confidence": 1.0}
    assert result["intent_ranking"][0]["name"] == "report_emergency"
    entities = {(e["entity"], e["value"], e["extractor"]) for e in result["entities"]}
    assert entities >= {
        ("medication", "rivaroxaban", "PrepEntityExtractor"),
        ("procedure_site", "lumbar", "PrepEntityExtractor"),
        ("red_flag", "red_flag.weakness", "RedFlagDetector"),
    }

    # one DIET epoch is noise, so only the rule-based parts are asserted here
    calm = asyncio.run(parse(model_path, "should I stop eliquis before my neck procedure"))
    assert {(e["entity"], e["value"]) for e in calm["entities"]} == {
        ("medication", "apixaban"),
        ("procedure_site", "cervical"),
    }
