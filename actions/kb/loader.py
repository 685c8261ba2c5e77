"""Read and validate the clinic's protocol from a folder of YAML files.

Why: clinical staff edit these files by hand. Every problem must come back as one line naming
the file, the entry and what is wrong, and a KB with any problem is never loaded.
"""

from __future__ import annotations

import hashlib
import os
import string
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Union

import yaml
from pydantic import BaseModel, ValidationError

from actions.kb import schema
from actions.kb.registry import Registry
from actions.kb.render import GLOBAL_PLACEHOLDERS, template_values

SINGLE_SECTIONS: dict[str, type[schema.Reviewed]] = {
    "fasting": schema.FastingPolicy,
}
LIST_SECTIONS: dict[str, type[schema.Reviewed]] = {
    "procedures": schema.Procedure,
    "medications": schema.Medication,
    "red_flags": schema.RedFlag,
    "screening": schema.ScreeningItem,
}
CLINICS_DIR = "clinics"  # one profile per file: clinics/<name>.yml with a `clinic:` section
TEXTS_DIR = "texts"  # texts/<language>/*.yml with a `texts:` list
REGISTRY_FILE = "topics.yml"  # the topic registry (`registry:` section)
DEFAULT_CLINIC = "us_example"
CLINIC_ENV = "KB_CLINIC"


def selected_clinic(name: str | None = None) -> str:
    """The clinic profile to load: the argument, else KB_CLINIC, else the US example."""
    return name or os.environ.get(CLINIC_ENV) or DEFAULT_CLINIC


@dataclass(frozen=True, order=True)
class Problem:
    """One validation problem, printed as `file: entry: message`."""

    file: str
    entry_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.entry_id}: {self.message}"


@dataclass(frozen=True)
class LoadedText:
    """A text entry with the language its folder gave it."""

    language: schema.Language
    entry: schema.TextEntry

    @property
    def id(self) -> str:
        """The entry id staff see (explicit or derived)."""
        return self.entry.entry_id(self.language)


@dataclass
class KbContent:
    """The validated protocol, plus where each entry came from."""

    clinic: schema.Clinic
    clinic_profile: str  # the file name under clinics/ (KB_CLINIC)
    fasting: schema.FastingPolicy
    procedures: list[schema.Procedure]
    medications: list[schema.Medication]
    red_flags: list[schema.RedFlag]
    screening: list[schema.ScreeningItem]
    registry: Registry
    texts: list[LoadedText]
    fingerprint: str
    source_files: dict[str, str] = field(default_factory=dict)  # entry id -> file

    def all_entries(self) -> Iterator[schema.ReviewFields]:
        """Every reviewed entry, in a stable order."""
        yield self.clinic
        yield self.fasting
        for group in (self.procedures, self.medications, self.red_flags, self.screening):
            yield from group
        for text in self.texts:
            yield text.entry

    def approved_texts(self, language: schema.Language) -> list[LoadedText]:
        """Approved texts of one language."""
        return [t for t in self.texts
                if t.language is language and t.entry.status is schema.Status.approved]


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


def _yaml_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in {".yml", ".yaml"})


def _read_files(directory: Path, problems: list[Problem]) -> list[tuple[str, Any]]:
    files = _yaml_files(directory)
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


def fingerprint(directory: Path, clinic_profile: str = "") -> str:
    """A hash of every YAML file's name and bytes and the selected profile."""
    digest = hashlib.sha256(clinic_profile.encode())
    for path in _yaml_files(directory):
        digest.update(str(path.relative_to(directory)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class _Collected:
    """What the files held, before cross checks."""

    singles: dict[str, list[tuple[str, schema.Reviewed]]]
    lists: dict[str, list[tuple[str, schema.Reviewed]]]
    clinics: dict[str, schema.Clinic] = field(default_factory=dict)
    registry: list[tuple[str, Registry]] = field(default_factory=list)
    texts: list[tuple[str, LoadedText]] = field(default_factory=list)
    raw_ids: list[tuple[str, str]] = field(default_factory=list)


def _text_language(name: str) -> schema.Language | None:
    parts = Path(name).parts
    if len(parts) >= 3 and parts[0] == TEXTS_DIR:
        try:
            return schema.Language(parts[1])
        except ValueError:
            return None
    return None


def _collect_texts(name: str, body: Any, found: _Collected, problems: list[Problem]) -> None:
    language = _text_language(name)
    if language is None:
        problems.append(Problem(name, "-", f"texts must be in {TEXTS_DIR}/<language>/ with a "
                                f"language of {[lang.value for lang in schema.Language]}"))
        return
    if not isinstance(body, list):
        problems.append(Problem(name, "-", "'texts' must be a list of entries"))
        return
    for index, raw in enumerate(body):
        fallback = f"texts[{index}]"
        if isinstance(raw, dict) and raw.get("key"):
            fallback = f"text.{language.value}.{raw['key']}"
            if raw.get("site") not in (None, "any"):
                fallback += f".{raw['site']}"
        entry = _parse_entry(schema.TextEntry, raw, name, fallback, problems)  # type: ignore[arg-type]
        if entry is not None:
            loaded = LoadedText(language, entry)  # type: ignore[arg-type]
            found.raw_ids.append((name, loaded.id))
            found.texts.append((name, loaded))


def _collect(directory: Path, problems: list[Problem]) -> _Collected:
    found = _Collected({k: [] for k in SINGLE_SECTIONS}, {k: [] for k in LIST_SECTIONS})
    sections = ", ".join([*SINGLE_SECTIONS, *LIST_SECTIONS, "clinic", "registry", "texts"])
    for name, document in _read_files(directory, problems):
        if document is None:
            continue
        if not isinstance(document, dict) or len(document) != 1:
            problems.append(Problem(name, "-", "a KB file must have exactly one top-level "
                                    f"section ({sections})"))
            continue
        section, body = next(iter(document.items()))
        if section == "clinic":
            if Path(name).parent.name != CLINICS_DIR:
                problems.append(Problem(name, "clinic", f"clinic profiles go in {CLINICS_DIR}/"))
                continue
            entry = _parse_entry(schema.Clinic, body, name, "clinic", problems)
            if entry is not None:
                found.clinics[Path(name).stem] = entry  # type: ignore[assignment]
        elif section == "registry":
            try:
                found.registry.append((name, Registry.model_validate(body)))
            except ValidationError as exc:
                for error in exc.errors():
                    problems.append(Problem(name, "registry", _describe(dict(error))))
        elif section == "texts":
            _collect_texts(name, body, found, problems)
        elif section in SINGLE_SECTIONS:
            found.raw_ids.append((name, str(body.get("id")) if isinstance(body, dict) else "-"))
            entry = _parse_entry(SINGLE_SECTIONS[section], body, name, section, problems)
            if entry is not None:
                found.singles[section].append((name, entry))
        elif section in LIST_SECTIONS:
            if not isinstance(body, list):
                problems.append(Problem(name, "-", f"'{section}' must be a list of entries"))
                continue
            for index, raw in enumerate(body):
                fallback = f"{section}[{index}]"
                if isinstance(raw, dict):
                    found.raw_ids.append((name, str(raw.get("id", fallback))))
                entry = _parse_entry(LIST_SECTIONS[section], raw, name, fallback, problems)
                if entry is not None:
                    found.lists[section].append((name, entry))
        else:
            problems.append(Problem(name, "-", f"unknown section '{section}'"))
    return found


def load_kb(
    directory: Path, clinic_profile: str | None = None
) -> tuple[KbContent | None, list[Problem]]:
    """Parse and validate every YAML file in `directory`; content is None if any problem.

    Every clinic profile under clinics/ is validated; `clinic_profile` (default: KB_CLINIC, else
    the US example) is the one loaded.
    """
    problems: list[Problem] = []
    if not directory.is_dir():
        return None, [Problem(str(directory), "-", "folder does not exist")]
    profile = selected_clinic(clinic_profile)
    found = _collect(directory, problems)
    problems.extend(_duplicate_ids(found.raw_ids))
    for section, entries in found.singles.items():
        if len(entries) != 1:
            where = ", ".join(n for n, _ in entries) or str(directory)
            problems.append(Problem(where, section, f"expected exactly one '{section}' "
                                    f"section, found {len(entries)}"))
    if len(found.registry) != 1:
        problems.append(Problem(REGISTRY_FILE, "registry", "expected exactly one 'registry' "
                                f"section, found {len(found.registry)}"))
    if profile not in found.clinics and not any(p.entry_id == "clinic" for p in problems):
        known = ", ".join(sorted(found.clinics)) or "none"
        problems.append(Problem(f"{CLINICS_DIR}/{profile}.yml", "clinic",
                                f"clinic profile '{profile}' not found (profiles: {known})"))
    if problems:
        return None, sorted(set(problems))

    source_files = {e.id: n for group in (*found.singles.values(), *found.lists.values())
                    for n, e in group}
    source_files.update({t.id: n for n, t in found.texts})
    source_files["clinic"] = f"{CLINICS_DIR}/{profile}.yml"
    content = KbContent(
        clinic=found.clinics[profile],
        clinic_profile=profile,
        fasting=found.singles["fasting"][0][1],  # type: ignore[arg-type]
        procedures=[e for _, e in found.lists["procedures"]],  # type: ignore[misc]
        medications=[e for _, e in found.lists["medications"]],  # type: ignore[misc]
        red_flags=[e for _, e in found.lists["red_flags"]],  # type: ignore[misc]
        screening=[e for _, e in found.lists["screening"]],  # type: ignore[misc]
        registry=found.registry[0][1],
        texts=[t for _, t in found.texts],
        fingerprint=fingerprint(directory, profile),
        source_files=source_files,
    )
    problems.extend(_cross_checks(content))
    for name, clinic in found.clinics.items():
        if clinic.default_language not in content.registry.languages:
            problems.append(Problem(f"{CLINICS_DIR}/{name}.yml", "clinic", "default_language "
                                    f"'{clinic.default_language.value}' is not a registry "
                                    "language"))
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
    _text_checks(kb, problems)

    if not any(f.level is schema.TriageLevel.emergency and _approved(f) for f in kb.red_flags):
        add("red_flags", "no approved red flag with level 'emergency'")
    _triage_category_checks(kb, add)
    return problems


def _triage_category_checks(kb: KbContent, add: _Add) -> None:
    """A topic may stand for an urgent category only: an emergency or crisis is never anything
    but itself, and a category no approved flag has would never match."""
    urgent = {f.category for f in kb.red_flags
              if _approved(f) and f.level is schema.TriageLevel.urgent}
    owner: dict[str, str] = {}
    for topic in kb.registry.topics:
        for category in topic.triage_categories:
            if category not in urgent:
                add("registry", f"topic '{topic.id}': triage category '{category}' is not "
                                   "the category of an approved urgent red flag")
            other = owner.setdefault(category, topic.id)
            if other != topic.id:
                add("registry", f"triage category '{category}' is listed by topics "
                                   f"'{other}' and '{topic.id}'")


def _site_checks(kb: KbContent, add: _Add) -> None:
    for proc in kb.procedures:
        if sum(1 for p in kb.procedures if p.site == proc.site and _approved(p)) > 1:
            add(proc, f"more than one approved procedure for site '{proc.site.value}'")
    for language in schema.Language:
        seen: dict[str, str] = {}
        for proc in kb.procedures:
            for term in proc.site_terms.get(language, []):
                other = seen.setdefault(term.lower(), proc.id)
                if other != proc.id:
                    add(proc, f"site term '{term}' ({language.value}) is also used by '{other}'")


def _medication_checks(kb: KbContent, add: _Add) -> None:
    owner: dict[str, str] = {}
    for med in kb.medications:
        names = [med.generic, *med.generic_names.values(), *med.brands.us, *med.brands.uk,
                 *med.brands.es, *med.misspellings]
        for name in {n.lower() for n in names}:
            other = owner.setdefault(name, med.id)
            if other != med.id:
                add(med, f"name '{name}' also belongs to '{other}': a name must point to "
                         "exactly one drug")
        if med.inr_check and med.drug_class is not schema.DrugClass.anticoagulant:
            add(med, "inr_check is only for anticoagulants (vitamin K antagonists)")


def text_requirements(kb: KbContent) -> dict[str, frozenset[str]]:
    """Every text key the assistant may show -> its extra placeholders (registry + KB items)."""
    required = kb.registry.required_text_keys()
    for flag in kb.red_flags:
        required[flag.text_key] = frozenset()
    for item in kb.screening:
        required[item.text_key] = frozenset()
    return required


def _per_site_keys(kb: KbContent) -> set[str]:
    keys: set[str] = set()
    for topic in kb.registry.topics:
        if topic.site.value == "per_site":
            for answer in topic.answers:
                keys.update(answer.text_keys())
    return keys


def _text_checks(kb: KbContent, problems: list[Problem]) -> None:
    """Every key known and covered in English; placeholders allowed; one text per key/site."""
    required = text_requirements(kb)
    per_site = _per_site_keys(kb)
    approved: dict[tuple[schema.Language, str], list[LoadedText]] = {}

    def add(text: LoadedText, message: str) -> None:
        problems.append(Problem(kb.source_files.get(text.id, "(texts)"), text.id, message))

    for text in kb.texts:
        entry = text.entry
        extras = required.get(entry.key)
        if extras is None:
            add(text, f"unknown text key '{entry.key}' (not in the registry, red flags or "
                      "screening; the assistant never shows it)")
            continue
        if entry.site is not schema.Site.any and entry.key not in per_site:
            add(text, f"key '{entry.key}' is not per-site in the registry; remove 'site'")
        allowed = GLOBAL_PLACEHOLDERS | extras
        for field_name, value in (("short", entry.short), ("detail", entry.detail)):
            for _, name, _, _ in string.Formatter().parse(value or ""):
                if name is not None and name not in allowed:
                    add(text, f"{field_name}: unknown placeholder '{{{name}}}' for key "
                              f"'{entry.key}'; allowed: {', '.join(sorted(allowed))}")
        if entry.status is schema.Status.approved:
            approved.setdefault((text.language, entry.key), []).append(text)

    for (language, key), group in approved.items():
        for site, count in Counter(t.entry.site for t in group).items():
            if count > 1:
                for text in group:
                    if text.entry.site is site:
                        add(text, f"{count} approved {language.value} texts for key '{key}' and "
                                  f"site '{site.value}'; keep one")
        if language is not schema.Language.en and (schema.Language.en, key) not in approved:
            add(group[0], f"no approved English text for '{key}': every translation needs one")

    _length_checks(kb, approved, add)

    for key in sorted(required):
        covered = {t.entry.site for t in approved.get((schema.Language.en, key), [])}
        if schema.Site.any not in covered and not (
            {schema.Site.lumbar, schema.Site.cervical} <= covered
        ):
            problems.append(Problem("texts/en", key, "no approved English text for required key "
                                    f"'{key}' (needs site 'any', or both 'lumbar' and 'cervical')"))


SMS_SEGMENT = 153  # GSM-7 characters per segment of a multi-part SMS
SHORT_LIMIT = 2 * SMS_SEGMENT  # a `short` text fits two segments (accents outside GSM-7 are folded)
DETAIL_LIMIT = 700
# Typical long values for the placeholders the conversation fills (dates in the longest form).
_SAMPLE_VALUES = {
    "drug": "aspirin and dipyridamole", "brands": "Coumadin, Marevan, Aldocumar",
    "drug_text": "x" * 40, "site_name": "your lower back", "date": "Wed, Dec 30, 2027, 10:30 am",
    "arrival": "Wed, Dec 30, 10:00 am", "procedure_start": "Wed, Dec 30, 10:30 am",
    "limit": "Sat, Dec 26, 10:30 am", "last_dose": "Sat, Dec 26, 8:00 am",
    "restart": "Thu, Dec 31, 10:30 am", "ask_by": "Tue, Dec 22",
    "light_meal_cutoff": "Wed, Dec 30, 4:00 am", "fatty_meal_cutoff": "Wed, Dec 30, 2:00 am",
    "clear_liquids_cutoff": "Wed, Dec 30, 8:00 am", "hold_days": "10", "hold_hours": "24",
    "renal_hold_days": "6", "restart_hours": "24", "max_length": "2000",
    "closes_at": "10:00 pm",
}


def _length_checks(kb: KbContent, approved: dict[tuple[schema.Language, str], list[LoadedText]],
                   add: Callable[[LoadedText, str], None]) -> None:
    """`short` fits two SMS segments (306 GSM-7 characters) and `detail` 700 once filled."""
    values: dict[str, str] = {**template_values(kb.clinic, kb.fasting, "Mon-Thu 08:00-17:00, "
                                                "Fri 08:00-16:00"), **_SAMPLE_VALUES}
    for group in approved.values():
        for text in group:
            for field_name, template, limit in (("short", text.entry.short, SHORT_LIMIT),
                                                ("detail", text.entry.detail, DETAIL_LIMIT)):
                if not template:
                    continue
                try:
                    filled = template.format_map(values)
                except (KeyError, ValueError, IndexError):
                    continue  # reported by the placeholder check
                if len(filled) > limit:
                    add(text, f"{field_name} is {len(filled)} characters once filled; keep it "
                              f"within {limit}")
