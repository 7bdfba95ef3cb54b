"""Detects the patient's language and emits a `language` entity only when confident.

Short or language-neutral messages ("ok", "botox?", "👍") emit nothing, so the sticky
`language` slot keeps the conversation's language. A client hint in the message metadata
(`{"language": "ar"}`) wins: the widget sends it with the first message and whenever the
patient picks a language; the WhatsApp channel derives it from the phone's country code.

Every message also gets `detected_language` (the best guess, even when not confident),
which the multilingual tokenizer uses to pick its spaCy pipeline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, List, Optional

from lingua import Language, LanguageDetectorBuilder
from lingua import LanguageDetector as LinguaDetector
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.languages import SUPPORTED_LANGUAGES, normalise_language
from bot.nlu.text import fold

DETECTED_LANGUAGE = "detected_language"
# The best guess when the text says anything about its language (not "ok", "Botox?"):
# the first message of a conversation decides the language with it, however unsure
# (bot/nlg.py, action_answer_medical); later messages switch only when confident.
LANGUAGE_GUESS = "language_guess"
LANGUAGE_ENTITY = "language"

_LINGUA_BY_CODE: dict[str, Language] = {
    "en": Language.ENGLISH,
    "ar": Language.ARABIC,
    "tr": Language.TURKISH,
    "ru": Language.RUSSIAN,
    "de": Language.GERMAN,
    "fr": Language.FRENCH,
}
# Letters of the scripts our languages are written in: runes or Hangul say nothing.
_OUR_LETTERS = re.compile(r"[A-Za-z\u00C0-\u024F\u0400-\u04FF\u0600-\u06FF]")
# Scripts that only one of our six languages uses: certain even for one word.
_SCRIPT_LANGUAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]"), "ar"),
    (re.compile(r"[\u0400-\u04FF]"), "ru"),
)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
# E-mail addresses and links say nothing about the language a patient writes in.
_ADDRESS = re.compile(r"\S+@\S+|\S+://\S+|www\.\S+", re.IGNORECASE)
# Arabizi (Arabic in Latin letters): digits for Arabic letters inside words ("3amaliye",
# "a7san", "ta2reeban") or its common words. A guess, never confident.
_ARABIZI_DIGIT_WORD = re.compile(
    r"(?<![\w])[a-z]*[a-z][2356789][a-z]+|(?<![\w])[2356789][a-z]{2,}", re.IGNORECASE
)
_ARABIZI_WORDS = frozenset(
    "shu shou ya3ni badde bade baddi momken mumkin addesh 3amaliye 3amaliyye marhaba shukran "
    "yislamo ahlan lazem kteer ktir lesh mesh mish howa hiye wallah habibi inshallah "
    "tashannuj tashanoj mostashfa se3r bkam".split()
)

# Russian in Latin letters ("skolko stoit operaciya"): lingua reads it as Turkish or
# English. Its common words, none of them a word of our other languages. A guess, never
# confident, like Arabizi.
_RUSSIAN_TRANSLIT_WORDS = frozenset(
    "chto shto kak kakoy kakoi kakaya kakie kakih skolko skoka mozhno nuzhno nado pochemu "
    "zachem kogda gde eto etot etogo menya mne moy moya moego moemu ochen tolko posle "
    "operaciya operaciyu operacii operatsiya operatsiyu operatsii lechenie lecheniya lechitsya "
    "stoit stoimost bolnice bolnitse klinike hochu khochu mozhet pomogaet pomozhet opasno "
    "opasnaya spasibo zdravstvuyte zdravstvujte privet dobryy dobryj vrach vracha lico litso "
    "dergaetsya dergaet glaz glaza skazhite podskazhite pozhaluysta pozhalujsta nuzhen nuzhna "
    "perevodchik perevodchika dney dnej budet byvaet delayut delaetsya bolezn".split()
)


@dataclass(frozen=True)
class Detection:
    """The best guess for a text, and whether it is confident enough to switch language."""

    language: str
    confidence: float
    confident: bool
    informative: bool = True  # False: nothing in the text but neutral words


@lru_cache(maxsize=1)
def lingua_detector() -> LinguaDetector:
    """Builds the lingua detector once per process, with all six models loaded now."""
    languages = [_LINGUA_BY_CODE[code] for code in SUPPORTED_LANGUAGES]
    return (
        LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()
    )


def detect_language(
    text: str,
    neutral_words: frozenset[str],
    short_text_threshold: float,
    long_text_threshold: float,
    short_text_words: int,
    default_language: str,
) -> Detection:
    """Guesses the language of `text`; neutral words ("ok", "botox") carry no signal."""
    words = [w for w in _WORD.findall(_ADDRESS.sub(" ", text)) if fold(w) not in neutral_words]
    if not words or not _OUR_LETTERS.search(" ".join(words)):
        return Detection(default_language, 0.0, False, informative=False)
    meaningful = " ".join(words)
    for pattern, code in _SCRIPT_LANGUAGES:
        if pattern.search(meaningful):
            return Detection(code, 1.0, True)
    if _is_arabizi(text, words):
        return Detection("ar", 0.5, False)
    if _is_russian_translit(words):
        return Detection("ru", 0.5, False)
    values = lingua_detector().compute_language_confidence_values(meaningful)
    best = values[0]
    code = best.language.iso_code_639_1.name.lower()
    threshold = short_text_threshold if len(words) < short_text_words else long_text_threshold
    if best.value < threshold:
        # unsure: a greeting or question word only one language uses ("hallo", "wie")
        # is a better guess than lingua's on two or three words
        code = _cue_language(words) or code
    return Detection(code, best.value, best.value >= threshold)


@lru_cache(maxsize=1)
def _cue_words() -> dict[str, str]:
    """Greetings and question words that belong to exactly one of our languages."""
    from bot.nlu.segmentation import all_cues

    owners: dict[str, set[str]] = {}
    for language, cues in all_cues().items():
        for word in (
            *cues.greetings,
            *cues.question_words,
            *cues.question_verbs,
            *cues.common_words,
        ):
            owners.setdefault(word, set()).add(language)
    return {word: next(iter(langs)) for word, langs in owners.items() if len(langs) == 1}


def _cue_language(words: list[str]) -> Optional[str]:
    cues = _cue_words()
    votes = [cues[fold(w)] for w in words if fold(w) in cues]
    return max(set(votes), key=votes.count) if votes else None


def _is_arabizi(text: str, words: list[str]) -> bool:
    return bool(_ARABIZI_DIGIT_WORD.search(text)) or _common_words_say(words, _ARABIZI_WORDS)


def _is_russian_translit(words: list[str]) -> bool:
    return _common_words_say(words, _RUSSIAN_TRANSLIT_WORDS)


def _common_words_say(words: list[str], vocabulary: frozenset[str]) -> bool:
    """Two of a vocabulary's common words, or one in a message of one or two words."""
    hits = sum(fold(w) in vocabulary for w in words)
    return hits >= 2 or (hits == 1 and len(words) <= 2)


@DefaultV1Recipe.register(
    # Registered as a tokenizer-type component so that it also runs on the training
    # data (the tokenizer needs `detected_language` there too); it emits an entity.
    [DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER],
    is_trainable=False,
)
class LanguageDetector(GraphComponent, EntityExtractorMixin):
    """Sets `detected_language` on every message and a `language` entity when sure."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "neutral_words": ["ok", "okay", "okey", "oki", "k", "kk", "botox", "mri", "mvd", "hfs"],
            "short_text_words": 3,
            "short_text_threshold": 0.72,
            "long_text_threshold": 0.6,
            "default_language": "en",
        }

    def __init__(self, config: Dict[str, Any]) -> None:
        self._neutral_words = frozenset(fold(w) for w in config["neutral_words"])
        self._short_text_words = int(config["short_text_words"])
        self._short_text_threshold = float(config["short_text_threshold"])
        self._long_text_threshold = float(config["long_text_threshold"])
        self._default_language = normalise_language(config["default_language"]) or "en"
        lingua_detector()  # load the models at start-up, not on the first patient message

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        return cls(config)

    def detect(self, text: str) -> Detection:
        return detect_language(
            text,
            self._neutral_words,
            self._short_text_threshold,
            self._long_text_threshold,
            self._short_text_words,
            self._default_language,
        )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            text = example.get(TEXT)
            if text:
                example.set(DETECTED_LANGUAGE, self.detect(text).language)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._process_message(message)
        return messages

    def _process_message(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        hint = _metadata_hint(message.get(METADATA))
        detection = self.detect(text)
        if hint is not None:
            detection = Detection(hint, 1.0, True)
        message.set(DETECTED_LANGUAGE, detection.language)
        if detection.informative:
            message.set(LANGUAGE_GUESS, detection.language, add_to_output=True)
        if not detection.confident:
            return
        entity = {
            "entity": LANGUAGE_ENTITY,
            "value": detection.language,
            "start": 0,
            "end": len(text),
            "confidence_entity": round(detection.confidence, 3),
        }
        entities = [e for e in message.get(ENTITIES, []) if e.get("entity") != LANGUAGE_ENTITY]
        message.set(ENTITIES, entities + self.add_extractor_name([entity]), add_to_output=True)


def _metadata_hint(metadata: Optional[Dict[str, Any]]) -> Optional[str]:
    if not isinstance(metadata, dict):
        return None
    return normalise_language(metadata.get("language"))
