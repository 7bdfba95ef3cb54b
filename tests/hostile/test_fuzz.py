"""Property-based fuzzing (hypothesis) of every parser and payload handler a stranger's
bytes reach: each returns well-formed output or raises only its module's own error."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actions import booking_fields
from bot.channels.limits import (
    MemoryRateLimiter,
    Rate,
    RedisRateLimiter,
    clean_text,
    cut_text,
)
from bot.channels.patients import BadRequest, SendRequest, parse_send_request
from bot.channels.rest import BadRestRequest, RestRequest, parse_rest_request
from bot.channels.whatsapp.payloads import Delivery, MalformedDelivery, parse_delivery
from bot.channels.whatsapp.twilio import media_kind
from bot.channels.widget import message_metadata, valid_session_id

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GRAPHEME = regex.compile(r"\X")
TOKEN = regex.compile(r"\w+|(?!\s)\X")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)
# texts that stress grapheme handling: combining marks, emoji with modifiers and ZWJ, RTL
tricky_text = st.lists(
    st.characters(blacklist_categories=("Cs",))
    | st.sampled_from(["\u0301", "\u200d", "👍", "🏽", "👩‍👩‍👧", "🇹🇷", " ", "\n", "ع", "\ufe0f"]),
    max_size=150,
).map("".join)


def graphemes(text: str) -> list[str]:
    return GRAPHEME.findall(text)


# --- the message cut -----------------------------------------------------------------


@FUZZ
@given(tricky_text, st.integers(min_value=1, max_value=120))
def test_the_cut_is_a_prefix_of_whole_graphemes_within_the_limit(text: str, limit: int) -> None:
    cut, was_cut = cut_text(text, limit)
    assert was_cut == (len(text) > limit)
    if not was_cut:
        assert cut == text
        return
    assert 0 < len(cut) <= limit or len(graphemes(text)[0]) > limit
    assert text.startswith(cut)
    whole = graphemes(text)
    assert graphemes(cut) == whole[: len(graphemes(cut))] or len(cut) == 1


@FUZZ
@given(tricky_text, st.integers(min_value=1, max_value=40))
def test_the_cut_keeps_at_most_max_tokens(text: str, max_tokens: int) -> None:
    cut, was_cut = cut_text(text, 10_000, max_tokens)
    assert text.startswith(cut)
    assert len(TOKEN.findall(cut)) <= max_tokens or len(graphemes(cut)) == 1
    assert was_cut or cut == text


@FUZZ
@given(st.text(max_size=300))
def test_clean_text_gives_encodable_text_without_control_characters(text: str) -> None:
    cleaned = clean_text(text)
    cleaned.encode("utf-8")  # no lone surrogates left
    assert not any(ord(c) < 32 and c not in "\t\n\r" for c in cleaned)


def test_surrogate_pairs_from_json_escapes_become_one_character() -> None:
    text = json.loads('"a\\ud83d\\ude00b\\ud800"')
    assert clean_text(text) == "a😀b\ufffd"


def test_a_cut_never_splits_an_emoji_with_modifiers_or_a_combining_sequence() -> None:
    assert cut_text("ab 👩‍👩‍👧👩‍👩‍👧", 6) == ("ab", True)
    assert cut_text("e\u0301" * 5, 5) == ("e\u0301e\u0301", True)
    assert cut_text("word " * 10, 12) == ("word word", True)


# --- the rate limit -----------------------------------------------------------------


def test_the_memory_bucket_allows_the_burst_then_the_rate() -> None:
    now = [0.0]
    limiter = MemoryRateLimiter(Rate(per_minute=60, burst=3), clock=lambda: now[0])
    assert [limiter.allow_now("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow_now("b")  # per sender
    now[0] += 1.0  # one token per second
    assert limiter.allow_now("a") and not limiter.allow_now("a")


async def test_the_redis_bucket_is_shared_by_two_processes_limiters() -> None:
    rate = Rate(per_minute=60, burst=3)
    one = RedisRateLimiter("redis://127.0.0.1:6379/0", rate, prefix="hfs:test-rate:")
    two = RedisRateLimiter("redis://127.0.0.1:6379/0", rate, prefix="hfs:test-rate:")
    sender = f"whatsapp:+9{asyncio.get_running_loop().time()}"
    results = [await one.allow(sender), await two.allow(sender), await one.allow(sender)]
    assert results == [True, True, True]
    assert not await two.allow(sender)


async def test_the_redis_bucket_lets_messages_through_when_redis_is_down() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", Rate(60, 1))
    assert await limiter.allow("a") and await limiter.allow("a")


# --- channel parsers -----------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_rest_bodies_parse_or_raise_bad_rest_request(body: bytes) -> None:
    try:
        parsed = parse_rest_request(body)
    except BadRestRequest:
        return
    assert isinstance(parsed, RestRequest)
    assert isinstance(parsed.sender, str) and isinstance(parsed.text, str)
    assert isinstance(parsed.metadata, dict)


@FUZZ
@given(
    st.fixed_dictionaries(
        {"sender": st.text(max_size=20) | json_values, "message": st.text() | json_values},
        optional={"metadata": json_values, "input_channel": json_values},
    )
)
def test_rest_messages_of_any_shape_parse_or_raise(body: dict[str, Any]) -> None:
    try:
        parsed = parse_rest_request(json.dumps(body).encode())
    except BadRestRequest:
        return
    assert parsed.sender == body["sender"] and parsed.text == body["message"]


def test_deeply_nested_rest_json_is_a_bad_request() -> None:
    with pytest.raises(BadRestRequest):
        parse_rest_request(b"[" * 200_000 + b"]" * 200_000)


@FUZZ
@given(json_values)
def test_whatsapp_deliveries_parse_or_raise_malformed_delivery(body: Any) -> None:
    try:
        delivery = parse_delivery(body, "123")
    except MalformedDelivery:
        return
    assert isinstance(delivery, Delivery)


@FUZZ
@given(
    st.fixed_dictionaries(
        {
            "object": st.just("whatsapp_business_account"),
            "entry": st.lists(
                st.fixed_dictionaries(
                    {
                        "changes": st.lists(
                            st.fixed_dictionaries(
                                {
                                    "value": st.fixed_dictionaries(
                                        {
                                            "metadata": st.just({"phone_number_id": "123"}),
                                            "messages": st.lists(json_values, max_size=3),
                                            "contacts": json_values,
                                            "statuses": json_values,
                                        }
                                    )
                                }
                            ),
                            max_size=2,
                        )
                    }
                ),
                max_size=2,
            ),
        }
    )
)
def test_whatsapp_messages_of_any_shape_parse(body: dict[str, Any]) -> None:
    delivery = parse_delivery(body, "123")
    for message in delivery.messages:
        assert isinstance(message.wa_id, str) and isinstance(message.message_id, str)


@FUZZ
@given(st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=8))
def test_twilio_forms_of_any_shape_give_a_media_kind_or_none(form: dict[str, str]) -> None:
    assert media_kind(form) in {None, "image", "audio", "video", "document", "location"}


@FUZZ
@given(json_values, st.sampled_from(["metadata", "customData", "other"]))
def test_socketio_metadata_of_any_shape_is_an_object(value: Any, key: str) -> None:
    data = {"customData": value, "metadata": value, key: value}
    if isinstance(value, dict | list):
        data["metadata"] = json.dumps(value)
    assert isinstance(message_metadata(data, key), dict)


def test_socketio_metadata_nested_absurdly_is_ignored() -> None:
    assert message_metadata({"customData": "[" * 100_000}, "metadata") == {}


@FUZZ
@given(json_values | st.text(max_size=300))
def test_socketio_session_ids_are_short_plain_strings_or_none(value: Any) -> None:
    session_id = valid_session_id(value)
    assert session_id is None or (
        isinstance(session_id, str)
        and 0 < len(session_id) <= 128
        and regex.fullmatch(r"[A-Za-z0-9_.:@-]+", session_id)
    )


@FUZZ
@given(json_values)
def test_patient_send_requests_parse_or_raise_bad_request(body: Any) -> None:
    try:
        parsed = parse_send_request(body)
    except BadRequest:
        return
    assert isinstance(parsed, SendRequest)


# --- booking fields ------------------------------------------------------------------


@FUZZ
@given(tricky_text, st.sampled_from([None, "TR", "DE", "SA", "RU", "FR", "GB", "XX"]))
def test_booking_field_parsers_return_text_or_none(text: str, region: str | None) -> None:
    name = booking_fields.parse_name(text)
    assert name is None or (isinstance(name, str) and len(name) <= 100)
    assert booking_fields.parse_country(text) is None or booking_fields.region_code(
        booking_fields.parse_country(text)
    )
    contact = booking_fields.parse_contact(text, region)
    assert contact is None or isinstance(contact, str)


@settings(max_examples=60, deadline=None)
@given(tricky_text, st.sampled_from(["en", "ar", "tr", "ru", "de", "fr"]))
def test_preferred_dates_parse_and_format_any_text(text: str, language: str) -> None:
    value = booking_fields.parse_preferred_dates(text, language)
    assert isinstance(booking_fields.format_preferred_dates(value, language), str)


INJECTIONS = ["'; DROP TABLE events; --", "<script>alert(1)</script>", "{{7*7}}", "{slot}", "${x}"]


@pytest.mark.parametrize("injection", INJECTIONS)
def test_injection_strings_are_kept_verbatim_or_refused_never_evaluated(injection: str) -> None:
    name = booking_fields.parse_name(f"Ayşe {injection}")
    assert name is None or name == f"Ayşe {injection}"
    assert booking_fields.format_contact(injection) == injection  # shown as typed
