"""Hot spots of Rasa 3.6, made cheap without changing what they do.

Found by profiling (py-spy on the Rasa processes under load, cProfile of reading the training
data; docs/performance.md):

- `RemoteAction._validate_action_result` checks every action server response with
  `jsonschema.validate`, which first checks the *schema itself* against the JSON Schema
  meta-schema and builds a new validator, on every call: about a quarter of the Rasa
  process's time. Here the validator is built once for the (constant) schema; a response is
  validated exactly as before, and an invalid one raises the same `ValidationError`.
- Reading training data, Rasa validates every example that annotates an entity with a value
  (`[Botox]{"entity": "procedure", "value": "botox"}`, ~4,500 of them in `data/nlu/`) with
  `jsonschema.validate` too: ~7 ms each, read several times per `rasa train`, most of its
  3.5 minutes. Here `validate_training_data` uses one validator per schema, same errors
  (`bot/train.py` installs this for `make train`).
- `Event.resolve_by_type` walks every subclass of `Event` (with `inspect.isabstract`) for
  each stored event it deserialises. Here the walk's result is kept per type name; a name it
  does not know goes the original way (so the same error for an unknown event).
- `DialogueStateTracker.past_states` replays the loaded history and builds a state per action,
  and each message asks for it several times with the same arguments: RulePolicy twice at each
  of the ~3 predictions (MemoizationPolicy, configured until 2026-12-03, once more), about a
  quarter of the process's time. Here a tracker keeps the result of its latest history (same
  length, same last event object, same arguments) and hands out a copy each time, because
  Rasa's featurizer edits the states it gets (`_choose_last_user_input` deletes keys).

`install()` is idempotent; the NLG (`bot/nlg.py`), which every deployment of this bot
configures in its endpoints, calls it when Rasa creates it at start-up.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional, Tuple, Type

import rasa.shared.utils.validation
from jsonschema import ValidationError, exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL, DOCS_URL_TRAINING_DATA
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import SchemaValidationError

_INSTALLED = "_hfs_speedups_installed"
_PAST_STATES = "_hfs_past_states"  # on a tracker: (its last event, {arguments: states})


def install() -> None:
    if getattr(RemoteAction, _INSTALLED, False):
        return
    RemoteAction._validate_action_result = _validate_action_result
    rasa.shared.utils.validation.validate_training_data = _validate_training_data
    Event.resolve_by_type = staticmethod(_cached_resolver(Event.resolve_by_type))
    DialogueStateTracker.past_states = _remembered_past_states(DialogueStateTracker.past_states)
    setattr(RemoteAction, _INSTALLED, True)


_validators: Dict[str, Any] = {}


def _first_error(
    instance: Any, key: str, schema_of: Callable[[], Dict[str, Any]]
) -> Optional[ValidationError]:
    """`jsonschema.validate`'s error, from a validator built once per schema `key`."""
    validator = _validators.get(key)
    if validator is None:
        schema = schema_of()
        cls = validators.validator_for(schema)
        cls.check_schema(schema)  # as `jsonschema.validate` does, once
        validator = _validators[key] = cls(schema)
    error = exceptions.best_match(validator.iter_errors(instance))
    assert error is None or isinstance(error, ValidationError)
    return error


def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    # the schema is a constant: not serialised on every response to find its validator
    error = _first_error(result, "action_response", RemoteAction.action_response_format_spec)
    if error is None:
        return True
    error.message += (  # Rasa's own wording
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def _validate_training_data(json_data: Dict[str, Any], schema: Dict[str, Any]) -> None:
    error = _first_error(json_data, json.dumps(schema, sort_keys=True, default=str), lambda: schema)
    if error is None:
        return
    error.message += (  # Rasa's own wording
        f". Failed to validate data, make sure your data "
        f"is valid. For more information about the format visit "
        f"{DOCS_URL_TRAINING_DATA}."
    )
    raise SchemaValidationError.create_from(error) from error


def _cached_resolver(
    resolve: Callable[..., Optional[Type[Event]]],
) -> Callable[..., Optional[Type[Event]]]:
    known: Dict[str, Type[Event]] = {}

    def resolve_by_type(
        type_name: str, default: Optional[Type[Event]] = None
    ) -> Optional[Type[Event]]:
        cls = known.get(type_name)
        if cls is None:
            cls = resolve(type_name, default)
            if cls is not None and cls is not default:
                known[type_name] = cls
        return cls

    return resolve_by_type


PastStates = Callable[..., List[State]]


def _remembered_past_states(compute: PastStates) -> PastStates:
    def past_states(
        self: DialogueStateTracker,
        domain: Domain,
        omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: Optional[Dict[str, Any]] = None,
    ) -> List[State]:
        events = self.events
        # the last event object itself (not its id): while remembered it cannot be recycled
        history = (len(events), events[-1] if events else None, domain)
        arguments = (omit_unset_slots, ignore_rule_only_turns, _frozen(rule_only_data))
        remembered: Optional[Tuple[Any, Dict[Any, List[State]]]] = self.__dict__.get(_PAST_STATES)
        if remembered is None or not _same_history(remembered[0], history):
            remembered = (history, {})
            self.__dict__[_PAST_STATES] = remembered
        states = remembered[1].get(arguments)
        if states is None:
            states = compute(self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
            remembered[1][arguments] = states
        return [{key: dict(sub_state) for key, sub_state in state.items()} for state in states]

    return past_states


def _same_history(a: Tuple[int, Any, Domain], b: Tuple[int, Any, Domain]) -> bool:
    return a[0] == b[0] and a[1] is b[1] and a[2] is b[2]


def _frozen(rule_only_data: Optional[Dict[str, Any]]) -> Any:
    if rule_only_data is None:
        return None
    return tuple(sorted((key, tuple(value)) for key, value in rule_only_data.items()))
