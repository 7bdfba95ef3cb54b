"""How long the NLU pipeline takes per message size, and which component takes it.

    .venv/bin/python -m bench.nlu_message_size [--sizes 200 2000 10000 100000]

Loads models/hfs.tar.gz, parses one realistic text per size (a patient's question repeated)
through Rasa's own `Agent.parse_message` under cProfile and prints, per size, the wall time
and the cumulative time of each pipeline component's `process`. Loopback only, bounded.
The table goes into docs/performance.md ("Message size").
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import string
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "hfs.tar.gz"
SENTENCE = (
    "Hello, I have had a twitching on the left side of my face for three years and botox "
    "no longer helps, how much does the surgery cost and how long should I stay? "
)


def shaped_text(shape: str, size: int) -> str:
    """The kinds of long text seen: a pasted question, one endless word, random words,
    an emoji flood."""
    rng = random.Random(size)
    if shape == "sentence":
        return (SENTENCE * (size // len(SENTENCE) + 1))[:size]
    if shape == "one-word":
        return "a" * size
    if shape == "random-words":
        words = (
            "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9)))
            for _ in range(size)
        )
        return " ".join(words)[:size]
    return "".join(rng.choice("😀👍🏽🙏❤️🤔") for _ in range(size))[:size]


SHAPES = ("sentence", "one-word", "random-words", "emoji")
COMPONENTS = {
    "language_detector.py": "LanguageDetector",
    "tokenizer.py": "MultilingualTokenizer",
    "intent_classifier.py": "LinearIntentClassifier",
    "term_extractor.py": "TermEntityExtractor",
    "fallback_classifier.py": "FallbackClassifier",
}


def component_times(profile: cProfile.Profile) -> dict[str, float]:
    stats = pstats.Stats(profile)
    times: dict[str, float] = {}
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        name = COMPONENTS.get(Path(filename).name)
        if name and function == "process":
            times[name] = max(times.get(name, 0.0), row[3])  # cumulative seconds
    return times


async def measure(sizes: list[int], shapes: list[str]) -> None:
    from rasa.core.agent import Agent

    agent = Agent.load(str(MODEL))
    await agent.parse_message("hello")  # warm up
    print(
        f"{'shape':>13} {'chars':>8} {'wall s':>8}  "
        + "  ".join(f"{c:>22}" for c in COMPONENTS.values())
    )
    for shape, size in ((shape, size) for size in sizes for shape in shapes):
        text = shaped_text(shape, size)
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        await agent.parse_message(text)
        profile.disable()
        wall = time.perf_counter() - started
        times = component_times(profile)
        cells = "  ".join(f"{times.get(c, 0.0):>22.3f}" for c in COMPONENTS.values())
        print(f"{shape:>13} {size:>8} {wall:>8.2f}  {cells}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000, 10000, 100000])
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=SHAPES)
    args = parser.parse_args()
    asyncio.run(measure(args.sizes, args.shapes))


if __name__ == "__main__":
    main()
