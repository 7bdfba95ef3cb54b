"""The vetted source text (docs/source.txt) by section, and the review notes on each response.

Every medical response in domain/*.yml carries a comment block right above its name:

    # source: "Surgical results"                  sections of docs/source.txt (one or more)
    # not in the source: why the text exists      instead of `source`, for safety notices
    # note: what the text adds to the source      any number, shown to the medical reviewer
    # flag: what the reviewer must decide         any number, listed first on the sheet
    utter_surgery_results:

bot/review_sheet.py prints these beside the texts; tests/test_review_sheet.py checks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_FILE = ROOT / "docs" / "source.txt"
DOMAIN_DIR = ROOT / "domain"

# The section headings of docs/source.txt, in order ("Sources:" ends the text).
SECTION_HEADINGS: tuple[str, ...] = (
    "What is hemifacial spasm?",
    "Causes of hemifacial spasm",
    "Symptoms of hemifacial spasm",
    "Diagnosis of hemifacial spasm",
    "Permanent treatment of migraine facial spasm",
    "Drug therapy",
    "botulinum injection (Botox)",
    "Side effects of botulinum injection (Botox)",
    "Microvascular decompression surgery",
    "Surgical results",
    "Surgical risks",
    "Is Hemifacial spasm a common disease?",
    "Prevention of hemifacial spasm",
    "conditions similar to hemifacial spasm",
)
END_OF_TEXT = "Sources:"

_RESPONSE_KEY = re.compile(r"^  (utter_\w+):\s*$")
_COMMENT = re.compile(r"^  # ?(.*)$")
_QUOTED = re.compile(r'"([^"]+)"')


class SourceTextError(ValueError):
    """docs/source.txt no longer has a section heading the bot relies on."""


@lru_cache(maxsize=1)
def source_sections() -> dict[str, list[str]]:
    """Heading -> the source's lines under it (the text before the first heading is skipped)."""
    lines = [line.strip() for line in SOURCE_FILE.read_text(encoding="utf-8").splitlines()]
    missing = [h for h in SECTION_HEADINGS if h not in lines]
    if missing:
        raise SourceTextError(f"{SOURCE_FILE}: headings not found {missing}")
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in lines:
        if line.startswith(END_OF_TEXT):
            break
        if line in SECTION_HEADINGS:
            current = line
            sections[current] = []
        elif current and line:
            sections[current].append(line)
    return sections


def section_of(source: str) -> str | None:
    """The heading a procedure fact's `source` starts with ("Surgical results: most …")."""
    matches = [h for h in SECTION_HEADINGS if source.lower().startswith(h.lower())]
    return max(matches, key=len) if matches else None


@dataclass(frozen=True)
class ReviewNotes:
    response: str
    file: str
    sections: tuple[str, ...] = ()
    not_in_source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    flags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def names_its_source(self) -> bool:
        return bool(self.sections or self.not_in_source)


def _parse_block(response: str, file: str, comments: list[str]) -> ReviewNotes:
    sections: list[str] = []
    notes: list[str] = []
    flags: list[str] = []
    not_in_source = ""
    last: list[str] | None = None  # a line without a key continues the last note or flag
    for comment in comments:
        key, _, value = comment.partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "source":
            sections += _QUOTED.findall(value)
            rest = _QUOTED.sub("", value).strip(" ,.;:")
            if rest:
                notes.append(rest)
            last = notes if rest else None
        elif key == "not in the source":
            not_in_source, last = value, None
        elif key in ("note", "flag"):
            last = notes if key == "note" else flags
            last.append(value)
        elif last:
            last[-1] = f"{last[-1]} {comment.strip()}"
    return ReviewNotes(response, file, tuple(sections), not_in_source, tuple(notes), tuple(flags))


def review_notes(domain_dir: Path = DOMAIN_DIR) -> dict[str, ReviewNotes]:
    """Response name -> its review comment block, for every response of domain/*.yml."""
    found: dict[str, ReviewNotes] = {}
    for path in sorted(domain_dir.glob("*.yml")):
        block: list[str] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            key = _RESPONSE_KEY.match(line)
            comment = _COMMENT.match(line)
            if key:
                found[key.group(1)] = _parse_block(key.group(1), path.name, block)
                block = []
            elif comment:
                block.append(comment.group(1))
            else:
                block = []
    return found
