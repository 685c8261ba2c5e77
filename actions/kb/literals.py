"""Find patient-facing sentences written in code instead of the KB (`make kb-check`).

Why: every sentence a patient sees must be an approved KB text, reviewed and translatable. A
sentence typed into a channel, an action or the widget would bypass both. This check scans the
code that produces patient output — Python (bot/, actions/, common/), the widget's JavaScript
(web/*.js), the page (web/*.html) and domain.yml — for literals that read like sentences, and
fails with one line per finding: file:line: the text.

What counts as a sentence: at least three words of letters with spaces, and at least 12 letters
(so identifiers, keys, SQL, regexes and short labels like "Forbidden" pass). Never flagged:
docstrings, comments, log and print calls, exception messages, argparse help, regular
expressions, and strings in lines marked `# not patient-facing: <why>`.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

# The code that produces what patients see (staff tooling such as actions/kb prints to staff).
PYTHON_FOLDERS = ("bot", "common", "actions/conversation")
PYTHON_FILES = ("actions/respond.py", "actions/handoff.py", "actions/unavailable.py")
JS_GLOBS = ("web/*.js",)
HTML_GLOBS = ("web/*.html",)
YAML_FILES = ("domain.yml",)
SKIP_PARTS = {"__pycache__", "generated", "tests"}
# Staff tooling inside those folders: command-line reports for the care team, never sent to a
# patient (the bench report and `make alerts`).
STAFF_FILES = ("bot/safety/evaluation.py", "bot/safety/alerts.py",
               "common/volume_encryption.py")  # the operator's start-up warning
MARKER = "not patient-facing:"
_WORDS = re.compile(r"[A-Za-zÀ-ÿ]+")
_LOG_NAMES = {"debug", "info", "warning", "warn", "error", "exception", "critical", "log",
              "print", "add_argument", "ArgumentParser", "compile", "search", "match",
              "fullmatch", "sub", "findall", "finditer", "split", "escape", "exit",
              "SystemExit", "getLogger", "text", "execute", "exec_driver_sql"}


@dataclass(frozen=True, order=True)
class Finding:
    """One sentence found in code."""

    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: patient-facing text belongs in data/kb/texts: " \
               f"{self.text[:80]!r}"


_NOT_PROSE = re.compile(r"[/;=<>{}\[\]_@#$%^&*|\\~]")


def looks_like_sentence(text: str) -> bool:
    """Natural-language text: three or more words (two in lower case), at least 12 letters,
    and none of the characters of code, markup, MIME types, SQL or regular expressions."""
    words = _WORDS.findall(text)
    lower = [w for w in words if w.islower() and len(w) > 1]
    return (len(words) >= 3 and len(lower) >= 2 and sum(len(w) for w in words) >= 12
            and " " in text.strip() and not _NOT_PROSE.search(text) and "--" not in text)


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


class _Visitor(ast.NodeVisitor):
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.found: list[tuple[int, str]] = []
        self._skip: set[int] = set()

    def _skip_docstring(self, node: ast.AST) -> None:
        body = getattr(node, "body", None)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            self._skip.add(id(body[0].value))

    def visit_Module(self, node: ast.Module) -> None:
        self._skip_docstring(node)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._skip_docstring(node)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._skip_docstring(node)
        self.generic_visit(node)

    def _skip_all(self, node: ast.AST) -> None:
        for child in ast.walk(node):
            self._skip.add(id(child))

    def visit_Call(self, node: ast.Call) -> None:
        if _call_name(node) in _LOG_NAMES:
            self._skip_all(node)
        self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        self._skip_all(node)

    def visit_Assert(self, node: ast.Assert) -> None:
        self._skip_all(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if id(node) in self._skip or not isinstance(node.value, str):
            return
        line = self.lines[node.lineno - 1] if node.lineno - 1 < len(self.lines) else ""
        if MARKER in line:
            return
        if looks_like_sentence(node.value):
            self.found.append((node.lineno, node.value))


def scan_python(path: Path) -> list[tuple[int, str]]:
    """Sentences in one Python file."""
    source = path.read_text("utf-8")
    visitor = _Visitor(source.splitlines())
    visitor.visit(ast.parse(source))
    return visitor.found


_JS_STRING = re.compile(r"""(?<![\w$])(["'`])((?:\\.|(?!\1).)*)\1""")
_JS_COMMENT = re.compile(r"/\*[\s\S]*?\*/|(?<![:\\])//[^\n]*")


def scan_js(path: Path) -> list[tuple[int, str]]:
    """Sentences in string literals of one script (comments removed first)."""
    source = path.read_text("utf-8")
    stripped = _JS_COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), source)
    found = []
    for match in _JS_STRING.finditer(stripped):
        line_no = stripped.count("\n", 0, match.start()) + 1
        line = source.splitlines()[line_no - 1]
        if MARKER not in line and looks_like_sentence(match.group(2)):
            found.append((line_no, match.group(2)))
    return found


_HTML_TEXT = re.compile(r">([^<>{}]+)<")


def scan_html(path: Path) -> list[tuple[int, str]]:
    """Sentences between tags of a page (its texts are {{PLACEHOLDERS}} filled from the KB)."""
    source = path.read_text("utf-8")
    return [(source.count("\n", 0, m.start()) + 1, m.group(1).strip())
            for m in _HTML_TEXT.finditer(source) if looks_like_sentence(m.group(1))]


_YAML_TEXT = re.compile(r"^\s*-?\s*text:\s*(.+)$", re.MULTILINE)


def scan_domain(path: Path) -> list[tuple[int, str]]:
    """Response texts in domain.yml (only placeholders such as "{triage_text}" may stand)."""
    source = path.read_text("utf-8")
    return [(source.count("\n", 0, m.start()) + 1, m.group(1).strip().strip("'\""))
            for m in _YAML_TEXT.finditer(source)
            if looks_like_sentence(re.sub(r"\{\w+\}", "", m.group(1)))]


def _python_files(root: Path) -> Iterator[Path]:
    for folder in PYTHON_FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            relative = path.relative_to(root)
            if not SKIP_PARTS & set(relative.parts) and relative.as_posix() not in STAFF_FILES:
                yield path
    for name in PYTHON_FILES:
        if (root / name).exists():
            yield root / name


def scan(root: Path) -> list[Finding]:
    """Every patient-facing sentence in the repository's code."""
    findings: list[Finding] = []
    for path in _python_files(root):
        findings += [Finding(str(path.relative_to(root)), n, t) for n, t in scan_python(path)]
    for pattern, scanner in ((JS_GLOBS, scan_js), (HTML_GLOBS, scan_html)):
        for glob in pattern:
            for path in sorted(root.glob(glob)):
                findings += [Finding(str(path.relative_to(root)), n, t) for n, t in scanner(path)]
    for name in YAML_FILES:
        path = root / name
        if path.exists():
            findings += [Finding(name, n, t) for n, t in scan_domain(path)]
    return sorted(findings)


def main(argv: list[str] | None = None) -> int:
    """Print the findings; exit 1 if any."""
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[2]
    findings = scan(root)
    for finding in findings:
        print(finding, file=sys.stderr)
    if findings:
        print(f"LITERALS FAILED: {len(findings)} patient-facing text(s) in code", file=sys.stderr)
        return 1
    print("No patient-facing text in code")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
