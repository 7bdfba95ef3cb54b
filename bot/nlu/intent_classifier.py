"""A fast linear intent classifier for the six languages.

Features: TF-IDF of character n-grams (inside word boundaries) of the diacritic-folded
text — robust to typos, missing accents and Turkish/German spelling variants — plus TF-IDF
of the word unigrams and bigrams produced by the multilingual tokenizer. Classifier: a
linear SVM with probabilities calibrated by cross-validation, so that the
FallbackClassifier's threshold means something. Trains in seconds; see docs/nlu.md for
the comparison with DIET.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import joblib
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from bot.nlu.language_detector import DETECTED_LANGUAGE
from bot.nlu.segmentation import (
    CONTEXT,
    GREETING,
    QUESTION,
    Segment,
    asks,
    cut,
    inner_breaks,
    may_ask_unmarked,
    split_segments,
)
from bot.nlu.term_extractor import Term, TermMatcher, read_term_files, term_files_fingerprint
from bot.nlu.text import fold

MODEL_FILE = "linear_intent_classifier.joblib"
SEGMENTS = "segments"  # parse-data key: the message's parts, each with its own intent
GREET_INTENT = "greet"
TERMS_FILE = "procedure_terms.json"
PROCEDURE_TERMS = "procedure"
WORDS_SEPARATOR = "\u241f"  # joins text and tokens in one string for the two vectorizers


def text_part(document: str) -> str:
    return fold(document.split(WORDS_SEPARATOR, 1)[0])


def token_part(document: str) -> List[str]:
    parts = document.split(WORDS_SEPARATOR, 1)
    return parts[1].split(" ") if len(parts) == 2 and parts[1] else []


def document_of(message: Message, segment: Optional[Segment] = None) -> str:
    """The raw text plus the tokenizer's words (folded), in one string; or a segment's."""
    tokens = message.get(TOKENS_NAMES[TEXT]) or []
    if segment is None:
        words = " ".join(fold(t.text) for t in tokens)
        return f"{message.get(TEXT) or ''}{WORDS_SEPARATOR}{words}"
    inside = [t for t in tokens if t.start >= segment.start and t.end <= segment.end]
    words = " ".join(fold(t.text) for t in inside)
    return f"{segment.text}{WORDS_SEPARATOR}{words}"


def with_context(document: str, context: Optional[str]) -> str:
    """A segment's document with the treatment named earlier in the message added:
    "…Botox und wie oft muss man es machen?" is classified as "wie oft … Botox"."""
    if not context:
        return document
    text, _, words = document.partition(WORDS_SEPARATOR)
    return f"{text} {context}{WORDS_SEPARATOR}{words} {fold(context)}"


def segments_to_classify(message: Message) -> list[Segment]:
    """The parts of a message worth classifying on their own: none if it is one part."""
    return worth_classifying(
        split_segments(message.get(TEXT) or "", message.get(DETECTED_LANGUAGE))
    )


def worth_classifying(segments: list[Segment]) -> list[Segment]:
    content = [s for s in segments if s.role != GREETING]
    if len(segments) <= 1 or not content:
        return []
    return segments


# Intents two halves of a question must have to be two questions ("…, et combien…")
_QUESTION_PREFIX = "ask_"
# A half the source cannot answer makes the whole question one: "I fly home two days after
# the operation, is that safe?" is not a flight question and a risks question.
_NOT_COVERED = "ask_not_covered"
# Answered as one: the treatment in context picks Botox side effects or surgery risks
_ONE_QUESTION = frozenset({"ask_botox_side_effects", "ask_surgery_risks"})
_REQUESTS = frozenset({"book_consultation", "request_human"})
_WHAT_IS = "ask_what_is_hfs"
_SPLIT_PASSES = 2


def _two_questions(intents: set[str]) -> bool:
    """Two halves ask two things: two different topics, or a topic and a request ("…wie lange
    Botox hält, und einen Termin vereinbaren"); never a half the source cannot answer ("I fly
    home 2 days after the operation, | is that safe?" asks one question)."""
    if len(intents) != 2 or intents <= _ONE_QUESTION or _NOT_COVERED in intents:
        return False
    questions = {i for i in intents if i.startswith(_QUESTION_PREFIX)}
    return len(questions) == 2 or (len(questions) == 1 and bool(intents & _REQUESTS))


def build_pipeline(config: Dict[str, Any], folds: int) -> Pipeline:
    features = FeatureUnion(
        [
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    preprocessor=text_part,
                    ngram_range=(config["char_min_ngram"], config["char_max_ngram"]),
                    sublinear_tf=True,
                ),
            ),
            (
                "words",
                TfidfVectorizer(
                    analyzer=token_part,
                    sublinear_tf=True,
                ),
            ),
        ]
    )
    svm = LinearSVC(C=config["C"], random_state=config["random_state"])
    # ensemble=False: the SVM is trained once on all examples; cross-validation only
    # fits the probability calibration (an ensemble of fold models is weaker here).
    classifier = CalibratedClassifierCV(svm, cv=folds, ensemble=False) if folds >= 2 else svm
    return Pipeline([("features", features), ("classifier", classifier)])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "char_min_ngram": 1,
            "char_max_ngram": 5,
            "C": 0.5,
            "calibration_folds": 3,
            "random_state": 42,
            "ranking_length": 10,
            "minimum_confidence": {},
            # how sure both halves of a question must be to be two questions (_confirmed_parts)
            "minimum_split_confidence": 0.4,
            # treatment names, to carry the treatment of one part of a message to the next
            "terms_dir": "data/terms",
        }

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        return term_files_fingerprint(str(config.get("terms_dir", "data/terms")))

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        pipeline: Optional[Pipeline] = None,
        procedure_terms: Optional[list[Term]] = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._pipeline = pipeline
        self._procedure_terms = TermMatcher(procedure_terms) if procedure_terms else None

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        with model_storage.read_from(resource) as directory:
            pipeline = joblib.load(directory / MODEL_FILE)  # our own trained model file
            terms_file = directory / TERMS_FILE
            raw = json.loads(terms_file.read_text(encoding="utf-8")) if terms_file.exists() else []
        return cls(config, model_storage, resource, pipeline, [Term(**t) for t in raw])

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        labels = [m.get(INTENT) for m in examples]
        smallest_class = min(labels.count(label) for label in set(labels))
        folds = min(int(self._config["calibration_folds"]), smallest_class)
        self._pipeline = build_pipeline(self._config, folds)
        self._pipeline.fit([document_of(m) for m in examples], np.asarray(labels))
        terms = [
            t
            for t in read_term_files(Path(self._config["terms_dir"]).glob("*.yml"))
            if t.entity == PROCEDURE_TERMS
        ]
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump(self._pipeline, directory / MODEL_FILE)
            (directory / TERMS_FILE).write_text(
                json.dumps([t.__dict__ for t in terms], ensure_ascii=False), encoding="utf-8"
            )
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        if self._pipeline is None:
            return messages
        parts = [self._confirmed_parts(m) for m in messages]
        documents = [document_of(m) for m in messages]
        for message, segments in zip(messages, parts, strict=False):
            documents += self._segment_documents(message, segments)
        rankings = iter(self._rank(documents))
        for message in messages:
            ranking, top = next(rankings)
            message.set(INTENT, top, add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        for message, segments in zip(messages, parts, strict=False):
            entries = [self._segment_entry(s, rankings) for s in segments]
            message.set(SEGMENTS, entries, add_to_output=True)
        return messages

    def _confirmed_parts(self, message: Message) -> list[Segment]:
        """The segmenter's parts, each question cut once more (twice at most) where a comma or
        conjunction the segmenter kept divides it into two halves the classifier reads, both
        surely, as two different questions: a question with no question word ("Le prix du
        botox svp, et est-ce que vous organisez le transfert ?") is still a question of its
        own."""
        text = message.get(TEXT) or ""
        language = message.get(DETECTED_LANGUAGE)
        segments = split_segments(text, language)
        # the questions; a message that asks nothing by its form ("symptoms, cost pls"): all
        roles = {QUESTION} if any(s.role == QUESTION for s in segments) else {QUESTION, CONTEXT}
        for _ in range(_SPLIT_PASSES):  # "symptome, behandlung, kosten?": three questions
            refined = self._split_once(message, text, language, segments, roles)
            if len(refined) == len(segments):
                break
            segments = refined
        return worth_classifying(segments)

    def _split_once(
        self,
        message: Message,
        text: str,
        language: Optional[str],
        segments: list[Segment],
        roles: set[str],
    ) -> list[Segment]:
        candidates = [
            (index, halves, marked)
            for index, segment in enumerate(segments)
            if segment.role in roles
            for position in inner_breaks(text, language, segment)
            for halves in [cut(text, segment, position)]
            for marked in [tuple(asks(text, language, h) for h in halves)]
            if all(
                self._may_ask_alone(text, language, h, m)
                for h, m in zip(halves, marked, strict=True)
            )
        ]
        if not candidates:
            return segments
        documents = [
            document
            for _, halves, _ in candidates
            for document in self._segment_documents(message, list(halves))
        ]
        tops = [top for _, top in self._rank(documents)]
        best: dict[int, tuple[float, tuple[Segment, Segment]]] = {}
        minimum = float(self._config["minimum_split_confidence"])
        for number, (index, halves, marked) in enumerate(candidates):
            left, right = tops[2 * number], tops[2 * number + 1]
            sureness = min(left["confidence"], right["confidence"])
            intents = {left[INTENT_NAME_KEY], right[INTENT_NAME_KEY]}
            better = sureness > best.get(index, (0.0,))[0]
            request_first = left[INTENT_NAME_KEY] in _REQUESTS  # "und buchen Sie | auch Flüge?"
            # a bare name of the condition is the subject of the next half, not "what is it?"
            # ("Гемифациальный спазм | и паралич Белла — это одно и то же?")
            named_only = any(
                top[INTENT_NAME_KEY] == _WHAT_IS and not asked
                for top, asked in zip((left, right), marked, strict=True)
            )
            if (
                _two_questions(intents)
                and not (request_first or named_only)
                and sureness >= minimum
                and better
            ):
                best[index] = (sureness, halves)
        refined = []
        for index, segment in enumerate(segments):
            refined += list(best[index][1]) if index in best else [segment]
        return refined

    def _may_ask_alone(
        self, text: str, language: Optional[str], half: Segment, marked: bool
    ) -> bool:
        """A half that asks by its form (`marked`), or a phrase that may be a question without
        a question word (`may_ask_unmarked`), but not a treatment's name alone ("Botox –…")."""
        if marked:
            return True
        named = self._procedure_terms.find(half.text) if self._procedure_terms else []
        bare = half.text.strip(" ,.;:!?-–—")
        alone = any(e["text"] == bare for e in named)
        return not alone and may_ask_unmarked(text, language, half)

    def _segment_documents(self, message: Message, segments: list[Segment]) -> list[str]:
        """Each part's document; a part naming no treatment gets the one named before it."""
        documents = []
        context: Optional[str] = None
        for segment in segments:
            if segment.role == GREETING:
                continue
            named = self._procedure_terms.find(segment.text) if self._procedure_terms else []
            document = document_of(message, segment)
            documents.append(document if named else with_context(document, context))
            context = named[-1]["text"] if named else context
        return documents

    @staticmethod
    def _segment_entry(
        segment: Segment, rankings: Iterator[tuple[list[dict[str, Any]], dict[str, Any]]]
    ) -> dict[str, Any]:
        if segment.role == GREETING:
            intent, confidence = GREET_INTENT, 1.0
        else:
            _, top = next(rankings)
            intent, confidence = top[INTENT_NAME_KEY], top["confidence"]
        return {
            "text": segment.text,
            "start": segment.start,
            "end": segment.end,
            "role": segment.role,
            "intent": intent,
            "confidence": round(float(confidence), 4),
        }

    def _rank(self, documents: List[str]) -> List[tuple[List[Dict[str, Any]], Dict[str, Any]]]:
        """(ranking, top intent) per document; unknown or unsure costly intents get 0."""
        assert self._pipeline is not None
        features = self._pipeline.named_steps["features"].transform(documents)
        probabilities = self._pipeline.named_steps["classifier"].predict_proba(features)
        known = np.asarray(features.getnnz(axis=1)).ravel() > 0
        classes = self._pipeline.classes_
        floors = self._config.get("minimum_confidence") or {}
        results = []
        for row, has_features in zip(probabilities, known, strict=False):
            order = np.argsort(row)[::-1][: int(self._config["ranking_length"])]
            ranking = [
                {INTENT_NAME_KEY: str(classes[i]), "confidence": float(row[i])} for i in order
            ]
            top = dict(ranking[0])
            if not has_features or top["confidence"] < float(floors.get(top[INTENT_NAME_KEY], 0.0)):
                # nothing we have seen before ("🦄", "ᚠᚢᚦ"), or not sure enough for an
                # intent whose mistake is costly: let the FallbackClassifier take it
                top["confidence"] = 0.0
            results.append((ranking, top))
        return results
