"""The channel's smaller parts: country hints, settings, signatures, stores, labels, the
Graph API client (against the fake Graph API)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Iterator

import pytest

from bot.channels.inbound import PatientState
from bot.channels.whatsapp import store as whatsapp_store
from bot.channels.whatsapp.channel_texts import CHANNEL_TEXTS
from bot.channels.whatsapp.cloud_api import WhatsAppOutput, valid_signature
from bot.channels.whatsapp.graph_api import GraphApiClient, GraphApiError, MediaTooLarge
from bot.channels.whatsapp.inbound import (
    File,
    Incoming,
    Kind,
    MediaOutcome,
    file_problem,
    language_hint,
    media_payload,
    menu_choice,
    user_text,
)
from bot.channels.whatsapp.phone_language import language_for_phone
from bot.channels.whatsapp.settings import InvalidSettings, load_settings
from bot.channels.whatsapp.store import (
    ChannelStore,
    InMemoryChannelStore,
    SqlChannelStore,
)
from bot.languages import SUPPORTED_LANGUAGES
from bot.nlu.language_detector import lingua_detector
from tests.support.fake_graph_api import Failure, FakeGraphApi, fake_graph_api
from tests.support.postgres import temporary_database


@pytest.mark.parametrize(
    ("number", "language"),
    [
        ("905321234567", "tr"),
        ("whatsapp:+905321234567", "tr"),
        ("79161234567", "ru"),
        ("77011234567", "ru"),
        ("4915112345678", "de"),
        ("436641234567", "de"),
        ("41791234567", "de"),
        ("33612345678", "fr"),
        ("32470123456", "fr"),
        ("966501234567", "ar"),
        ("971501234567", "ar"),
        ("212612345678", "ar"),
        ("201001234567", "ar"),
        ("16505551234", None),
        ("447700900123", None),
        ("", None),
        ("not a number", None),
    ],
)
def test_country_code_hint(number: str, language: str | None) -> None:
    assert language_for_phone(number) == language


def test_hint_only_while_the_conversation_has_no_language_and_the_text_does_not_tell() -> None:
    assert language_hint("905321234567", None, "botox?") == "tr"
    assert language_hint("905321234567", "en", "botox?") is None
    assert language_hint("905321234567", None, "What exactly is hemifacial spasm?") is None
    assert language_hint("16505551234", None, "botox?") is None


def test_media_payload_names_the_outcome_and_the_language() -> None:
    assert (
        media_payload(MediaOutcome.ATTACHED, "image", "tr")
        == '/out_of_scope{"media_attached": "image", "language": "tr"}'
    )
    assert (
        media_payload(MediaOutcome.UNSUPPORTED, "location", None)
        == '/out_of_scope{"media_unsupported": "location"}'
    )


REQUIRED_ENV = {
    "WHATSAPP_VERIFY_TOKEN": "v",
    "WHATSAPP_APP_SECRET": "s",
    "WHATSAPP_ACCESS_TOKEN": "a",
    "WHATSAPP_PHONE_NUMBER_ID": "1",
    "WHATSAPP_API_BASE_URL": "https://graph.facebook.com/v23.0/",
}


def test_settings_come_from_the_environment() -> None:
    settings, missing = load_settings(None, REQUIRED_ENV)
    assert missing == [] and settings is not None
    assert settings.api_base_url == "https://graph.facebook.com/v23.0"
    assert settings.database_url is None and settings.media_max_bytes > 0


def test_credentials_values_win_over_the_environment() -> None:
    settings, _ = load_settings(
        {"verify_token": "from-file", "phone_number_id": None}, REQUIRED_ENV
    )
    assert settings is not None and (settings.verify_token, settings.phone_number_id) == (
        "from-file",
        "1",
    )


def test_missing_settings_are_named_and_disable_the_channel() -> None:
    settings, missing = load_settings(
        None, {"WHATSAPP_VERIFY_TOKEN": "v", "WHATSAPP_APP_SECRET": " "}
    )
    assert settings is None
    assert missing == [
        "WHATSAPP_APP_SECRET",
        "WHATSAPP_ACCESS_TOKEN",
        "WHATSAPP_PHONE_NUMBER_ID",
        "WHATSAPP_API_BASE_URL",
    ]


@pytest.mark.parametrize(
    "override",
    [
        {"WHATSAPP_MEDIA_MAX_BYTES": "ten"},
        {"WHATSAPP_MEDIA_MAX_BYTES": "0"},
        {"WHATSAPP_API_BASE_URL": "graph"},
    ],
)
def test_unusable_settings_fail_at_start_up_with_the_variable_name(
    override: dict[str, str],
) -> None:
    with pytest.raises(InvalidSettings, match=next(iter(override))):
        load_settings(None, {**REQUIRED_ENV, **override})


def test_signature_is_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"object":"whatsapp_business_account"}'
    import hmac

    good = "sha256=" + hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert valid_signature(body, good, "secret")
    assert valid_signature(body, good.upper().replace("SHA256=", "sha256="), "secret")
    assert not valid_signature(body + b" ", good, "secret")
    assert not valid_signature(body, good, "other")
    assert not valid_signature(body, None, "secret")
    assert not valid_signature(body, good.removeprefix("sha256="), "secret")


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChannelStore]:
    if request.param == "memory":
        yield InMemoryChannelStore()
    elif request.param == "sqlite":
        sql = SqlChannelStore(f"sqlite:///{tmp_path / 'whatsapp.db'}")
        yield sql
        sql.dispose()
    else:
        with temporary_database() as url:
            sql = SqlChannelStore(url)
            yield sql
            sql.dispose()


def test_a_message_id_is_claimed_once(store: ChannelStore) -> None:
    assert store.claim_message("wamid.1") is True
    assert store.claim_message("wamid.1") is False
    assert store.claim_message("wamid.2") is True


def test_a_menu_is_used_once(store: ChannelStore) -> None:
    store.remember_menu("905321234567", ["/a", "/b"])
    store.remember_menu("905321234567", ["/c"])  # the latest menu counts
    assert store.take_menu("905321234567") == ("/c",)
    assert store.take_menu("905321234567") == ()


def test_an_old_menu_has_expired(store: ChannelStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.remember_menu("905321234567", ["/a"])
    later = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(days=2)
    monkeypatch.setattr(whatsapp_store, "utcnow", lambda: later)
    assert store.take_menu("905321234567") == ()


def test_the_sql_store_keeps_no_phone_number(tmp_path: Path) -> None:
    path = tmp_path / "whatsapp.db"
    sql = SqlChannelStore(f"sqlite:///{path}")
    sql.remember_menu("905321234567", ["/a"])
    sql.dispose()
    assert b"905321234567" not in path.read_bytes()


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_channel_texts_exist_in_every_language_and_are_written_in_it(language: str) -> None:
    texts = CHANNEL_TEXTS[language]
    assert 0 < len(texts.list_button) <= 20
    for sentence in (texts.menu_hint, texts.technical_problem):
        best = lingua_detector().compute_language_confidence_values(sentence)[0]
        assert best.language.iso_code_639_1.name.lower() == language, sentence
        assert not re.search(r"\d", sentence)


@pytest.fixture
def graph() -> Iterator[FakeGraphApi]:
    with fake_graph_api("token", "123") as fake:
        yield fake


def client_for(graph: FakeGraphApi, sleeps: list[float], token: str = "token") -> GraphApiClient:
    return GraphApiClient(graph.base_url, token, "123", sleep=sleeps.append)


def test_send_retries_on_429_honouring_retry_after_and_on_5xx(graph: FakeGraphApi) -> None:
    sleeps: list[float] = []
    graph.fail_next_sends(Failure(429, {"Retry-After": "7"}), Failure(500), Failure(502))
    message_id = client_for(graph, sleeps).send_message(
        "905321234567", {"type": "text", "text": {"body": "hi"}}
    )
    assert message_id and message_id.startswith("wamid.")
    assert sleeps == [7.0, 1.0, 2.0]
    assert len(graph.attempts_to("905321234567")) == 4


def test_retry_after_is_capped(graph: FakeGraphApi) -> None:
    sleeps: list[float] = []
    graph.fail_next_sends(Failure(429, {"Retry-After": "3600"}))
    client_for(graph, sleeps).send_message("1", {"type": "text", "text": {"body": "hi"}})
    assert sleeps == [30.0]


def test_a_client_error_is_not_retried(graph: FakeGraphApi) -> None:
    sleeps: list[float] = []
    graph.fail_next_sends(Failure(400, body={"error": {"code": 131047}}))
    with pytest.raises(GraphApiError) as error:
        client_for(graph, sleeps).send_message("1", {"type": "text", "text": {"body": "hi"}})
    assert (error.value.status, error.value.code, sleeps) == (400, 131047, [])


def test_giving_up_after_the_last_attempt(graph: FakeGraphApi) -> None:
    sleeps: list[float] = []
    graph.fail_next_sends(*[Failure(503)] * 4)
    with pytest.raises(GraphApiError):
        client_for(graph, sleeps).send_message("1", {"type": "text", "text": {"body": "hi"}})
    assert len(sleeps) == 3


def test_an_unreachable_api_is_an_error_not_a_crash() -> None:
    sleeps: list[float] = []
    client = GraphApiClient("http://127.0.0.1:9/v23.0", "token", "123", sleep=sleeps.append)
    with pytest.raises(GraphApiError):
        client.mark_read("wamid.1")
    assert len(sleeps) == 3


def test_the_access_token_is_sent_as_a_bearer_token(graph: FakeGraphApi) -> None:
    with pytest.raises(GraphApiError) as error:
        client_for(graph, [], token="wrong").mark_read("wamid.1")
    assert error.value.status == 401
    assert graph.calls()[-1].authorization == "Bearer wrong"


def test_media_download_stops_at_the_limit(graph: FakeGraphApi) -> None:
    graph.serve_media("m-1", b"x" * 5000, "image/jpeg")
    client = client_for(graph, [])
    info = client.media_info("m-1")
    assert (info.mime_type, info.file_size) == ("image/jpeg", 5000)
    assert client.download_media(info.url, 5000) == b"x" * 5000
    with pytest.raises(MediaTooLarge):
        client.download_media(info.url, 4999)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2", "/b"),
        (" 2. ", "/b"),
        ("1)", "/a"),
        ("٢", "/b"),
        ("3", None),
        ("0", None),
        ("two", None),
        ("", None),
    ],
)
def test_a_typed_number_picks_the_menu_option(typed: str, expected: str | None) -> None:
    assert menu_choice(typed, ("/a", "/b")) == expected


async def test_a_numbered_menu_is_sent_and_remembered_for_the_patients_answer(
    graph: FakeGraphApi,
) -> None:
    store = InMemoryChannelStore()
    output = WhatsAppOutput(client_for(graph, []), store)
    many = [{"title": f"Option {i}", "payload": f"/choice_{i}"} for i in range(12)]
    await output.send_response("905321234567", {"text": "Bir seçenek belirleyin.", "buttons": many})
    [sent] = graph.sent_to("905321234567")
    assert sent["text"]["body"].endswith("Lütfen seçtiğiniz seçeneğin numarasını yazın.")
    assert menu_choice("12", store.take_menu("905321234567")) == "/choice_11"


# ---- the inbound code both channels share ---------------------------------------------

NO_STATE = PatientState(None, None)


@pytest.mark.parametrize(
    ("incoming", "menu", "expected"),
    [
        (Incoming("905321234567", "m1", Kind.TEXT, "2"), ("/a", "/b"), ("/b", None)),
        (Incoming("whatsapp:+905321234567", "m2", Kind.TEXT, "2"), ("/a", "/b"), ("/b", None)),
        (Incoming("905321234567", "m3", Kind.PAYLOAD, "/affirm"), (), ("/affirm", None)),
        (Incoming("905321234567", "m4", Kind.TEXT, "botox?"), (), ("botox?", "tr")),
        (Incoming("whatsapp:+905321234567", "m5", Kind.TEXT, "botox?"), (), ("botox?", "tr")),
    ],
)
def test_both_channels_turn_a_message_into_the_same_text(
    incoming: Incoming, menu: tuple[str, ...], expected: tuple[str, str | None]
) -> None:
    assert user_text(incoming, NO_STATE, menu) == expected


def test_a_file_becomes_the_media_payload_with_the_numbers_language() -> None:
    incoming = Incoming("whatsapp:+905321234567", "m6", Kind.MEDIA, media_type="image")
    text, hint = user_text(incoming, NO_STATE, (), MediaOutcome.ATTACHED)
    assert text == '/out_of_scope{"media_attached": "image", "language": "tr"}' and hint is None


@pytest.mark.parametrize(
    ("file", "problem"),
    [
        (File(b"%PDF", "application/pdf"), None),
        (
            File(b"%PDF", "application/pdf", expected_sha256=hashlib.sha256(b"%PDF").hexdigest()),
            None,
        ),
        (File(b"%PDF", "application/pdf", expected_sha256="0" * 64), "its SHA-256 does not match"),
        (File(b"PK", "application/zip"), "type application/zip is not accepted"),
        (File(b"x" * 11, "image/png"), "larger than 10 bytes"),
    ],
)
def test_a_file_is_checked_before_it_is_attached(file: File, problem: str | None) -> None:
    assert file_problem(file, {"application/pdf", "image/png"}, 10) == problem
