"""Decides which parts of a message get answered, in order, and what the message's intent is.

Runs after the classifier (which classified each segment, `bot/nlu/segmentation.py`) and
the term extractor (which found `procedure` and `risk_context` terms). For each segment it
records the treatment named in it (or the one named before it in the same message) and
whether it names a risk the source says nothing about (pregnancy, children, other
medicines, …, `data/terms/<lang>.yml` under `risk_context`). Such a question is answered
honestly as not covered (`ask_not_covered`), whatever topic the classifier chose, or when
it put the question outside every topic unsurely: a near-topic answer is the most dangerous
answer a medical assistant can give. A risk told before the question ("I'm pregnant. Can I
get Botox?") routes treatment and diagnosis questions and questions naming a treatment, up to
the first question answered as not covered: the questions after it are answered on their own.

The message's intent becomes the first answered question's (an emergency always wins),
so one rule sends every question to `action_answer_medical`, which reads `segments`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.names import (
    ANSWERED_INTENTS,
    GREET_INTENT,
    NOT_COVERED_INTENT,
    OUT_OF_SCOPE_INTENT,
    PROCEDURE_ENTITY,
    REPORT_EMERGENCY_INTENT,
    REQUEST_INTENTS,
    TREATMENT_INTENTS,
    TRIP_INTENTS,
)
from bot.nlu.intent_classifier import SEGMENTS
from bot.nlu.segmentation import CONTEXT, GREETING, QUESTION, names_a_child

RISK_CONTEXT = "risk_context"  # term-list entity; kept in the segments, not as an entity
RISK_CONTEXTS = "risk_contexts"  # parse-data key: the risks named anywhere in the message
ROUTED_CONFIDENCE = 1.0  # a named risk is a fact about the text, not a guess
# Intents a named risk turns into "not covered" when it is in the question itself, and any
# question the classifier is unsure of. Not trip questions naming children: "can I come
# with my kids" is a trip question.
# Off-topic messages only when they name a treatment ("alcohol after Botox?", not "IVF?").
_RISK_OVERRIDES = frozenset(ANSWERED_INTENTS) - TRIP_INTENTS
_OFF_TOPIC = frozenset({OUT_OF_SCOPE_INTENT, GREET_INTENT})
_NOT_TRIP_RISKS = frozenset({"children"})
# A risk told before the question ("I'm pregnant. Can I have Botox?") concerns the
# treatments and the trip for them, and, unless it is the patient's age, the tests of the
# diagnosis (MRI with a pacemaker, a contrast allergy; "my daughter is 10. How does the
# doctor know?" is answered)
_DIAGNOSIS = "ask_diagnosis"
# Risks that concern the treatment only: "is he too old for the operation?" is not covered,
# "does it usually start at this age?" (prevalence) is.
_TREATMENT_ONLY_RISKS = frozenset({"advanced_age"})
# Risks that route only the question naming them: a story's "even going to work is hard"
# does not make "are these Botox side effects?" a question about work after treatment.
_OWN_QUESTION_RISKS = frozenset({"activity"})


def routes_to_not_covered(
    intent: str,
    risk: Optional[str],
    procedure: Optional[str],
    unsure: bool = False,
    asked: Optional[float] = None,
) -> bool:
    """Whether a question of this intent that names this risk gets the honest answer.
    `asked`: the confidence of a part asked as a question (None: told, or not known)."""
    if not risk:
        return False
    if risk in _TREATMENT_ONLY_RISKS:
        named = intent in TREATMENT_INTENTS or procedure is not None
        return named or (unsure and intent not in _OFF_TOPIC)
    return (
        intent in _RISK_OVERRIDES
        or (intent in TRIP_INTENTS and risk not in _NOT_TRIP_RISKS)
        or (intent in _OFF_TOPIC and procedure is not None)
        or (unsure and intent not in _OFF_TOPIC)
        or (asked is not None and _asks_beside_the_topics(intent, asked))
    )


def _asks_beside_the_topics(intent: str, confidence: float) -> bool:
    """A question naming a risk that the classifier put nowhere among the topics ("Волосы
    сбривают?" as out of scope, "when can I go back to running?" as a booking, unsurely): it
    asks about that risk. A sure request stays one ("I want to book for my son, he is 12"), and
    a sure off-topic question too ("best clinic for a hair transplant?")."""
    if intent in ANSWERED_INTENTS or intent == REPORT_EMERGENCY_INTENT:
        return False
    sure = _SURE_REQUEST if intent in REQUEST_INTENTS else _SURE_OFF_TOPIC
    return confidence < sure  # "beste Klinik für Haartransplantation?" stays out of scope


_SURE_REQUEST = 0.4
_SURE_OFF_TOPIC = 0.5


def _context_risk_routes(
    intent: str, risk: str, names_a_treatment: bool, as_question: Optional[float]
) -> bool:
    """Whether a risk told before this question concerns it; `names_a_treatment`: the question
    names one itself ("My daughter is 12. Can she get Botox at her age?", whatever topic the
    classifier chose), except a question about the trip ("…How much is Botox?"); a question
    the classifier put outside every topic ("I take sertraline. Will it be a problem if I keep
    taking the pills?" as a "no") asks about the risk told."""
    if intent == _DIAGNOSIS:
        return risk not in _NOT_TRIP_RISKS
    beside = as_question is not None and _asks_beside_the_topics(intent, as_question)
    return (
        intent in TREATMENT_INTENTS
        or (names_a_treatment and intent in _RISK_OVERRIDES)
        or (beside and intent != GREET_INTENT)
    )


@dataclass
class PlannedSegment:
    text: str
    start: int
    end: int
    role: str
    intent: str
    confidence: float
    procedure: Optional[str] = None
    risk: Optional[str] = None
    answer: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _inside(entity: dict[str, Any], segment: PlannedSegment) -> bool:
    return segment.start <= int(entity.get("start", -1)) < segment.end


def plan_segments(
    segments: list[PlannedSegment],
    entities: list[dict[str, Any]],
    minimum_confidence: float,
    minimum_request_confidence: float = 0.6,
    minimum_late_request_confidence: float = 0.4,
) -> list[PlannedSegment]:
    """Fills procedure, risk and `answer` in place; returns the segments."""
    content = [s for s in segments if s.role != GREETING]
    asked = [s for s in content if s.role == QUESTION] or content
    procedure: Optional[str] = None
    risk_in_context: Optional[str] = None
    for segment in content:
        named = [e for e in entities if _inside(e, segment)]
        procedure = next(
            (str(e["value"]) for e in named if e["entity"] == PROCEDURE_ENTITY), procedure
        )
        own_risks = [str(e["value"]) for e in named if e["entity"] == RISK_CONTEXT]
        if names_a_child(segment.text):
            own_risks.append("children")
        segment.procedure = procedure
        if segment not in asked:
            told = [r for r in own_risks if r not in _OWN_QUESTION_RISKS]
            risk_in_context = next(iter(told), risk_in_context)
            continue
        unsure = segment.confidence < minimum_confidence
        as_question = segment.confidence if segment.role == QUESTION else None
        own_risk = next(
            (
                r
                for r in own_risks
                if routes_to_not_covered(segment.intent, r, procedure, unsure, as_question)
            ),
            None,
        )
        if own_risk is not None:
            segment.intent, segment.risk = NOT_COVERED_INTENT, own_risk
            segment.confidence = ROUTED_CONFIDENCE
        elif risk_in_context and _context_risk_routes(
            segment.intent,
            risk_in_context,
            any(e["entity"] == PROCEDURE_ENTITY for e in named),
            as_question,
        ):
            segment.intent, segment.risk = NOT_COVERED_INTENT, risk_in_context
            segment.confidence = ROUTED_CONFIDENCE
        if segment.risk is not None:
            # answered honestly once: the questions after it ("…is that a problem for the
            # operation? also what does the operation involve") are answered on their own
            risk_in_context = None
    seen: set[tuple[str, Optional[str]]] = set()
    for segment in asked:
        key = (segment.intent, segment.procedure)
        if segment.intent in ANSWERED_INTENTS and key not in seen:
            segment.answer = len(asked) == 1 or segment.confidence >= minimum_confidence
            seen.add(key)
    if len(content) > 1:
        _plan_request(content, minimum_request_confidence, minimum_late_request_confidence)
    return segments


def _plan_request(
    content: list[PlannedSegment], minimum_confidence: float, minimum_late_confidence: float
) -> None:
    """The first confident request of the message ("…and I'd like to book"), asked or told:
    acted on after the answers (`action_answer_medical` follows up with the form or the
    handoff offer). Surer than for questions: a story's "we want to come in spring" reads
    a little like a booking. After an answered question less sure is enough: patients end
    with what they want done ("How much is it? I'd like to book."), a story comes before."""
    after_answer = False
    for segment in content:
        minimum = minimum_late_confidence if after_answer else minimum_confidence
        if segment.intent in REQUEST_INTENTS and segment.confidence >= minimum:
            segment.answer = True
            return
        after_answer = after_answer or (segment.answer and segment.intent in ANSWERED_INTENTS)


def message_intent(
    segments: list[PlannedSegment], minimum_confidence: float
) -> Optional[tuple[str, float]]:
    """The intent the dialogue follows for a message of several parts; None: keep the model's."""
    content = [s for s in segments if s.role != GREETING]
    for segment in content:
        if segment.intent == REPORT_EMERGENCY_INTENT and segment.confidence > 0:
            return segment.intent, segment.confidence
    # questions first: their action answers them, then follows up with the request
    answered = sorted((s for s in segments if s.answer), key=lambda s: s.intent in REQUEST_INTENTS)
    if answered:
        return answered[0].intent, answered[0].confidence
    asked = [s for s in content if s.role == QUESTION] or content
    confident = [s for s in asked if s.confidence >= minimum_confidence]
    if confident:
        return confident[0].intent, confident[0].confidence
    if any(s.role == GREETING for s in segments) and not content:
        return GREET_INTENT, 1.0
    return None


def whole_message_segment(message: Message) -> PlannedSegment:
    intent = message.get(INTENT) or {}
    text = message.get(TEXT) or ""
    return PlannedSegment(
        text=text,
        start=0,
        end=len(text),
        role=QUESTION if text.rstrip().endswith(("?", "؟")) else CONTEXT,
        intent=str(intent.get(INTENT_NAME_KEY) or ""),
        confidence=float(intent.get("confidence") or 0.0),
    )


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class AnswerPlanner(GraphComponent):
    """Plans the answers of each message (`segments` in the parse data) and its intent."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "minimum_segment_confidence": 0.25,
            "minimum_request_confidence": 0.6,
            "minimum_late_request_confidence": 0.4,
        }

    def __init__(self, config: Dict[str, Any]) -> None:
        self._minimum = float(config["minimum_segment_confidence"])
        self._minimum_request = float(config["minimum_request_confidence"])
        self._minimum_late_request = float(config["minimum_late_request_confidence"])

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> AnswerPlanner:
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._process_message(message)
        return messages

    def _process_message(self, message: Message) -> None:
        entities = list(message.get(ENTITIES) or [])
        raw = message.get(SEGMENTS) or []
        segments = [PlannedSegment(**s) for s in raw] or [whole_message_segment(message)]
        plan_segments(
            segments, entities, self._minimum, self._minimum_request, self._minimum_late_request
        )
        if raw:
            chosen = message_intent(segments, self._minimum)
        else:
            only = segments[0]
            chosen = (only.intent, only.confidence) if only.risk else None
        if chosen is not None:
            intent = dict(message.get(INTENT) or {})
            if intent.get(INTENT_NAME_KEY) != chosen[0]:
                intent.update({INTENT_NAME_KEY: chosen[0], "confidence": chosen[1]})
                message.set(INTENT, intent, add_to_output=True)
        risks = sorted({str(e["value"]) for e in entities if e.get("entity") == RISK_CONTEXT})
        message.set(SEGMENTS, [s.as_dict() for s in segments], add_to_output=True)
        message.set(RISK_CONTEXTS, risks, add_to_output=True)
        kept = [e for e in entities if e.get("entity") != RISK_CONTEXT]
        if len(kept) != len(entities):
            message.set(ENTITIES, kept, add_to_output=True)
