"""MultilingualTokenizer: spaCy's blank pipeline of the detected language."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from bot.nlu.language_detector import DETECTED_LANGUAGE
from bot.nlu.tokenizer import MultilingualTokenizer


def tokens(text: str, language: str | None) -> list[str]:
    tokenizer = MultilingualTokenizer(MultilingualTokenizer.get_default_config())
    message = Message(data={"text": text, DETECTED_LANGUAGE: language})
    return [t.text for t in tokenizer.tokenize(message, "text")]


def test_french_elision_is_split_with_the_french_pipeline() -> None:
    assert tokens("l'injection coûte combien?", "fr") == ["l'", "injection", "coûte", "combien"]


def test_other_languages_keep_the_apostrophe_word() -> None:
    assert tokens("botoks'un yan etkileri", "tr") == ["botoks'un", "yan", "etkileri"]


def test_arabic_text_is_tokenized_on_words() -> None:
    assert tokens("كم سعر البوتوكس؟", "ar") == ["كم", "سعر", "البوتوكس"]


def test_unknown_language_falls_back_to_the_multilingual_pipeline() -> None:
    assert tokens("hello there", None) == ["hello", "there"]


def test_punctuation_only_message_keeps_one_token() -> None:
    assert tokens("?!", "en") == ["?!"]


def test_token_offsets_point_into_the_text() -> None:
    tokenizer = MultilingualTokenizer(MultilingualTokenizer.get_default_config())
    text = "Ameliyat  riskli mi?"
    message = Message(data={"text": text, DETECTED_LANGUAGE: "tr"})
    for token in tokenizer.tokenize(message, "text"):
        assert text[token.start : token.end] == token.text
