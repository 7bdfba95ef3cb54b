"""The conversation-quality gate on sets training never sees (tests/heldout/, docs/nlu.md):
every question of a message answered, the first message's language, the honest answer."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.evaluation import QualityReport, evaluate_conversation_sets, format_quality_table
from bot.languages import SUPPORTED_LANGUAGES
from tests.support.servers import MODEL

GATE = yaml.safe_load((Path(__file__).parent / "heldout" / "floors.yml").read_text("utf-8"))
TARGET = float(GATE["target"])
FIGURES = [
    "multi-question",
    "first-message language",
    "not-covered recall",
    "not-covered precision",
]


@pytest.fixture(scope="module")
def reports() -> dict[str, QualityReport]:
    result = evaluate_conversation_sets(str(MODEL))
    print("\n" + format_quality_table(result))
    return result


@pytest.mark.parametrize("figure", FIGURES)
@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_conversation_quality_does_not_fall_below_its_floor(
    reports: dict[str, QualityReport], language: str, figure: str
) -> None:
    """Fails when a figure drops below its recorded floor (tests/heldout/floors.yml); the
    figures below the 0.90 target are printed (and listed in docs/nlu.md)."""
    report = reports[language]
    value = report.figures()[figure]
    floor = float(GATE["floors"][language][figure])
    assert floor <= TARGET
    if value < TARGET:
        print(f"below the {TARGET} target: {language} {figure} {value:.3f}")
    misses = "\n".join(report.misses[:15])
    assert value >= floor, f"{language} {figure}: {value:.3f} < floor {floor}\n{misses}"


def test_no_final_set_message_is_in_the_training_data() -> None:
    """The final sets are held out; the development sets share a few common greetings."""
    import re
    from pathlib import Path

    from bot.evaluation import load_first_messages, load_multi_questions, load_not_covered

    root = Path(__file__).resolve().parent.parent
    text = "".join(p.read_text(encoding="utf-8") for p in (root / "data" / "nlu").glob("*.yml"))
    plain = re.sub(r"\[([^\]]+)\]\{[^}]*\}", r"\1", text)
    trained = {
        line.strip()[2:].strip().lower() for line in plain.splitlines() if line.strip()[:2] == "- "
    }
    held_out = [m.text for m in load_multi_questions()] + [t for _, t in load_first_messages()]
    held_out += [t for _, t, _ in load_not_covered()]
    leaked = [t for t in held_out if t.strip().lower() in trained]
    assert not leaked, leaked
