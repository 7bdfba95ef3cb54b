"""Held-out NLU evaluation per language: `make eval` (compare pipelines) and the CI gate.

`python -m bot.evaluation` trains every candidate pipeline on data/nlu/ (NLU only), parses
the held-out split tests/nlu/<lang>.yml, and prints per language: intent accuracy,
macro-F1, `procedure` entity F1 and the worst confusions, plus each candidate's training
time. `--model PATH` evaluates an already trained model instead (used by the tests).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from bot.languages import SUPPORTED_LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT_DIR = ROOT / "tests" / "nlu"
CANDIDATES: dict[str, Path] = {
    "linear-svm": ROOT / "config.yml",  # the chosen pipeline
    "rasa-logreg": ROOT / "bench" / "nlu_pipelines" / "logreg.yml",
    "diet-50ep-1layer": ROOT / "bench" / "nlu_pipelines" / "diet.yml",
}


@dataclass(frozen=True)
class Example:
    language: str
    text: str
    intent: str
    procedures: frozenset[tuple[int, int, str]]


@dataclass
class LanguageReport:
    language: str
    gold: list[str] = field(default_factory=list)
    predicted: list[str] = field(default_factory=list)
    entity_tp: int = 0
    entity_fp: int = 0
    entity_fn: int = 0

    @property
    def accuracy(self) -> float:
        hits = sum(g == p for g, p in zip(self.gold, self.predicted, strict=False))
        return hits / len(self.gold) if self.gold else 0.0

    @property
    def macro_f1(self) -> float:
        labels = sorted(set(self.gold))
        scores = []
        for label in labels:
            tp = sum(g == p == label for g, p in zip(self.gold, self.predicted, strict=False))
            fp = sum(p == label != g for g, p in zip(self.gold, self.predicted, strict=False))
            fn = sum(g == label != p for g, p in zip(self.gold, self.predicted, strict=False))
            scores.append(_f1(tp, fp, fn))
        return sum(scores) / len(scores) if scores else 0.0

    @property
    def entity_f1(self) -> float:
        return _f1(self.entity_tp, self.entity_fp, self.entity_fn)

    def worst_confusions(self, top: int = 3) -> list[tuple[str, str, int]]:
        pairs = Counter((g, p) for g, p in zip(self.gold, self.predicted, strict=False) if g != p)
        return [(g, p, n) for (g, p), n in pairs.most_common(top)]


def _f1(tp: int, fp: int, fn: int) -> float:
    if tp == 0:
        return 1.0 if fp == fn == 0 else 0.0
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return 2 * precision * recall / (precision + recall)


def load_held_out(directory: Path = HELD_OUT_DIR) -> list[Example]:
    from rasa.shared.nlu.training_data.loading import load_data

    examples = []
    for language in SUPPORTED_LANGUAGES:
        data = load_data(str(directory / f"{language}.yml"))
        for message in data.intent_examples:
            procedures = frozenset(
                (e["start"], e["end"], e["value"])
                for e in message.get("entities", [])
                if e["entity"] == "procedure"
            )
            examples.append(
                Example(language, message.get("text"), message.get("intent"), procedures)
            )
    return examples


async def _parse_all(model_path: str, texts: Sequence[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    return [await agent.parse_message(text) for text in texts]


def evaluate_model(model_path: str, examples: Sequence[Example]) -> dict[str, LanguageReport]:
    parsed = asyncio.run(_parse_all(model_path, [e.text for e in examples]))
    reports = {language: LanguageReport(language) for language in SUPPORTED_LANGUAGES}
    for example, result in zip(examples, parsed, strict=False):
        report = reports[example.language]
        report.gold.append(example.intent)
        report.predicted.append((result.get("intent") or {}).get("name") or "None")
        found = {
            (e["start"], e["end"], e["value"])
            for e in result.get("entities", [])
            if e["entity"] == "procedure"
        }
        tp, fp, fn = match_entities(found, example.procedures)
        report.entity_tp += tp
        report.entity_fp += fp
        report.entity_fn += fn
    return reports


def match_entities(
    found: set[tuple[int, int, str]], gold: frozenset[tuple[int, int, str]]
) -> tuple[int, int, int]:
    """Counts (tp, fp, fn); a found entity matches a gold one of the same value that
    overlaps it ("Botox" inside an annotated "Botox'un" counts)."""
    unmatched = set(gold)
    tp = 0
    for start, end, value in sorted(found):
        hit = next(
            (g for g in sorted(unmatched) if g[2] == value and start < g[1] and g[0] < end), None
        )
        if hit is not None:
            unmatched.discard(hit)
            tp += 1
    return tp, len(found) - tp, len(unmatched)


def train_candidate(config: Path, output: Path) -> tuple[str, float]:
    from rasa.model_training import train_nlu

    started = time.monotonic()
    model = train_nlu(
        config=str(config),
        nlu_data=str(ROOT / "data" / "nlu"),
        output=str(output),
        domain=str(ROOT / "domain"),
    )
    if model is None:
        raise RuntimeError(f"training with {config} produced no model")
    return model, time.monotonic() - started


def format_table(name: str, reports: dict[str, LanguageReport], seconds: float | None) -> str:
    timing = f" (trained in {seconds:.0f} s)" if seconds is not None else ""
    lines = [
        f"### {name}{timing}",
        "",
        "| lang | n | intent acc | macro-F1 | procedure F1 "
        "| worst confusions (gold → predicted ×n) |",
        "|---|---|---|---|---|---|",
    ]
    for language, r in reports.items():
        confusions = ", ".join(f"{g} → {p} ×{n}" for g, p, n in r.worst_confusions()) or "—"
        lines.append(
            f"| {language} | {len(r.gold)} | {r.accuracy:.3f} | {r.macro_f1:.3f} "
            f"| {r.entity_f1:.3f} | {confusions} |"
        )
    return "\n".join(lines)


def failing_languages(reports: dict[str, LanguageReport], minimum: float) -> list[str]:
    return [lang for lang, r in reports.items() if r.accuracy < minimum]


def quiet_rasa() -> None:
    import logging

    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bot.evaluation")
    parser.add_argument(
        "--model", help="evaluate this trained model instead of training candidates"
    )
    parser.add_argument("--candidates", nargs="*", default=list(CANDIDATES), help="candidate names")
    parser.add_argument("--min-accuracy", type=float, default=0.0)
    args = parser.parse_args(list(argv) if argv is not None else None)
    quiet_rasa()
    examples = load_held_out()
    failed = False
    if args.model:
        reports = evaluate_model(args.model, examples)
        print(format_table(args.model, reports, None))
        failed = bool(failing_languages(reports, args.min_accuracy))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            for name in args.candidates:
                model, seconds = train_candidate(CANDIDATES[name], Path(tmp) / name)
                reports = evaluate_model(model, examples)
                print(format_table(name, reports, seconds), "\n", flush=True)
                failed |= bool(failing_languages(reports, args.min_accuracy))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
