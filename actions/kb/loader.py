"""Read and validate the clinic's protocol from a folder of YAML files.

Why: clinical staff edit these files by hand. Every problem must come back as one line naming
the file, the entry and what is wrong, and a KB with any problem is never loaded.
"""

from __future__ import annotations

import hashlib
import string
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Union

import yaml
from pydantic import BaseModel, ValidationError

from actions.kb import schema
from actions.kb.keys import REQUIRED_ANSWER_KEYS, allowed_placeholders

SINGLE_SECTIONS: dict[str, type[schema.Reviewed]] = {
    "clinic": schema.Clinic,
    "fasting": schema.FastingPolicy,
}
LIST_SECTIONS: dict[str, type[schema.Reviewed]] = {
    "procedures": schema.Procedure,
    "medications": schema.Medication,
    "answers": schema.Answer,
    "red_flags": schema.RedFlag,
    "screening": schema.ScreeningItem,
}


@dataclass(frozen=True, order=True)
class Problem:
    """One validation problem, printed as `file: entry: message`."""

    file: str
    entry_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.entry_id}: {self.message}"


@dataclass
class KbContent:
    """The validated protocol, plus where each entry came from."""

    clinic: schema.Clinic
    fasting: schema.FastingPolicy
    procedures: list[schema.Procedure]
    medications: list[schema.Medication]
    answers: list[schema.Answer]
    red_flags: list[schema.RedFlag]
    screening: list[schema.ScreeningItem]
    fingerprint: str
    source_files: dict[str, str] = field(default_factory=dict)  # entry id -> file

    def all_entries(self) -> Iterator[schema.Reviewed]:
        """Every entry, in a stable order."""
        yield self.clinic
        yield self.fasting
        for group in (
            self.procedures,
            self.medications,
            self.answers,
            self.red_flags,
            self.screening,
        ):
            yield from group


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def _describe(error: dict[str, Any]) -> str:
    """Turn one pydantic error into plain words for a clinician."""
    location = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"missing field '{location}'"
    if error["type"] == "extra_forbidden":
        return f"unknown key '{location}'"
    return f"{location}: {message}" if location else message


def _parse_entry(
    model: type[schema.Reviewed], raw: Any, file: str, fallback_id: str, problems: list[Problem]
) -> schema.Reviewed | None:
    if not isinstance(raw, dict):
        problems.append(Problem(file, fallback_id, "expected a mapping of fields"))
        return None
    entry_id = str(raw.get("id") or fallback_id)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            problems.append(Problem(file, entry_id, _describe(dict(error))))
        return None


def _read_files(directory: Path, problems: list[Problem]) -> list[tuple[str, Any]]:
    files = sorted(p for p in directory.rglob("*") if p.suffix in {".yml", ".yaml"})
    if not files:
        problems.append(Problem(str(directory), "-", "no YAML files found"))
    documents = []
    for path in files:
        name = str(path.relative_to(directory))
        try:
            documents.append((name, yaml.load(path.read_text("utf-8"), _UniqueKeyLoader)))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            where = f"line {mark.line + 1}" if mark else "-"
            reason = getattr(exc, "problem", None) or str(exc)
            problems.append(Problem(name, where, f"YAML syntax error: {reason}"))
        except UnicodeDecodeError:
            problems.append(Problem(name, "-", "file is not UTF-8 text"))
    return documents


def fingerprint(directory: Path) -> str:
    """A hash of every YAML file's name and bytes: changes whenever the content changes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.suffix in {".yml", ".yaml"}):
        digest.update(str(path.relative_to(directory)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load_kb(directory: Path) -> tuple[KbContent | None, list[Problem]]:
    """Parse and validate every YAML file in `directory`; content is None if any problem."""
    problems: list[Problem] = []
    if not directory.is_dir():
        return None, [Problem(str(directory), "-", "folder does not exist")]
    singles: dict[str, list[tuple[str, schema.Reviewed]]] = {k: [] for k in SINGLE_SECTIONS}
    lists: dict[str, list[tuple[str, schema.Reviewed]]] = {k: [] for k in LIST_SECTIONS}
    raw_ids: list[tuple[str, str]] = []

    for name, document in _read_files(directory, problems):
        if document is None:
            continue
        if not isinstance(document, dict) or len(document) != 1:
            problems.append(
                Problem(name, "-", "a KB file must have exactly one top-level section "
                        f"({', '.join([*SINGLE_SECTIONS, *LIST_SECTIONS])})")
            )
            continue
        section, body = next(iter(document.items()))
        if section in SINGLE_SECTIONS:
            raw_ids.append((name, str(body.get("id")) if isinstance(body, dict) else "-"))
            entry = _parse_entry(SINGLE_SECTIONS[section], body, name, section, problems)
            if entry is not None:
                singles[section].append((name, entry))
        elif section in LIST_SECTIONS:
            if not isinstance(body, list):
                problems.append(Problem(name, "-", f"'{section}' must be a list of entries"))
                continue
            for index, raw in enumerate(body):
                fallback = f"{section}[{index}]"
                if isinstance(raw, dict):
                    raw_ids.append((name, str(raw.get("id", fallback))))
                entry = _parse_entry(LIST_SECTIONS[section], raw, name, fallback, problems)
                if entry is not None:
                    lists[section].append((name, entry))
        else:
            problems.append(Problem(name, "-", f"unknown section '{section}'"))

    problems.extend(_duplicate_ids(raw_ids))
    for section, found in singles.items():
        if len(found) != 1:
            where = ", ".join(n for n, _ in found) or str(directory)
            problems.append(Problem(where, section, f"expected exactly one '{section}' "
                                    f"section, found {len(found)}"))
    if problems:
        return None, sorted(set(problems))

    content = KbContent(
        clinic=singles["clinic"][0][1],  # type: ignore[arg-type]
        fasting=singles["fasting"][0][1],  # type: ignore[arg-type]
        procedures=[e for _, e in lists["procedures"]],  # type: ignore[misc]
        medications=[e for _, e in lists["medications"]],  # type: ignore[misc]
        answers=[e for _, e in lists["answers"]],  # type: ignore[misc]
        red_flags=[e for _, e in lists["red_flags"]],  # type: ignore[misc]
        screening=[e for _, e in lists["screening"]],  # type: ignore[misc]
        fingerprint=fingerprint(directory),
        source_files={e.id: n for group in (*singles.values(), *lists.values()) for n, e in group},
    )
    problems.extend(_cross_checks(content))
    return (None if problems else content), sorted(set(problems))


def _duplicate_ids(raw_ids: list[tuple[str, str]]) -> list[Problem]:
    counts = Counter(entry_id for _, entry_id in raw_ids)
    return [
        Problem(name, entry_id, f"duplicate id (used {counts[entry_id]} times)")
        for name, entry_id in raw_ids
        if counts[entry_id] > 1
    ]


_Add = Callable[[Union[BaseModel, str], str], None]


def _approved(entry: schema.Reviewed) -> bool:
    return entry.status is schema.Status.approved


def _cross_checks(kb: KbContent) -> list[Problem]:
    """Checks that need several entries at once: references, coverage, ambiguity."""
    problems: list[Problem] = []

    def add(entry: BaseModel | str, message: str) -> None:
        entry_id = entry if isinstance(entry, str) else getattr(entry, "id", "-")
        problems.append(Problem(kb.source_files.get(entry_id, "(all files)"), entry_id, message))

    for single in (kb.clinic, kb.fasting):
        if not _approved(single):
            add(single, "must be approved: the assistant cannot run without it")

    sites = {p.site for p in kb.procedures if _approved(p)}
    for site in (schema.Site.lumbar, schema.Site.cervical):
        if site not in sites:
            add("procedures", f"no approved procedure for site '{site.value}'")
    _site_checks(kb, add)
    _medication_checks(kb, add)
    _answer_checks(kb, add)

    if not any(f.action is schema.RedFlagAction.emergency and _approved(f) for f in kb.red_flags):
        add("red_flags", "no approved red flag with action 'emergency'")
    return problems


def _site_checks(kb: KbContent, add: _Add) -> None:
    seen: dict[str, str] = {}
    for proc in kb.procedures:
        if sum(1 for p in kb.procedures if p.site == proc.site and _approved(p)) > 1:
            add(proc, f"more than one approved procedure for site '{proc.site.value}'")
        for term in proc.site_terms:
            other = seen.setdefault(term.lower(), proc.id)
            if other != proc.id:
                add(proc, f"site term '{term}' is also used by '{other}'")


def _medication_checks(kb: KbContent, add: _Add) -> None:
    owner: dict[str, str] = {}
    for med in kb.medications:
        names = [med.generic, *med.brands.us, *med.brands.uk, *med.brands.es, *med.misspellings]
        for name in {n.lower() for n in names}:
            other = owner.setdefault(name, med.id)
            if other != med.id:
                add(med, f"name '{name}' also belongs to '{other}': a name must point to "
                         "exactly one drug")


def _answer_checks(kb: KbContent, add: _Add) -> None:
    by_key: dict[str, list[schema.Answer]] = {}
    for answer in kb.answers:
        allowed = allowed_placeholders(answer.key)
        if allowed is None:
            add(answer, f"unknown answer key '{answer.key}' (the assistant never asks for it)")
            continue
        for _, name, _, _ in string.Formatter().parse(answer.text):
            if name is not None and name not in allowed:
                add(answer, f"unknown placeholder '{{{name}}}' for key '{answer.key}'; "
                            f"allowed: {', '.join(sorted(allowed))}")
        if _approved(answer):
            by_key.setdefault(answer.key, []).append(answer)

    for key, group in by_key.items():
        site_counts = Counter(a.site for a in group)
        for site, count in site_counts.items():
            if count > 1:
                for answer in group:
                    if answer.site == site:
                        add(answer, f"{count} approved answers for key '{key}' and site "
                                    f"'{site.value}'; keep one")
    for key in REQUIRED_ANSWER_KEYS:
        group = by_key.get(key, [])
        covered = {a.site for a in group}
        both_sites = {schema.Site.lumbar, schema.Site.cervical} <= covered
        if schema.Site.any not in covered and not both_sites:
            add("answers", f"no approved answer for required key '{key}' "
                           "(needs site 'any', or both 'lumbar' and 'cervical')")
