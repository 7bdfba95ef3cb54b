"""The console's pure parts: transcript turns and translations from the domain's own
responses, the WhatsApp window, waiting notices, stats charts, the data files, sign-in limits."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from actions.handoff_store import Ticket
from bot.coordinator import auth, content, stats, waiting
from bot.coordinator.config import UI_LANGUAGES
from bot.coordinator.transcript import translate_response, turns
from bot.coordinator.translation import NoTranslator, load_translator
from bot.coordinator.window import whatsapp_window
from bot.languages import SUPPORTED_LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
TR_CREATED = "Talebiniz iletildi: bir hasta koordinatörü 24 saat içinde size buradan yanıt verecek. Referans numaranız: HFS-ABC234."


def user(
    text: str, intent: str, ts: float, channel: str = "socketio", language: str | None = None
) -> dict:
    entities = [{"entity": "language", "value": language}] if language else []
    return {
        "event": "user",
        "text": text,
        "timestamp": ts,
        "input_channel": channel,
        "parse_data": {"intent": {"name": intent}, "entities": entities},
    }


def test_turns_have_role_text_intent_language_time_and_topic() -> None:
    events = [
        {"event": "action", "name": "action_listen", "timestamp": 1},
        user("Bir insanla konuşmak istiyorum", "request_human", 1_700_000_000, language="tr"),
        {"event": "slot", "name": "language", "value": "tr", "timestamp": 1_700_000_000},
        {
            "event": "bot",
            "text": TR_CREATED,
            "timestamp": 1_700_000_001,
            "metadata": {"utter_action": "utter_handoff_created"},
        },
        {
            "event": "bot",
            "text": "Merhaba, ben Ayşe",
            "timestamp": 1_700_000_100,
            "metadata": {"from": "coordinator", "name": "Ayşe", "message_id": "c-1"},
        },
    ]
    patient, bot, coordinator = turns(events, "ru", content.domain_responses(), content.topics())
    assert (
        patient.role == "patient" and patient.intent == "request_human" and patient.language == "tr"
    )
    assert patient.topic == "Просит связать с человеком"
    assert patient.time == "2023-11-14T22:13:20+00:00"
    assert bot.role == "bot" and bot.text == TR_CREATED
    # the same response in the coordinator's language, with the values the patient saw
    assert (
        bot.translation
        == "Готово: координатор пациентов ответит вам здесь в течение 24 ч. Номер вашего обращения — HFS-ABC234."
    )
    assert (
        coordinator.role == "coordinator"
        and coordinator.name == "Ayşe"
        and coordinator.message_id == "c-1"
    )


@pytest.mark.parametrize("coordinator_language", UI_LANGUAGES)
def test_every_topic_and_bot_response_is_available_in_each_coordinator_language(
    coordinator_language: str,
) -> None:
    responses = content.domain_responses()
    for name in ("utter_handoff_created", "utter_confirm_handoff"):
        assert coordinator_language in responses[name]
    for labels in content.topics().values():
        assert labels[coordinator_language].strip()


def test_no_translation_is_shown_when_languages_match_or_the_response_is_unknown() -> None:
    responses = content.domain_responses()
    assert translate_response(responses, "utter_nope", "x", "tr", "en", {}) is None
    assert translate_response(responses, None, "x", "tr", "en", {}) is None
    events = [
        user("hello", "greet", 1, language="en"),
        {"event": "slot", "name": "language", "value": "en"},
        {
            "event": "bot",
            "text": "Hi",
            "timestamp": 2,
            "metadata": {"utter_action": "utter_handoff_created"},
        },
    ]
    assert turns(events, "en", responses, content.topics())[1].translation is None


def test_unknown_placeholders_are_filled_from_slots_or_marked() -> None:
    responses = {
        "utter_x": {
            "en": "Hello {patient_name}, ref {reference}",
            "tr": "Merhaba {patient_name}, ref {reference}",
        }
    }
    assert (
        translate_response(
            responses, "utter_x", "something else", "en", "tr", {"patient_name": "Ana"}
        )
        == "Merhaba Ana, ref …"
    )


def test_every_domain_intent_has_a_topic() -> None:
    intents: set[str] = set()
    for path in (ROOT / "domain").glob("*.yml"):
        for entry in yaml.safe_load(path.read_text()).get("intents") or []:
            intents.add(next(iter(entry)) if isinstance(entry, dict) else entry)
    assert intents - set(content.topics()) == set()


def test_canned_replies_exist_in_all_six_languages_with_labels_in_four() -> None:
    replies = content.replies()
    assert {"call_tomorrow", "send_mri", "quote_on_way", "documents_received"} <= set(replies)
    for reply in replies.values():
        assert set(SUPPORTED_LANGUAGES) <= set(reply.text)
        assert set(UI_LANGUAGES) <= set(reply.label)
        assert len(set(reply.text.values())) == len(reply.text)  # really translated


def test_whatsapp_templates_map_every_patient_language() -> None:
    for template in content.templates().values():
        assert set(SUPPORTED_LANGUAGES) <= set(template.languages)


def test_ui_labels_exist_in_every_coordinator_language() -> None:
    for key, labels in content.ui_labels().items():
        assert all(labels[lang].strip() for lang in UI_LANGUAGES), key


def test_whatsapp_window_counts_24_hours_from_the_last_whatsapp_message() -> None:
    last = (NOW - timedelta(hours=20)).timestamp()
    window = whatsapp_window(
        [user("hi", "greet", last - 3600, "whatsapp"), user("hi", "greet", last, "whatsapp")], NOW
    )
    assert window.applies and window.open and window.seconds_left == 4 * 3600
    closed = whatsapp_window(
        [user("hi", "greet", (NOW - timedelta(hours=24, seconds=1)).timestamp(), "twilio")], NOW
    )
    assert closed.applies and not closed.open and closed.seconds_left == 0
    assert not whatsapp_window([user("hi", "greet", 1, "socketio")], NOW).applies
    assert not whatsapp_window([], NOW).applies


def test_waiting_notice_once_per_unanswered_message_after_the_delay() -> None:
    held = NOW - timedelta(minutes=30)
    asked = (NOW - timedelta(minutes=6)).timestamp()
    events = [user("are you there?", "greet", asked)]
    after = timedelta(minutes=5)
    marker = waiting.unanswered_patient_message(events, held, NOW, after, None)
    assert marker is not None
    assert waiting.unanswered_patient_message(events, held, NOW, after, marker) is None
    assert (
        waiting.unanswered_patient_message(events, held, NOW, timedelta(minutes=10), None) is None
    )
    answered = [
        *events,
        {"event": "bot", "timestamp": asked + 60, "metadata": {"from": "coordinator"}},
    ]
    assert waiting.unanswered_patient_message(answered, held, NOW, after, None) is None
    before_hold = waiting.unanswered_patient_message(
        events, NOW - timedelta(minutes=1), NOW, after, None
    )
    assert before_hold is None
    assert waiting.notice_message_id("a", marker) == waiting.notice_message_id("a", marker)


def ticket(kind: str, sender: str, created: datetime) -> Ticket:
    return Ticket(
        "id-" + sender + kind,
        "HFS-X",
        kind,
        "socketio",
        sender,
        "en",
        {},
        None,
        "",
        "new",
        created,
        0,
        None,
    )


def test_stats_and_their_svg_charts() -> None:
    day = datetime(2026, 11, 30, 10, 0).timestamp()
    events = [
        stats.UserEvent("a", day, "ask_botox"),
        stats.UserEvent("a", day + 5, "nlu_fallback"),
        stats.UserEvent("b", day + 86400, "ask_botox"),
        stats.UserEvent("c", day + 86400, "request_human"),
    ]
    result = stats.compute(
        events,
        {"a": "tr", "b": "ar"},
        [
            ticket("handoff", "c", datetime(2026, 12, 1, 10)),
            ticket("booking", "b", datetime(2026, 12, 1, 11)),
        ],
        [],
    )
    assert result.conversations == 3
    assert result.per_day_language == {"2026-11-30": {"tr": 1}, "2026-12-01": {"ar": 1, "?": 1}}
    assert result.topics[0] == ("ask_botox", 2)
    assert result.fallback_rate == 0.25
    assert result.handoff_rate == pytest.approx(1 / 3)
    assert result.bookings_per_day == {"2026-12-01": 1}
    for svg in (
        stats.stacked_days_chart("Per day <&>", result.per_day_language),
        stats.bar_chart("Topics", result.topics),
        stats.bar_chart("Empty", []),
    ):
        root = ElementTree.fromstring(svg)  # well-formed, escaped
        assert root.tag.endswith("svg") and root.get("role") == "img"


def test_passwords_are_argon2_and_checked_in_constant_form() -> None:
    hashed = auth.hash_password("a-long-password")
    assert hashed.startswith("$argon2id$")
    assert auth.verify_password(hashed, "a-long-password")
    assert not auth.verify_password(hashed, "wrong-password")
    assert not auth.verify_password(None, "a-long-password")
    with pytest.raises(auth.WeakPasswordError):
        auth.hash_password("short")


def test_login_rate_limit_per_user_and_per_address_with_a_window() -> None:
    clock = [0.0]
    limit = auth.LoginRateLimit(attempts=3, address_attempts=5, window=60, clock=lambda: clock[0])
    for _ in range(3):
        limit.failed("ayse", "10.0.0.1")
    assert limit.blocked("ayse", "10.0.0.2")
    assert not limit.blocked("ivan", "10.0.0.2")
    limit.failed("ivan", "10.0.0.1")
    limit.failed("omar", "10.0.0.1")
    assert limit.blocked("zeynep", "10.0.0.1")
    clock[0] = 61
    assert not limit.blocked("ayse", "10.0.0.1")


def test_translator_is_pluggable_and_none_by_default() -> None:
    assert isinstance(load_translator(None), NoTranslator)
    assert (
        load_translator("bot.coordinator.translation:NoTranslator").translate("x", "tr", "en")
        is None
    )
    with pytest.raises(ValueError):
        load_translator("no-colon")


def test_iso_times_are_utc() -> None:
    assert turns([user("x", "greet", time.time())], "en", {}, {})[0].time.endswith("+00:00")  # type: ignore[union-attr]
