"""The held-out NLU gate: the trained model must understand unseen phrasings in every language."""

from __future__ import annotations

import pytest

from bot.evaluation import LanguageReport, evaluate_model, format_table, load_held_out
from bot.languages import SUPPORTED_LANGUAGES
from tests.support.servers import MODEL

MINIMUM_ACCURACY = 0.90


@pytest.fixture(scope="module")
def reports() -> dict[str, LanguageReport]:
    result = evaluate_model(str(MODEL), load_held_out())
    print("\n" + format_table(str(MODEL), result, None))
    return result


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_held_out_intent_accuracy_is_at_least_the_gate(
    reports: dict[str, LanguageReport], language: str
) -> None:
    report = reports[language]
    assert (
        report.accuracy >= MINIMUM_ACCURACY
    ), f"{language}: {report.accuracy:.3f} < {MINIMUM_ACCURACY}; worst: {report.worst_confusions()}"


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_procedure_entities_are_found_in_held_out_examples(
    reports: dict[str, LanguageReport], language: str
) -> None:
    assert reports[language].entity_f1 >= 0.95
