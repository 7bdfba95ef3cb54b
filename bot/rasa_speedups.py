"""Two hot spots of Rasa 3.6's message loop, made cheap without changing what they do.

Profiled with py-spy on the Rasa process under load (10 patients, docs/performance.md):

- `RemoteAction._validate_action_result` checks every action server response with
  `jsonschema.validate`, which first checks the *schema itself* against the JSON Schema
  meta-schema and builds a new validator, on every call: about a quarter of the Rasa
  process's time. Here the validator is built once for the (constant) schema; a response is
  validated exactly as before, and an invalid one raises the same `ValidationError`.
- `Event.resolve_by_type` walks every subclass of `Event` (with `inspect.isabstract`) for
  each stored event it deserialises. Here the walk's result is kept per type name; a name it
  does not know goes the original way (so the same error for an unknown event).

`install()` is idempotent; the NLG (`bot/nlg.py`), which every deployment of this bot
configures in its endpoints, calls it when Rasa creates it at start-up.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Type

from jsonschema import ValidationError, exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event

_INSTALLED = "_hfs_speedups_installed"


def install() -> None:
    if getattr(RemoteAction, _INSTALLED, False):
        return
    RemoteAction._validate_action_result = _validate_action_result
    Event.resolve_by_type = staticmethod(_cached_resolver(Event.resolve_by_type))
    setattr(RemoteAction, _INSTALLED, True)


_response_validator: Optional[Any] = None


def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    global _response_validator
    if _response_validator is None:
        schema = RemoteAction.action_response_format_spec()
        _response_validator = validators.validator_for(schema)(schema)
    error = exceptions.best_match(_response_validator.iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (  # Rasa's own wording
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


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
