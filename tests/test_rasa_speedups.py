"""bot/rasa_speedups.py: Rasa's behaviour, kept, where two hot spots were made cheap."""

from __future__ import annotations

import itertools

import pytest
import requests
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core import events
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses

from bot.nlg import PayloadSafeNaturalLanguageGenerator
from tests.support.chat import RestChat
from tests.support.servers import RunningBot

VALID = {"events": [{"event": "slot", "name": "language", "value": "de"}], "responses": []}


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    PayloadSafeNaturalLanguageGenerator()  # as Rasa does at start-up


def test_creating_the_nlg_installs_the_speedups() -> None:
    assert RemoteAction._validate_action_result.__module__ == "bot.rasa_speedups"
    assert Event.resolve_by_type.__module__ == "bot.rasa_speedups"
    assert DialogueStateTracker.past_states.__module__ == "bot.rasa_speedups"


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


RULE_ONLY = {"rule_only_slots": ["requested_slot"], "rule_only_loops": ["booking_form"]}
PAST_STATES_ARGUMENTS = list(itertools.product([False, True], [False, True], [None, RULE_ONLY]))


def _booking_conversation(bot: RunningBot) -> list[dict]:
    """The stored events of a real conversation: questions, a form, slots, a cancellation."""
    chat = RestChat(bot.url)
    for text in ("Hallo", "Was kostet die Operation?", "Ich möchte einen Termin", "ja", "stopp"):
        chat.send(text)
    response = requests.get(
        f"{bot.url}/conversations/{chat.sender}/tracker",
        params={"token": bot.auth_token},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["events"]


def test_remembered_past_states_equal_rasas_at_every_step_of_a_real_conversation(
    bot: RunningBot, domain: Domain
) -> None:
    events = _booking_conversation(bot)
    assert any(e["event"] == "active_loop" for e in events)  # the form was part of it
    tracker = DialogueStateTracker.from_dict("p", [], domain.slots)
    for event in events:
        tracker.update(Event.from_parameters(event), domain)
        for omit, ignore, rule_only in PAST_STATES_ARGUMENTS:
            expected = domain.states_for_tracker_history(
                tracker,
                omit_unset_slots=omit,
                ignore_rule_only_turns=ignore,
                rule_only_data=rule_only,
            )
            got = tracker.past_states(domain, omit, ignore, rule_only)
            assert got == expected
            for state in got:  # Rasa's featurizer edits what it gets: nobody else sees it
                for sub_state in state.values():
                    sub_state.clear()
                state.clear()
            assert tracker.past_states(domain, omit, ignore, rule_only) == expected


def test_past_states_are_computed_once_per_history_and_arguments(
    domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    compute = Domain.states_for_tracker_history

    def counted(self: Domain, tracker: DialogueStateTracker, **arguments: object) -> object:
        calls.append(len(tracker.events))
        return compute(self, tracker, **arguments)

    monkeypatch.setattr(Domain, "states_for_tracker_history", counted)
    tracker = DialogueStateTracker.from_dict("p", [], domain.slots)
    tracker.update(ActionExecuted("action_listen"))
    for _ in range(3):
        tracker.past_states(domain)
        tracker.past_states(domain, rule_only_data=dict(RULE_ONLY))  # an equal, new dict
    assert calls == [1, 1]
    tracker.update(ActionExecuted("utter_greet"))  # a new event: computed again
    tracker.past_states(domain)
    assert calls == [1, 1, 2]
    copy = tracker.copy()  # another tracker keeps its own
    copy.past_states(domain)
    assert calls == [1, 1, 2, 2]


ANNOTATED = """version: "3.1"
nlu:
- intent: ask_botox
  examples: |
    - is [Botox]{"entity": "procedure", "value": "botox"} safe?
"""


def test_training_data_is_validated_as_rasa_does() -> None:
    from rasa.shared.exceptions import SchemaValidationError
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
    from rasa.shared.nlu.training_data.schemas import data_schema
    from rasa.shared.utils import validation

    assert validation.validate_training_data.__module__ == "bot.rasa_speedups"
    for _ in range(2):  # the second time from the validator built the first time
        example = RasaYAMLReader().reads(ANNOTATED).training_examples[0]
        assert [(e["entity"], e["value"]) for e in example.get("entities")] == [
            ("procedure", "botox")
        ]
    for invalid in ('{"entity": 5}', '{"value": "botox"}'):
        with pytest.raises(SchemaValidationError, match="Failed to validate data"):
            RasaYAMLReader().reads(
                ANNOTATED.replace('{"entity": "procedure", "value": "botox"}', invalid)
            )
    with pytest.raises(SchemaValidationError, match="training-data-format"):
        validation.validate_training_data({"rasa_nlu_data": 1}, data_schema.rasa_nlu_data_schema())
