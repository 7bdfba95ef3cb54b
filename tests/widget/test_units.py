"""The widget channel's pure parts: origins, metadata, ids, labels and the served bundle."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bot.channels.widget import (
    RecentMessages,
    WidgetSocketIOInput,
    message_metadata,
    missed_messages,
    same_origin,
    valid_session_id,
)
from bot.channels.widget_assets import bundle_script, labels
from bot.cli import main as cli_main
from bot.cli import rasa_server_command
from bot.languages import SUPPORTED_LANGUAGES
from bot.nlu.language_detector import lingua_detector
from bot.origins import InvalidOriginError, origin_allowed, parse_origins
from tests.support.servers import ROOT

CLINIC = "https://clinic.example"


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        (None, ("*",)),
        ("", ("*",)),
        ("*", ("*",)),
        ("https://Clinic.example/", (CLINIC,)),
        ("https://clinic.example, http://localhost:8080", (CLINIC, "http://localhost:8080")),
        ("https://clinic.example https://clinic.example", (CLINIC,)),
    ],
)
def test_origins_setting_is_parsed_and_normalised(
    value: str | None, origins: tuple[str, ...]
) -> None:
    assert parse_origins(value) == origins


@pytest.mark.parametrize(
    "value", ["clinic.example", "ftp://clinic.example", "https://clinic.example/chat", "https://"]
)
def test_a_setting_that_is_not_an_origin_is_rejected(value: str) -> None:
    with pytest.raises(InvalidOriginError):
        parse_origins(value)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (CLINIC, True),
        ("https://CLINIC.example", True),
        ("http://clinic.example", False),
        ("https://clinic.example.evil.test", False),
        ("null", False),
    ],
)
def test_only_the_configured_origins_are_allowed(origin: str, allowed: bool) -> None:
    assert origin_allowed(origin, (CLINIC,)) is allowed


def test_any_origin_is_allowed_by_default() -> None:
    assert origin_allowed("https://anything.example", parse_origins(None))


def test_pages_served_by_the_bot_itself_are_same_origin() -> None:
    assert same_origin("http://localhost:5005", {"HTTP_HOST": "localhost:5005"})
    assert not same_origin("http://evil.example:5005", {"HTTP_HOST": "localhost:5005"})
    assert not same_origin("http://localhost:5005", {})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, {}),
        ({"customData": {"language": "ar"}}, {"language": "ar"}),
        ({"customData": '{"language": "ar"}'}, {"language": "ar"}),
        (
            {"metadata": {"language": "tr"}, "customData": {"language": "ar", "page": "x"}},
            {"language": "tr", "page": "x"},
        ),
        ({"metadata": "{broken"}, {}),
        ({"metadata": ["not", "an", "object"]}, {}),
        ({"metadata": "42"}, {}),
    ],
)
def test_metadata_merges_custom_data_and_metadata(
    data: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert message_metadata(data, "metadata") == expected


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("0f" * 16, True),
        ("webchat-user_1", True),
        ("", False),
        ("a b", False),
        ("<x>", False),
        ("x" * 129, False),
        (None, False),
        (42, False),
    ],
)
def test_session_ids_are_short_plain_strings(value: object, valid: bool) -> None:
    assert (valid_session_id(value) is not None) is valid


def test_a_message_id_counts_once_per_session_and_old_ids_are_forgotten() -> None:
    recent = RecentMessages(capacity=2)
    assert recent.first_time("s1", "m1")
    assert not recent.first_time("s1", "m1")
    assert recent.first_time("s2", "m1")
    assert recent.first_time("s1", "m2")  # evicts ("s1", "m1"), the oldest
    assert recent.first_time("s1", "m1")


def test_credentials_register_the_widget_channel_under_rasa_s_name() -> None:
    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text())
    channel = credentials["bot.channels.widget.WidgetSocketIOInput"]
    assert channel["session_persistence"] is True
    assert "socketio" not in credentials  # one socket.io channel, ours
    assert WidgetSocketIOInput.name() == "socketio"


def test_channel_reads_the_allowed_origins_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_CORS_ORIGINS", "https://clinic.example")
    channel = WidgetSocketIOInput.from_credentials({"session_persistence": True})
    assert isinstance(channel, WidgetSocketIOInput)
    assert channel.allowed_origins == (CLINIC,)
    assert channel.session_persistence is True


LABELS = labels()


def test_every_label_exists_in_all_six_languages() -> None:
    assert set(LABELS) == set(SUPPORTED_LANGUAGES)
    for language, texts in LABELS.items():
        assert set(texts) == set(LABELS["en"]), language
        assert all(text.strip() for text in texts.values()), language


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_labels_are_written_in_their_language(language: str) -> None:
    text = " ".join(LABELS[language][key] for key in ("welcome", "notice", "unavailable"))
    best = lingua_detector().compute_language_confidence_values(text)[0]
    assert best.language.iso_code_639_1.name.lower() == language


def test_the_bundle_keeps_the_socket_io_client_out_of_the_page_s_globals() -> None:
    script = bundle_script()
    assert script.index("(function (globalThis, define, module, exports) {") < script.index(
        "Socket.IO v4"
    )
    assert "sourceMappingURL" not in script


def test_make_run_passes_every_configured_origin_to_rasa_s_cors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_CORS_ORIGINS", "https://clinic.example, https://www.clinic.example")
    command = rasa_server_command(5005, ROOT / "m.tar.gz", ROOT / "e.yml", ROOT / "c.yml", None)
    cors = command.index("--cors")
    assert command[cors + 1 : cors + 3] == [CLINIC, "https://www.clinic.example"]


def test_make_run_refuses_an_origins_setting_that_is_not_an_origin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_CORS_ORIGINS", "clinic.example")
    assert cli_main(["run"]) == 2
    assert "BOT_CORS_ORIGINS" in capsys.readouterr().err


def _sent(message_id: str, text: str, **metadata: str) -> dict[str, object]:
    return {"event": "bot", "text": text, "metadata": {"message_id": message_id, **metadata}}


def test_missed_messages_are_the_console_sent_ones_after_the_last_shown() -> None:
    events = [
        {"event": "user", "text": "hi"},
        {"event": "bot", "text": "Hello!", "metadata": {"utter_action": "utter_greet"}},
        _sent("a", "Ayşe joined", **{"from": "bot"}),
        _sent("b", "Hello, Ayşe here", **{"from": "coordinator", "name": "Ayşe"}),
        _sent("c", "I'll call you", **{"from": "coordinator", "name": "Ayşe"}),
    ]
    assert [m["text"] for m in missed_messages(events, set())] == [
        "Ayşe joined",
        "Hello, Ayşe here",
        "I'll call you",
    ]
    assert [m["text"] for m in missed_messages(events, {"b"})] == ["I'll call you"]
    assert missed_messages(events, {"c"}) == []
    assert missed_messages(events, {"a", "c"}) == []  # only what came after the last shown
    assert missed_messages(events, {"c"}, limit=1) == []
    assert [m["text"] for m in missed_messages(events, set(), limit=1)] == ["I'll call you"]
    assert missed_messages(events, {"b"})[0]["metadata"] == {
        "from": "coordinator",
        "name": "Ayşe",
        "message_id": "c",
    }
