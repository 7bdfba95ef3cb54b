"""Tokenizes each message with `spacy.blank(lang)` for the language it was detected in."""

from __future__ import annotations

from functools import cache
from typing import Any, Dict, List, Optional

import spacy
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message
from spacy.language import Language as SpacyLanguage

from bot.languages import SUPPORTED_LANGUAGES
from bot.nlu.language_detector import DETECTED_LANGUAGE

FALLBACK_PIPELINE = "xx"  # spaCy's multi-language tokenizer


@cache
def blank_pipeline(language: str) -> SpacyLanguage:
    """One blank spaCy pipeline per language and process (no model download)."""
    return spacy.blank(language if language in SUPPORTED_LANGUAGES else FALLBACK_PIPELINE)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class MultilingualTokenizer(Tokenizer):
    """Chooses the spaCy tokenizer by `detected_language` (set by LanguageDetector)."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    def __init__(self, config: Dict[str, Any]) -> None:
        super().__init__(config)
        for language in SUPPORTED_LANGUAGES:
            blank_pipeline(language)

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MultilingualTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> List[Token]:
        text: Optional[str] = message.get(attribute)
        if not text:
            return []
        language = message.get(DETECTED_LANGUAGE) or FALLBACK_PIPELINE
        doc = blank_pipeline(language).make_doc(text)
        tokens = [Token(t.text, t.idx) for t in doc if not t.is_space and not t.is_punct]
        if not tokens:  # "?" or "👍" alone: keep one token so featurizers see the message
            tokens = [Token(text, 0)]
        return self._apply_token_pattern(tokens)
