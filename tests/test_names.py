"""Every name in bot/names.py exists in the domain: a rename breaks here, not in a chat."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot import names

ROOT = Path(__file__).resolve().parent.parent


def _domain() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {
        "slots": set(),
        "entities": set(),
        "intents": set(),
        "forms": set(),
    }
    for path in sorted((ROOT / "domain").glob("*.yml")):
        part = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in found:
            value = part.get(key) or []
            items = value.keys() if isinstance(value, dict) else value
            for item in items:
                found[key].add(next(iter(item)) if isinstance(item, dict) else str(item))
    return found


DOMAIN = _domain()
BUILT_IN_INTENTS = {names.FALLBACK_INTENT}
SLOTS = [v for k, v in vars(names).items() if k.endswith("_SLOT") and k != "REQUESTED_SLOT"]
INTENTS = [v for k, v in vars(names).items() if k.endswith("_INTENT")]
ENTITIES = [v for k, v in vars(names).items() if k.endswith("_ENTITY")]


@pytest.mark.parametrize("slot", SLOTS)
def test_slot_name_exists_in_domain(slot: str) -> None:
    assert slot in DOMAIN["slots"]


@pytest.mark.parametrize("intent", [i for i in INTENTS if i not in BUILT_IN_INTENTS])
def test_intent_name_exists_in_domain(intent: str) -> None:
    assert intent in DOMAIN["intents"]


@pytest.mark.parametrize("entity", ENTITIES)
def test_entity_name_exists_in_domain(entity: str) -> None:
    assert entity in DOMAIN["entities"]


def test_form_name_exists_in_domain() -> None:
    assert names.BOOKING_FORM in DOMAIN["forms"]
