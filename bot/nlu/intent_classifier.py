"""A fast linear intent classifier for the six languages.

Features: TF-IDF of character n-grams (inside word boundaries) of the diacritic-folded
text — robust to typos, missing accents and Turkish/German spelling variants — plus TF-IDF
of the word unigrams and bigrams produced by the multilingual tokenizer. Classifier: a
linear SVM with probabilities calibrated by cross-validation, so that the
FallbackClassifier's threshold means something. Trains in seconds; see docs/nlu.md for
the comparison with DIET.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

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

from bot.nlu.text import fold

MODEL_FILE = "linear_intent_classifier.joblib"
WORDS_SEPARATOR = "\u241f"  # joins text and tokens in one string for the two vectorizers


def text_part(document: str) -> str:
    return fold(document.split(WORDS_SEPARATOR, 1)[0])


def token_part(document: str) -> List[str]:
    parts = document.split(WORDS_SEPARATOR, 1)
    return parts[1].split(" ") if len(parts) == 2 and parts[1] else []


def document_of(message: Message) -> str:
    """The raw text plus the tokenizer's words (folded), in one string."""
    tokens = message.get(TOKENS_NAMES[TEXT]) or []
    words = " ".join(fold(t.text) for t in tokens)
    return f"{message.get(TEXT) or ''}{WORDS_SEPARATOR}{words}"


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
        }

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        pipeline: Optional[Pipeline] = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._pipeline = pipeline

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
        return cls(config, model_storage, resource, pipeline)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        labels = [m.get(INTENT) for m in examples]
        smallest_class = min(labels.count(label) for label in set(labels))
        folds = min(int(self._config["calibration_folds"]), smallest_class)
        self._pipeline = build_pipeline(self._config, folds)
        self._pipeline.fit([document_of(m) for m in examples], np.asarray(labels))
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump(self._pipeline, directory / MODEL_FILE)
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        if self._pipeline is None:
            return messages
        documents = [document_of(m) for m in messages]
        features = self._pipeline.named_steps["features"].transform(documents)
        probabilities = self._pipeline.named_steps["classifier"].predict_proba(features)
        known = np.asarray(features.getnnz(axis=1)).ravel() > 0
        classes = self._pipeline.classes_
        floors = self._config.get("minimum_confidence") or {}
        for message, row, has_features in zip(messages, probabilities, known, strict=False):
            order = np.argsort(row)[::-1][: int(self._config["ranking_length"])]
            ranking = [
                {INTENT_NAME_KEY: str(classes[i]), "confidence": float(row[i])} for i in order
            ]
            top = dict(ranking[0])
            if not has_features or top["confidence"] < float(floors.get(top[INTENT_NAME_KEY], 0.0)):
                # nothing we have seen before ("🦄", "ᚠᚢᚦ"), or not sure enough for an
                # intent whose mistake is costly: let the FallbackClassifier take it
                top["confidence"] = 0.0
            message.set(INTENT, top, add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
