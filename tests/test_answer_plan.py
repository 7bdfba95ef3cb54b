"""The answer plan of a message of several parts (bot/nlu/answer_plan.py), from segments."""

from __future__ import annotations

from bot.nlu.answer_plan import PlannedSegment, message_intent, plan_segments

MINIMUM = 0.25


def _segment(role: str, intent: str, confidence: float = 0.9) -> PlannedSegment:
    return PlannedSegment(
        text=intent, start=0, end=0, role=role, intent=intent, confidence=confidence
    )


def _plan(*segments: PlannedSegment) -> tuple[list[tuple[str, bool]], str | None]:
    planned = plan_segments(list(segments), [], MINIMUM)
    chosen = message_intent(planned, MINIMUM)
    return [(s.intent, s.answer) for s in planned], chosen[0] if chosen else None


def test_a_request_told_after_a_question_is_planned_and_the_question_leads() -> None:
    plan, intent = _plan(_segment("question", "ask_cost"), _segment("context", "book_consultation"))
    assert plan == [("ask_cost", True), ("book_consultation", True)]
    assert intent == "ask_cost"  # the answering action runs, then follows up with the form


def test_a_request_before_the_question_still_lets_the_question_lead() -> None:
    plan, intent = _plan(_segment("context", "request_human"), _segment("question", "ask_travel"))
    assert plan == [("request_human", True), ("ask_travel", True)]
    assert intent == "ask_travel"


def test_a_greeting_and_a_request_alone_go_straight_to_the_request() -> None:
    _, intent = _plan(_segment("greeting", "greet"), _segment("context", "book_consultation"))
    assert intent == "book_consultation"


def test_an_unsure_request_and_a_second_request_are_not_followed_up() -> None:
    plan, _ = _plan(
        _segment("question", "ask_cost"),
        _segment("context", "book_consultation", confidence=0.1),
        _segment("context", "request_human"),
        _segment("context", "book_consultation"),
    )
    assert [answer for _, answer in plan] == [True, False, True, False]


def test_an_emergency_anywhere_wins_over_requests_and_questions() -> None:
    _, intent = _plan(
        _segment("question", "book_consultation"), _segment("context", "report_emergency")
    )
    assert intent == "report_emergency"


def test_a_request_after_an_answered_question_needs_less_certainty_than_one_before_it() -> None:
    late, _ = _plan(_segment("question", "ask_cost"), _segment("context", "request_human", 0.45))
    early, _ = _plan(_segment("context", "request_human", 0.45), _segment("question", "ask_cost"))
    assert late == [("ask_cost", True), ("request_human", True)]
    assert early == [("request_human", False), ("ask_cost", True)]


def _risk(value: str, segment: PlannedSegment) -> dict:
    return {"entity": "risk_context", "value": value, "start": segment.start}


def _at(role: str, intent: str, start: int) -> PlannedSegment:
    return PlannedSegment(
        text=intent, start=start, end=start + 10, role=role, intent=intent, confidence=0.9
    )


def test_advanced_age_makes_a_treatment_question_not_covered_but_not_a_prevalence_one() -> None:
    for intent, routed in (("ask_surgery", True), ("ask_prevalence", False)):
        question = _at("question", intent, 0)
        plan_segments([question], [_risk("advanced_age", question)], MINIMUM)
        assert (question.intent == "ask_not_covered") is routed, intent


def test_a_second_risk_in_the_question_routes_when_the_first_does_not() -> None:
    question = _at("question", "ask_prevalence", 0)  # "my son (9): can he be operated at his age?"
    plan_segments(
        [question], [_risk("advanced_age", question), _risk("children", question)], MINIMUM
    )
    assert (question.intent, question.risk) == ("ask_not_covered", "children")


def test_a_risk_told_before_a_diagnosis_question_makes_it_not_covered() -> None:
    told, asked = _at("context", "ask_symptoms", 0), _at("question", "ask_diagnosis", 10)
    plan_segments([told, asked], [_risk("allergy", told)], MINIMUM)  # "contrast allergy. MRI?"
    assert (asked.intent, asked.risk) == ("ask_not_covered", "allergy")


def test_a_question_naming_a_risk_outside_every_topic_is_not_covered_unless_a_sure_request() -> (
    None
):
    for intent, confidence, routed in (
        ("out_of_scope", 0.36, True),  # "Волосы сбривают?"
        ("book_consultation", 0.33, True),  # "when can I go back to running?"
        ("book_consultation", 0.8, False),  # "I want to book for my son, he is 12"
    ):
        question = PlannedSegment(
            text="q", start=0, end=5, role="question", intent=intent, confidence=confidence
        )
        plan_segments([question], [_risk("activity", question)], MINIMUM)
        assert (question.intent == "ask_not_covered") is routed, (intent, confidence)


def test_a_child_told_before_a_question_naming_a_treatment_makes_it_not_covered() -> None:
    told, asked = _at("context", "ask_symptoms", 0), _at("question", "ask_prevalence", 10)
    botox = {"entity": "procedure", "value": "botox", "start": 12}
    plan_segments([told, asked], [_risk("children", told), botox], MINIMUM)
    assert (asked.intent, asked.risk) == ("ask_not_covered", "children")  # "…at her age?"
    trip = _at("question", "ask_cost", 10)
    plan_segments(
        [_at("context", "ask_symptoms", 0), trip], [_risk("children", told), botox], MINIMUM
    )
    assert trip.intent == "ask_cost"  # "My son is 9. How much is Botox?"


def test_a_told_risk_routes_questions_until_one_is_answered_as_not_covered() -> None:
    """ "I'm on blood thinners. Is that a problem for the operation? Also, what does the
    operation involve?": the honest answer once, then the operation is explained."""
    told = _at("context", "ask_not_covered", 0)
    first, second = _at("question", "ask_surgery", 10), _at("question", "ask_surgery", 20)
    plan_segments([told, first, second], [_risk("interactions", told)], MINIMUM)
    assert (first.intent, first.risk) == ("ask_not_covered", "interactions")
    assert (second.intent, second.risk, second.answer) == ("ask_surgery", None, True)


def test_a_told_activity_does_not_route_a_later_question() -> None:
    """ "…Even going to work is hard. Are these Botox side effects?" is answered."""
    told, asked = _at("context", "ask_botox", 0), _at("question", "ask_botox_side_effects", 10)
    plan_segments([told, asked], [_risk("activity", told)], MINIMUM)
    assert (asked.intent, asked.risk) == ("ask_botox_side_effects", None)
