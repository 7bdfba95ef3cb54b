"""Build our NLU components with the settings config.yml gives them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def component_config(name: str, defaults: dict[str, Any]) -> dict[str, Any]:
    pipeline = yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
    entry = next(step for step in pipeline if step["name"].endswith(name))
    return {**defaults, **{k: v for k, v in entry.items() if k != "name"}}
