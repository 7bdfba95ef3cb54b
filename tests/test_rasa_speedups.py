"""bot/rasa_speedups.py: Rasa's behaviour, kept, where two hot spots were made cheap."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core import events
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

from bot.nlg import PayloadSafeNaturalLanguageGenerator

VALID = {"events": [{"event": "slot", "name": "language", "value": "de"}], "responses": []}


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    PayloadSafeNaturalLanguageGenerator()  # as Rasa does at start-up


def test_creating_the_nlg_installs_the_speedups() -> None:
    assert RemoteAction._validate_action_result.__module__ == "bot.rasa_speedups"
    assert Event.resolve_by_type.__module__ == "bot.rasa_speedups"


def test_a_valid_action_response_passes_and_an_invalid_one_raises_as_before() -> None:
    action = RemoteAction("action_answer_medical", None)
    assert action._validate_action_result(VALID) is True
    assert action._validate_action_result(VALID) is True  # the cached validator again
    for invalid in ({"events": "not a list"}, {"events": [{"no_event_key": 1}]}):
        with pytest.raises(ValidationError, match="Failed to validate Action server response"):
            action._validate_action_result(invalid)


def test_every_event_type_resolves_to_the_same_class_and_unknown_ones_still_fail() -> None:
    for cls in all_subclasses(Event):
        # as Rasa does: the first class of that type name (rasa.core.test, once imported, adds
        # subclasses such as EndToEndUserUtterance that share "user")
        first = next(c for c in all_subclasses(Event) if c.type_name == cls.type_name)
        assert Event.resolve_by_type(cls.type_name) is first
        assert Event.resolve_by_type(cls.type_name) is first  # from the cache
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("no_such_event", default=events.SlotSet) is events.SlotSet
    assert events.deserialise_events([{"event": "slot", "name": "a", "value": 1}]) == [
        events.SlotSet("a", 1)
    ]
