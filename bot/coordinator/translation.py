"""A translator a clinic can plug in later (`CONSOLE_TRANSLATOR=package.module:Class`).

No machine-translation engine is installed by default (`NoTranslator`): the console shows the
bot's own vetted translations and the understood topic instead. A plugged-in translator is
asked for the patient's free-text messages only and its output is marked as machine-made.
"""

from __future__ import annotations

import importlib
from typing import Optional, Protocol, runtime_checkable


@runtime_checkable
class Translator(Protocol):
    name: str

    def translate(self, text: str, source: Optional[str], target: str) -> Optional[str]:
        """`text` in `target`, or None when it cannot translate it."""


class NoTranslator:
    name = "none"

    def translate(self, text: str, source: Optional[str], target: str) -> Optional[str]:
        return None


def load_translator(spec: Optional[str]) -> Translator:
    """`None` → NoTranslator; `module:Class` → an instance (fails at start-up if wrong)."""
    if not spec:
        return NoTranslator()
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ValueError("CONSOLE_TRANSLATOR must be 'package.module:ClassName'")
    translator = getattr(importlib.import_module(module_name), class_name)()
    if not isinstance(translator, Translator):
        raise ValueError(f"{spec} has no translate(text, source, target) method")
    return translator
