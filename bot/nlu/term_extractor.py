"""Extracts `procedure` entities (and the target of `change_language`) with a PhraseMatcher.

Term lists are data: `data/terms/<lang>.yml`, per canonical value the surface forms a
patient may write in that language (inflections included). Matching runs on lowercased,
diacritic-folded text (`bot.nlu.text.fold`), so "ameliyatı", "ameliyati" and "AMELIYATI"
match the same term. A word ending in `*` is a stem: it matches any word that begins with
it ("alerji*" matches "alerjim", "alerjisi"; "аллерг*" matches "аллергия",
"аллергией"), so an inflecting language needs one entry, not every case ending. Arabic words
are also tried without a leading proclitic (و ف ب ل ك, with or without ال): "والحامل" is
"حامل". Where a stem and an exact form overlap, the longer match wins. The lists are read
at training time and stored in the model, so a trained model does not depend on the
repository's files.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from spacy.matcher import PhraseMatcher
from spacy.util import filter_spans

from bot.nlu.text import fold
from bot.nlu.tokenizer import blank_pipeline

TERMS_FILE = "terms.json"
LANGUAGE_ENTITY = "language"
# Language names count only when the patient asks to switch: "my mother speaks Arabic"
# inside a medical question must not change the conversation's language.
LANGUAGE_NAME_INTENT = "change_language"


class TermFileError(ValueError):
    """A term file in data/terms/ is not in the expected shape."""


@dataclass(frozen=True)
class Term:
    entity: str
    value: str
    surface: str


def read_term_files(paths: Iterable[Path]) -> list[Term]:
    """Reads `entity -> value -> [surface forms]` mappings from YAML files."""
    terms: list[Term] = []
    for path in sorted(paths):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(content, dict):
            raise TermFileError(f"{path}: expected a mapping of entity -> value -> terms")
        for entity, values in content.items():
            if not isinstance(values, dict):
                raise TermFileError(f"{path}: '{entity}' must map values to term lists")
            for value, surfaces in values.items():
                if not isinstance(surfaces, list) or not all(isinstance(s, str) for s in surfaces):
                    raise TermFileError(f"{path}: '{entity}.{value}' must be a list of strings")
                terms.extend(Term(str(entity), str(value), s) for s in surfaces if s.strip())
    return terms


STEM_MARK = "*"
# Arabic proclitics written onto the next word, longest first ("وال" before "و")
_ARABIC_PROCLITICS = ("وبال", "وال", "بال", "فال", "كال", "لل", "ال", "و", "ف", "ب", "ل", "ك")
_MIN_STEM_REST = 3  # letters a word keeps after its proclitic is taken off


@dataclass(frozen=True)
class _Stem:
    words: tuple[tuple[str, bool], ...]  # each word, and whether it is a stem (`word*`)
    label: tuple[str, str]

    def fits(self, tokens: list[str]) -> bool:
        return len(tokens) == len(self.words) and all(
            token.startswith(word) if is_stem else token == word
            for token, (word, is_stem) in zip(tokens, self.words, strict=False)
        )


class TermMatcher:
    """PhraseMatcher over folded surface forms, plus stems (`word*`, in any word of a
    term: "лучш* клиник*"); returns non-overlapping longest matches."""

    def __init__(self, terms: list[Term]) -> None:
        self._nlp = blank_pipeline("xx")
        self._matcher = PhraseMatcher(self._nlp.vocab, attr="ORTH")
        self._labels: dict[str, tuple[str, str]] = {}
        self._stems: dict[str, list[_Stem]] = {}  # by their first word's first letter
        for index, term in enumerate(_unique(terms)):
            form = _match_form(term.surface)
            if STEM_MARK in form:
                self._add_stem(form, (term.entity, term.value))
                continue
            key = f"t{index}"
            self._labels[key] = (term.entity, term.value)
            self._matcher.add(key, [self._nlp.make_doc(form)])

    def _add_stem(self, form: str, label: tuple[str, str]) -> None:
        words: list[tuple[str, bool]] = []
        for word in form.split():
            tokens = [t.text for t in self._nlp.make_doc(word.rstrip(STEM_MARK))]
            words += [(t, False) for t in tokens[:-1]]
            if tokens:
                words.append((tokens[-1], word.endswith(STEM_MARK)))
        if words:
            self._stems.setdefault(words[0][0][0], []).append(_Stem(tuple(words), label))

    def _stem_matches(self, doc: Any) -> list[tuple[tuple[str, str], int, int]]:
        tokens = [t.text for t in doc]
        matches = []
        for start, token in enumerate(tokens):
            for word in _without_proclitic(token):
                for stem in self._stems.get(word[:1], ()):
                    end = start + len(stem.words)
                    if stem.fits([word, *tokens[start + 1 : end]]):
                        matches.append((stem.label, start, end))
        return matches

    def find(self, text: str) -> list[dict[str, Any]]:
        doc = self._nlp.make_doc(_match_form(text))
        matches = [
            (self._labels[self._nlp.vocab.strings[key]], start, end)
            for key, start, end in self._matcher(doc)
        ]
        if self._stems:
            matches += self._stem_matches(doc)
        labels: dict[tuple[str, int, int], tuple[str, str]] = {}
        for label, start, end in matches:
            labels.setdefault((label[0], start, end), label)
        # longest match per entity: a risk phrase that holds a treatment's name ("bu yaşta
        # ameliyat") must not hide the treatment
        kept = []
        for entity in sorted({key[0] for key in labels}):
            spans = [doc[start:end] for kind, start, end in labels if kind == entity]
            kept += [(entity, span) for span in filter_spans(spans)]
        found = []
        for entity, span in sorted(kept, key=lambda item: (item[1].start, item[0])):
            entity, value = labels[(entity, span.start, span.end)]
            found.append(
                {
                    "entity": entity,
                    "value": value,
                    "start": span.start_char,
                    "end": span.end_char,
                    "text": text[span.start_char : span.end_char],
                    "confidence_entity": 1.0,
                }
            )
        return found


def _without_proclitic(token: str) -> list[str]:
    """The token, and for an Arabic word also the word without its proclitic."""
    forms = [token]
    for proclitic in _ARABIC_PROCLITICS:
        if token.startswith(proclitic) and len(token) - len(proclitic) >= _MIN_STEM_REST:
            forms.append(token[len(proclitic) :])
            break
    return forms


def term_files_fingerprint(terms_dir: str) -> str:
    """A hash of the term files: they are read at training time, so a change must retrain
    (Rasa's cache only fingerprints config and training data otherwise)."""
    digest = hashlib.sha256()
    for path in sorted(Path(terms_dir).glob("*.yml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _match_form(text: str) -> str:
    """Folded text with apostrophes and hyphens as spaces ("Botox'un" -> "botox un",
    "12-jähriger" -> "12 jahriger"), same length."""
    return fold(text).replace("'", " ").replace("-", " ")


def _unique(terms: list[Term]) -> list[Term]:
    seen: dict[tuple[str, str], Term] = {}
    for term in terms:
        seen.setdefault((term.entity, _match_form(term.surface)), term)
    return list(seen.values())


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class TermEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Adds `procedure` entities, and the target `language` of a change_language request."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"terms_dir": "data/terms"}

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        return term_files_fingerprint(str(config.get("terms_dir", "data/terms")))

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        terms: Optional[list[Term]] = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._terms = terms or []

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TermEntityExtractor:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> TermEntityExtractor:
        with model_storage.read_from(resource) as directory:
            raw = json.loads((directory / TERMS_FILE).read_text(encoding="utf-8"))
        return cls(config, model_storage, resource, [Term(**item) for item in raw])

    def train(self, training_data: TrainingData) -> Resource:
        terms_dir = Path(self._config["terms_dir"])
        paths = list(terms_dir.glob("*.yml"))
        if not paths:
            raise TermFileError(f"no term files found in {terms_dir.resolve()}")
        self._terms = read_term_files(paths)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / TERMS_FILE).write_text(
                json.dumps([t.__dict__ for t in self._terms], ensure_ascii=False),
                encoding="utf-8",
            )
        return self._resource

    @cached_property
    def _matcher(self) -> TermMatcher:
        return TermMatcher(self._terms)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._process_message(message)
        return messages

    def _process_message(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        wants_switch = intent == LANGUAGE_NAME_INTENT
        found = [
            e for e in self._matcher.find(text) if e["entity"] != LANGUAGE_ENTITY or wants_switch
        ]
        entities = message.get(ENTITIES, [])
        if wants_switch:
            # The language the request was *written* in is not the one asked for: only
            # a named language ("in Turkish please") may switch, else the picker is shown.
            entities = [e for e in entities if e.get("entity") != LANGUAGE_ENTITY]
        if found or wants_switch:
            message.set(ENTITIES, entities + self.add_extractor_name(found), add_to_output=True)
