"""Custom actions, run with Rasa SDK trackers."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.language import ActionChangeLanguage
from actions.medical import ActionMedicalDisclaimer


def tracker(slots: dict[str, Any] | None = None, entities: list[dict[str, Any]] | None = None) -> Tracker:
    latest = {"text": "x", "intent": {"name": "change_language"}, "entities": entities or []}
    return Tracker("patient", slots or {}, latest, [], False, None, {}, "action_listen")


async def test_disclaimer_is_uttered_and_remembered_the_first_time() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionMedicalDisclaimer().run(dispatcher, tracker({"medical_disclaimer_shown": False}), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_medical_disclaimer"]
    assert events == [SlotSet("medical_disclaimer_shown", True)]


async def test_disclaimer_is_not_repeated() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionMedicalDisclaimer().run(dispatcher, tracker({"medical_disclaimer_shown": True}), {})
    assert dispatcher.messages == [] and events == []


async def test_language_change_with_a_target_confirms_it() -> None:
    dispatcher = CollectingDispatcher()
    entities = [{"entity": "language", "value": "tr", "extractor": "TermEntityExtractor"}]
    await ActionChangeLanguage().run(dispatcher, tracker({"language": "tr"}, entities), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_language_changed"]


async def test_button_payload_target_confirms_it() -> None:
    dispatcher = CollectingDispatcher()
    await ActionChangeLanguage().run(dispatcher, tracker({"language": "ru"}, [{"entity": "language", "value": "ru"}]), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_language_changed"]


async def test_language_change_without_a_target_shows_the_picker() -> None:
    dispatcher = CollectingDispatcher()
    detected_only = [{"entity": "language", "value": "en", "extractor": "LanguageDetector"}]
    await ActionChangeLanguage().run(dispatcher, tracker({"language": "en"}, detected_only), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_choose_language"]
