"""The KB export (`$DATA_DIR/generated/patient_texts.json`) for tests in the Rasa environment.

Why a subprocess: the export is written by actions/kb/export.py, which needs the action-server
environment (pydantic 2, SQLAlchemy 2); the Rasa environment cannot import it. Running the
same code `make kb` runs gives the Rasa-side tests the clinic's real approved texts, so they
never carry a copy that could drift from the KB. ACTIONS_PYTHON overrides the interpreter.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ACTIONS_PYTHON = REPO / ".venv" / "actions" / "bin" / "python"
EXPORT_NAME = "patient_texts.json"

_WRITE = """
import sys
from pathlib import Path
from actions.kb.export import write_patient_texts
from actions.kb.loader import load_kb
content, problems = load_kb(Path("data/kb"), sys.argv[2])
if content is None:
    sys.exit("\\n".join(map(str, problems)))
print(write_patient_texts(content, Path(sys.argv[1])))
"""


def write_export(data_dir: Path, clinic: str = "us_example") -> Path:
    """Write the clinic's export into `data_dir/generated/` and return its path."""
    python = Path(os.environ.get("ACTIONS_PYTHON") or ACTIONS_PYTHON)
    if not python.exists():
        raise RuntimeError(f"{python} is missing: run `make env` (the KB export needs the "
                           "action-server environment)")
    result = subprocess.run([str(python), "-c", _WRITE, str(data_dir), clinic], cwd=REPO,
                            capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"the KB export failed:\n{result.stderr}")
    path = data_dir / "generated" / EXPORT_NAME
    assert path.exists(), result.stdout
    return path
