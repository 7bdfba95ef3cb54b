"""The medical review sheet: every medical text in six languages beside its source.

    python -m bot.review_sheet            # writes docs/medical-review.md
    python -m bot.review_sheet --check    # exit 1 when the checked-in sheet is stale

Generated from domain/*.yml (texts and their review comments, bot/source_text.py),
actions/data/procedures.yml (procedure facts), actions/data/clinic_overrides.yml (the
clinic's own reviewed texts) and docs/medical-signoff.yml (who signed off which text).
A sign-off holds only for the exact text it was given for (a short SHA-256 of the text).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from bot.clinic_overrides import (
    OVERRIDES_FILE,
    Override,
    fact_overrides,
    load_overrides,
    read_domain_responses,
    response_overrides,
    variation_language,
)
from bot.languages import RTL_LANGUAGES, SUPPORTED_LANGUAGES
from bot.source_text import ROOT, ReviewNotes, review_notes, section_of, source_sections

SHEET_FILE = ROOT / "docs" / "medical-review.md"
SIGNOFF_FILE = ROOT / "docs" / "medical-signoff.yml"
PROCEDURES_FILE = ROOT / "actions" / "data" / "procedures.yml"
# Every response of these files is on the sheet (and must name its source); elsewhere only
# responses with a `# source:` comment are.
REVIEW_FILES = ("medical.yml", "answering.yml", "clinic.yml")
LANGUAGE_NAMES = {
    "en": "English",
    "ar": "العربية",
    "tr": "Türkçe",
    "ru": "Русский",
    "de": "Deutsch",
    "fr": "Français",
}


@dataclass(frozen=True)
class Entry:
    key: str  # "utter_surgery" or "fact:microvascular_decompression.what_happens"
    title: str
    sections: tuple[str, ...]
    source_note: str  # a fact's `source` commentary, or why a text is not in the source
    notes: tuple[str, ...]
    flags: tuple[str, ...]
    texts: Mapping[str, str]
    override: Override | None


def text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def load_signoffs(path: Path = SIGNOFF_FILE) -> dict[str, dict[str, str]]:
    """'<key>/<language>' -> {sha, by, on}."""
    content = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    signoffs: dict[str, dict[str, str]] = {}
    for item in (content or {}).get("signoffs") or []:
        signoffs[str(item["id"])] = {k: str(item.get(k) or "") for k in ("sha", "by", "on")}
    return signoffs


def _response_entries(
    notes: Mapping[str, ReviewNotes],
    responses: Mapping[str, list[dict[str, Any]]],
    overrides: Mapping[str, Override],
) -> list[Entry]:
    entries = []
    for name, note in notes.items():
        if not (note.file in REVIEW_FILES or note.sections) or name not in responses:
            continue
        texts = {variation_language(v): str(v.get("text") or "") for v in responses[name]}
        override = overrides.get(name)
        entries.append(
            Entry(
                key=name,
                title=f"`{name}` ({note.file})",
                sections=note.sections,
                source_note=note.not_in_source,
                notes=note.notes,
                flags=note.flags,
                texts=dict(override.text) if override else texts,
                override=override,
            )
        )
    return entries


def _fact_entries(overrides: Mapping[str, Override]) -> list[Entry]:
    content = yaml.safe_load(PROCEDURES_FILE.read_text(encoding="utf-8"))
    entries = []
    for procedure, facts in content["procedures"].items():
        for fact, item in facts.items():
            if fact == "name":
                continue
            target = f"{procedure}.{fact}"
            section = section_of(str(item["source"]))
            override = overrides.get(target)
            flags = item.get("flag")
            entries.append(
                Entry(
                    key=f"fact:{target}",
                    title=f"`fact:{target}` (procedures.yml)",
                    sections=(section,) if section else (),
                    source_note=str(item["source"]),
                    notes=(),
                    flags=tuple(flags if isinstance(flags, list) else [flags] if flags else []),
                    texts=dict(override.text) if override else dict(item["text"]),
                    override=override,
                )
            )
    return entries


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def _signoff_cell(entry_id: str, text: str, signoffs: Mapping[str, dict[str, str]]) -> str:
    sha = text_sha(text)
    given = signoffs.get(entry_id)
    if given and given["sha"] == sha:
        return f"✅ {_cell(given['by'])}, {given['on']}"
    if given:
        return f"⚠️ text changed since {_cell(given['by'])} signed off ({given['on']}) · `{sha}`"
    return f"☐ `{sha}`"


def _entry_lines(entry: Entry, signoffs: Mapping[str, dict[str, str]]) -> Iterable[str]:
    sections = source_sections()
    yield f"### {entry.title}"
    yield ""
    if entry.override:
        o = entry.override
        yield (
            f"**source: clinic** — reviewed by {o.reviewed_by} on {o.reviewed_on} "
            "(clinic_overrides.yml); the source text stays below for comparison."
        )
        yield ""
    if entry.sections:
        yield "- Source: " + ", ".join(f'"{s}"' for s in entry.sections)
    elif entry.source_note:
        yield f"- Not in the source: {entry.source_note}"
    if entry.sections and entry.source_note not in ("", *entry.sections):
        yield f"- The fact's `source`: {entry.source_note}"
    for flag in entry.flags:
        yield f"- 🚩 **Flag:** {flag}"
    for note in entry.notes:
        yield f"- Note: {note}"
    yield ""
    yield "| | Text | Sign-off |"
    yield "|---|---|---|"
    if entry.sections:
        passage = "<br>".join(line for s in entry.sections for line in sections[s])
        yield f"| **source** | {_cell(passage)} | — |"
    for lang in SUPPORTED_LANGUAGES:
        text = entry.texts.get(lang, "")
        shown = f'<span dir="rtl">{_cell(text)}</span>' if lang in RTL_LANGUAGES else _cell(text)
        entry_id = f"{entry.key}/{lang}"
        signoff = _signoff_cell(entry_id, text, signoffs)
        yield f"| {lang} ({LANGUAGE_NAMES[lang]}) | {shown} | {signoff} |"
    yield ""


def render() -> str:
    responses = read_domain_responses()
    overrides = load_overrides(responses=responses)
    signoffs = load_signoffs()
    entries = _response_entries(review_notes(), responses, response_overrides(overrides))
    medical = [e for e in entries if e.sections]
    other = [e for e in entries if not e.sections]
    facts = _fact_entries(fact_overrides(overrides))
    everything = medical + facts + other
    known_ids = {f"{e.key}/{lang}" for e in everything for lang in SUPPORTED_LANGUAGES}
    lines = [
        "# Medical review sheet",
        "",
        "<!-- Generated by `make review-sheet` (python -m bot.review_sheet). Do not edit: "
        "tests/test_review_sheet.py fails when this file is stale. -->",
        "",
        "For the clinic's medical reviewer: every medical text the assistant sends, in its six "
        "languages, beside the sentences of the vetted source text (`docs/source.txt`) it comes "
        "from. Generated from `domain/*.yml`, `actions/data/procedures.yml`, "
        "`actions/data/clinic_overrides.yml` and `docs/medical-signoff.yml`.",
        "",
        "- **Sign off** a text by adding `{id, sha, by, on}` to `docs/medical-signoff.yml` "
        "(id = `<key>/<language>` as in the headings below, sha = the code in the Sign-off "
        "column) and running `make review-sheet`. A sign-off shows only while the text is "
        "unchanged.",
        "- **Replace** a text with the clinic's own reviewed wording in "
        "`actions/data/clinic_overrides.yml` (marked `source: clinic`); the bot and this sheet "
        "use it from the next start.",
        "- 🚩 flags mark points the reviewer must decide; notes say where a text goes beyond "
        "the source (safety sentences).",
        "",
        "## Flags",
        "",
    ]
    for entry in everything:
        lines += [f"- {entry.title}: {flag}" for flag in entry.flags]
    stale = sorted(set(signoffs) - known_ids)
    if stale:
        lines += ["", "Sign-offs for texts that no longer exist: " + ", ".join(stale)]
    lines += ["", f"## 1. Medical answers ({len(medical)} responses)", ""]
    for entry in medical:
        lines += list(_entry_lines(entry, signoffs))
    lines += [f"## 2. Procedure facts ({len(facts)}, actions/data/procedures.yml)", ""]
    for entry in facts:
        lines += list(_entry_lines(entry, signoffs))
    lines += [f"## 3. Texts that are not from the source ({len(other)})", ""]
    for entry in other:
        lines += list(_entry_lines(entry, signoffs))
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the sheet is stale")
    parser.add_argument("--out", type=Path, default=SHEET_FILE)
    args = parser.parse_args(argv)
    sheet = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != sheet:
            print(f"{args.out} is stale: run `make review-sheet`", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(sheet, encoding="utf-8")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["OVERRIDES_FILE", "main", "render", "text_sha"]
