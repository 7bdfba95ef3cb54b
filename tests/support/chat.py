"""Talk to a running bot over its REST channel, and recognise its answers."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import requests

from actions.procedures import procedures
from tests.support.content import domain_responses

_RESPONSES = domain_responses()


@cache
def _pattern(template: str) -> re.Pattern[str]:
    """A response template as a regex: "{reference}" matches any filled-in value."""
    parts = re.split(r"(\{\w+\})", template.strip())
    return re.compile(
        "".join(".+?" if re.fullmatch(r"\{\w+\}", p) else re.escape(p) for p in parts), re.S
    )


def _fact_texts() -> dict[str, tuple[str, str]]:
    """Procedure facts (actions/data/procedures.yml) by text: ("fact:<procedure>.<fact>", lang)."""
    texts = {}
    for key, procedure in procedures().items():
        for fact_name, fact in procedure.facts.items():
            for language, fact_text in fact.text.items():
                texts[fact_text] = (f"fact:{key}.{fact_name}", language)
    return texts


_FACTS = _fact_texts()


def which_response(text: str) -> tuple[str, str] | None:
    """(response name, language) of a bot message, by its text; None if unknown."""
    for name, variations in _RESPONSES.items():
        for variation in variations:
            if _pattern(variation.text).fullmatch(text.strip()):
                return name, variation.language
    return _FACTS.get(text.strip())


@dataclass
class RestChat:
    base_url: str
    sender: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:12]}")

    def send(self, message: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"sender": self.sender, "message": message}
        if metadata is not None:
            body["metadata"] = metadata
        response = requests.post(f"{self.base_url}/webhooks/rest/webhook", json=body, timeout=30)
        response.raise_for_status()
        return list(response.json())

    def answers(
        self, message: str, metadata: dict[str, Any] | None = None
    ) -> list[tuple[str, str] | None]:
        """The (response, language) of each bot message sent in reply."""
        return [which_response(m.get("text", "")) for m in self.send(message, metadata)]
