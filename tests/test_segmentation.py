"""Splitting messages into greeting, sentences and question clauses (pure functions)."""

from __future__ import annotations

import pytest

from bot.nlu.segmentation import (
    CONTEXT,
    GREETING,
    QUESTION,
    cut,
    inner_breaks,
    names_a_child,
    split_segments,
)

CASES = [
    (
        "en",
        "What are the risks of the surgery, and how many days in hospital?",
        [
            (QUESTION, "What are the risks of the surgery,"),
            (QUESTION, "and how many days in hospital?"),
        ],
    ),
    (
        "de",
        "Was kostet Botox und wie oft muss man es machen?",
        [(QUESTION, "Was kostet Botox"), (QUESTION, "und wie oft muss man es machen?")],
    ),
    (
        "de",
        "Meine Tante (61) hat seit Jahren Zuckungen, Botox wirkt kaum noch. Kommt eine Operation in Frage?",
        [
            (CONTEXT, "Meine Tante (61) hat seit Jahren Zuckungen, Botox wirkt kaum noch."),
            (QUESTION, "Kommt eine Operation in Frage?"),
        ],
    ),
    (
        "tr",
        "Merhaba, botoks ne kadar sürer?",
        [(GREETING, "Merhaba,"), (QUESTION, "botoks ne kadar sürer?")],
    ),
    (
        "ru",
        "Здравствуйте! Сколько стоит операция?",
        [(GREETING, "Здравствуйте!"), (QUESTION, "Сколько стоит операция?")],
    ),
    (
        "tr",
        "Ameliyatın riskleri neler, hastanede kaç gün kalırım?",
        [(QUESTION, "Ameliyatın riskleri neler,"), (QUESTION, "hastanede kaç gün kalırım?")],
    ),
    (
        "ar",
        "ما هي مخاطر العملية وكم يوما في المستشفى؟",
        [(QUESTION, "ما هي مخاطر العملية"), (QUESTION, "وكم يوما في المستشفى؟")],
    ),
    (
        "fr",
        "Bonjour, quels sont les symptômes et comment traiter ça ?",
        [
            (GREETING, "Bonjour,"),
            (QUESTION, "quels sont les symptômes"),
            (QUESTION, "et comment traiter ça ?"),
        ],
    ),
]


@pytest.mark.parametrize(("language", "text", "expected"), CASES, ids=[c[1][:30] for c in CASES])
def test_message_is_split_into_greeting_and_questions(
    language: str, text: str, expected: list[tuple[str, str]]
) -> None:
    assert [(s.role, s.text) for s in split_segments(text, language)] == expected


REQUESTS = [
    (
        "en",
        "what does botox cost, I'd like to make an appointment",
        ["what does botox cost,", "I'd like to make an appointment"],
    ),
    (
        "en",
        "I want to book a consultation, how many days in hospital after mvd?",
        ["I want to book a consultation,", "how many days in hospital after mvd?"],
    ),
    (
        "de",
        "Was kostet die OP, ich möchte gern einen Termin",
        ["Was kostet die OP,", "ich möchte gern einen Termin"],
    ),
    (
        "fr",
        "combien coute le botox et je voudrais prendre rendez-vous",
        ["combien coute le botox", "et je voudrais prendre rendez-vous"],
    ),
    (
        "ru",
        "сколько стоит операция, хочу записаться на консультацию",
        ["сколько стоит операция,", "хочу записаться на консультацию"],
    ),
    (
        "ar",
        "كم سعر البوتوكس، أريد حجز موعد",
        ["كم سعر البوتوكس،", "أريد حجز موعد"],
    ),
    (  # "و" glued to "بعدين" (then): the request still begins after both
        "ar",
        "شو الأسباب، وبعدين أحجز موعد مع الدكتور",
        ["شو الأسباب،", "وبعدين أحجز موعد مع الدكتور"],
    ),
]


# A list of questions: each comma starts the next one, and "and" inside a question ("flights
# and hotel") cuts nothing, even when a question word follows it after the next comma.
QUESTION_LISTS = [
    (
        "en",
        "do you organise flights and hotel, how many days in the clinic, and whats the cost?",
        [
            "do you organise flights and hotel,",
            "how many days in the clinic,",
            "and whats the cost?",
        ],
    ),
    (
        "ru",
        "у кого чаще бывает, можно ли предотвратить и сколько стоит лечение?",
        ["у кого чаще бывает,", "можно ли предотвратить", "и сколько стоит лечение?"],
    ),
    (
        "tr",
        "kimlerde daha cok gorulur, onlenebilir mi ve tedavi kaca mal olur?",
        ["kimlerde daha cok gorulur,", "onlenebilir mi", "ve tedavi kaca mal olur?"],
    ),
    (
        "de",
        "Gibt's Tabletten dagegen, und wie oft braucht man Botox?",
        ["Gibt's Tabletten dagegen,", "und wie oft braucht man Botox?"],
    ),
]


@pytest.mark.parametrize(
    ("language", "text", "parts"), QUESTION_LISTS, ids=[q[0] for q in QUESTION_LISTS]
)
def test_each_question_of_a_list_is_a_clause_of_its_own(
    language: str, text: str, parts: list[str]
) -> None:
    assert [s.text for s in split_segments(text, language)] == parts


@pytest.mark.parametrize(("language", "text", "parts"), REQUESTS, ids=[r[0] for r in REQUESTS])
def test_a_request_after_or_before_a_question_is_a_clause_of_its_own(
    language: str, text: str, parts: list[str]
) -> None:
    assert [s.text for s in split_segments(text, language)] == parts


def test_a_request_alone_or_told_in_a_story_is_not_cut() -> None:
    assert len(split_segments("I'd like to book a consultation, please", "en")) == 1
    story = "My doctor said I should come, I want to book a consultation for my mother"
    assert len(split_segments(story, "en")) == 1


@pytest.mark.parametrize(
    "text",
    [
        "What are the risks and side effects of botox",
        "After the surgery, how long do I stay?",
        "Botox oder OP, was ist besser?",
    ],
)
def test_one_question_with_a_comma_or_and_stays_one_segment(text: str) -> None:
    assert len(split_segments(text, "en" if text[0] in "WA" else "de")) == 1


def test_offsets_point_into_the_original_text() -> None:
    text = "Hallo! Was ist HFS? Und wie wird es behandelt?"
    for segment in split_segments(text, "de"):
        assert text[segment.start : segment.end] == segment.text


def test_a_greeting_alone_is_not_split_off() -> None:
    assert [s.role for s in split_segments("hello", "en")] == [CONTEXT]


@pytest.mark.parametrize(
    ("text", "child"),
    [
        ("my son is 14, can he have the MVD operation?", True),
        ("meine Tochter ist 8 und ihr Auge zuckt", True),
        ("kızım 8 yaşında", True),
        ("дочке 8 лет", True),
        ("My son has had twitching for 3 years", False),
        ("my daughter is 35", False),
        ("my son had botox 3 months ago", False),
        ("torunum 10 yaşında, botoks yapılır mı", True),
        ("внуку 11 лет, можно ли ботокс", True),
        ("حفيدتي عمرها 9 سنين", True),
        ("my son 12yo has it", True),
        ("ebni 3omro 12", True),
        ("olum 12 yaşında, iğne olur mu", True),  # oğlum typed without ğ
        # Arabizi digits are letters, not ages: "3omro" (his age), "7amel" (pregnant), "ba3d"
        ("ebni 3omro 40 w 3ando tashannuj", False),
        ("binti 7amel, momken botox?", False),
        ("ebni 3ando ra3sha ba3d el 3amaliye", False),
    ],
)
def test_a_child_patient_is_recognised_by_an_age_under_18(text: str, child: bool) -> None:
    assert names_a_child(text) is child


# Turkish is verb-final: a question word late in a clause asks too (after a comma or "ve").
LATE_QUESTIONS = [
    (
        "Ameliyatın riskleri neler, Türkiye'de bu ameliyatın fiyatı ne kadar?",
        ["Ameliyatın riskleri neler,", "Türkiye'de bu ameliyatın fiyatı ne kadar?"],
    ),
    (
        "Botoks nasıl etki ediyor ve bir seansın etkisi kaç ay sürüyor?",
        ["Botoks nasıl etki ediyor", "ve bir seansın etkisi kaç ay sürüyor?"],
    ),
    (
        "Ameliyat nasıl yapılıyor, yan etkileri neler, genel başarı oranı yüzde kaç?",
        ["Ameliyat nasıl yapılıyor,", "yan etkileri neler,", "genel başarı oranı yüzde kaç?"],
    ),
]


@pytest.mark.parametrize(("text", "parts"), LATE_QUESTIONS, ids=[t[:30] for t, _ in LATE_QUESTIONS])
def test_a_turkish_clause_with_a_late_question_word_is_a_question_of_its_own(
    text: str, parts: list[str]
) -> None:
    segments = split_segments(text, "tr")
    assert [s.text for s in segments] == parts
    assert {s.role for s in segments} == {QUESTION}


def test_a_turkish_question_word_before_a_subordinate_verb_is_not_cut_off() -> None:
    """ "…nasıl başladığını bilmiyoruz": how it began, embedded in "we don't know"."""
    text = "Ameliyat olabilir mi, annemde bu seğirmenin nasıl başladığını bilmiyoruz"
    assert len(split_segments(text, "tr")) == 1


@pytest.mark.parametrize(
    "text",
    [
        "Babam 61 yaşında ve doktorlar hastalığın tam olarak ne olduğunu bilmiyor.",
        "Annemin gözü seğiriyor ve bunun ileride nasıl olacağını bilmiyoruz.",
        "Bence stres buna neden oluyor.",  # "neden olmak": to cause, not "why"
    ],
)
def test_a_turkish_story_sentence_with_an_embedded_question_word_stays_a_statement(
    text: str,
) -> None:
    assert [s.role for s in split_segments(text, "tr")] == [CONTEXT]


# French asks by inverting verb and pronoun anywhere in a clause ("… est-elle efficace").
INVERSIONS = [
    (
        "La carbamazépine est-elle vraiment utile et combien coûte le traitement ?",
        ["La carbamazépine est-elle vraiment utile", "et combien coûte le traitement ?"],
    ),
    (
        "Combien coûte l'opération et le séjour est-il compris ?",
        ["Combien coûte l'opération", "et le séjour est-il compris ?"],
    ),
    (
        "Pour les enfants y a-t-il un risque, et quel est le prix ?",
        ["Pour les enfants y a-t-il un risque,", "et quel est le prix ?"],
    ),
]


@pytest.mark.parametrize(("text", "parts"), INVERSIONS, ids=[t[:30] for t, _ in INVERSIONS])
def test_a_french_inversion_anywhere_in_a_clause_asks(text: str, parts: list[str]) -> None:
    segments = split_segments(text, "fr")
    assert [s.text for s in segments] == parts
    assert {s.role for s in segments} == {QUESTION}


@pytest.mark.parametrize(
    "text",
    [
        "Le botox est-il efficace et sans danger ?",  # one question, "et" joins two adjectives
        "Combien coûte le botox, mon rendez-vous est en mai",
    ],
)
def test_a_french_inversion_does_not_cut_a_single_question(text: str) -> None:
    assert len(split_segments(text, "fr")) == 1


def test_a_french_rendez_vous_is_no_inversion() -> None:
    assert [s.role for s in split_segments("Mon mari a un rendez-vous en mai.", "fr")] == [CONTEXT]


# A yes/no question asked by intonation ("c'est fréquent ?", "это то же самое, что…?") joined
# to the next question by a conjunction is a question part of its own.
INTONATION = [
    (
        "fr",
        "C'est héréditaire ou ça peut venir du stress ?",
        ["C'est héréditaire", "ou ça peut venir du stress ?"],
    ),
    (
        "fr",
        "c'est quoi l'hfs, c'est grave et comment on le soigne",
        ["c'est quoi l'hfs,", "c'est grave", "et comment on le soigne"],
    ),
    (
        "ru",
        "Это то же самое, что тик, и как их отличить?",
        ["Это то же самое, что тик,", "и как их отличить?"],
    ),
    (
        "ru",
        "Это просто нервы или это может быть опухоль?",
        ["Это просто нервы", "или это может быть опухоль?"],
    ),
]


@pytest.mark.parametrize(
    ("language", "text", "parts"), INTONATION, ids=[t[:30] for _, t, _ in INTONATION]
)
def test_a_yes_no_question_asked_by_intonation_is_a_part_of_its_own(
    language: str, text: str, parts: list[str]
) -> None:
    segments = split_segments(text, language)
    assert [s.text for s in segments] == parts
    assert {s.role for s in segments} == {QUESTION}


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("ru", "Это то же самое, что блефароспазм?"),  # ", что" is no new question
        ("fr", "C'est le même problème que ma mère, pourquoi ?"),  # no conjunction: one question
        ("ru", "Это или таблетки, или ботокс?"),  # "или" + no question start of its own
    ],
)
def test_a_yes_no_question_with_a_comma_stays_one_segment(language: str, text: str) -> None:
    assert len(split_segments(text, language)) == 1


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("ru", "Это началось три года назад, и врач сказал, что это стресс."),
        ("fr", "C'est arrivé il y a trois ans, et ça a empiré."),
        ("fr", "Ça a commencé à l'œil, c'est venu petit à petit."),
    ],
)
def test_a_story_beginning_like_a_yes_no_question_stays_a_statement(
    language: str, text: str
) -> None:
    assert [s.role for s in split_segments(text, language)] == [CONTEXT]


def test_an_arabizi_yes_no_question_after_a_question_is_a_part_of_its_own() -> None:
    segments = split_segments("kam se3r el botox, w fi 3elag tani?", "ar")
    assert [s.text for s in segments] == ["kam se3r el botox,", "w fi 3elag tani?"]


@pytest.mark.parametrize(
    "text",
    [
        "Was passiert, wenn Botox nicht wirkt?",
        "Was passiert, wenn man es zu oft spritzt?",
        "Kann ich etwas tun, damit es weniger wird?",
        "Ist es normal, dass es nach der Spritze noch zuckt?",
    ],
)
def test_a_german_subordinate_clause_stays_with_its_question(text: str) -> None:
    assert [s.role for s in split_segments(text, "de")] == [QUESTION]


def test_inner_breaks_offer_the_classifier_a_cut_but_not_beside_a_subordinate_clause() -> None:
    text = "Le prix du botox svp, et est-ce que vous organisez le transfert ?"
    (segment,) = split_segments(text, "fr")
    halves = [
        tuple(h.text for h in cut(text, segment, p)) for p in inner_breaks(text, "fr", segment)
    ]
    assert ("Le prix du botox svp,", "et est-ce que vous organisez le transfert ?") in halves
    story = "if she has the MVD, will the spasm go away straight after?"
    (question,) = split_segments(story, "en")
    assert inner_breaks(story, "en", question) == []


def test_a_question_word_alone_or_after_a_comma_starts_no_question() -> None:
    # "какие" alone is no question of its own; "что" after "сказал," says "that"
    assert len(split_segments("Какие еще есть варианты лечения?", "ru")) == 1
    (told,) = split_segments("Невролог сказал, что сосуд давит на нерв, и советует MVD.", "ru")
    assert told.role == CONTEXT


@pytest.mark.parametrize(
    ("language", "text", "parts"),
    [
        (  # "Sir," is no clause's head
            "en",
            "Sir, which medicines you use for hemifacial spasm and what is the side effects of the botox",
            [
                "Sir, which medicines you use for hemifacial spasm",
                "and what is the side effects of the botox",
            ],
        ),
        (  # Egyptian Arabic asks at the end; "وكمان" (and also) joins the next question
            "ar",
            "ينفع اخد الكاربامازيبين مع دوا الضغط اللي باخده، وكمان الحبوب دي بتشتغل ازاي؟",
            ["ينفع اخد الكاربامازيبين مع دوا الضغط اللي باخده،", "وكمان الحبوب دي بتشتغل ازاي؟"],
        ),
        (  # a Turkish question particle closes its question
            "tr",
            "ameliyat olunca yuzumde felc kalir mi istanbulda toplam ne kadar kalmam lazim",
            ["ameliyat olunca yuzumde felc kalir mi", "istanbulda toplam ne kadar kalmam lazim"],
        ),
    ],
)
def test_a_question_after_a_vocative_a_conjunction_or_a_closing_particle_is_its_own_part(
    language: str, text: str, parts: list[str]
) -> None:
    segments = split_segments(text, language)
    assert [s.text for s in segments] == parts
    assert [s.role for s in segments][1:] == [QUESTION] * (len(parts) - 1)


@pytest.mark.parametrize(
    ("language", "text", "role"),
    [
        ("en", "I had Botox twice, which helped for a while.", CONTEXT),  # relative, not asked
        ("ar", "لم أزر أي طبيب حتى الآن لأنني ظننت أنها بسبب قلة النوم.", CONTEXT),  # أي: any
        ("ar", "ولو ما نفع ايش هي العملية الجراحية", QUESTION),  # if it fails, what is…
        ("en", "After the surgery, how long do I stay?", QUESTION),
    ],
)
def test_the_role_of_a_clause_with_words_that_ask_only_in_their_place(
    language: str, text: str, role: str
) -> None:
    segments = split_segments(text, language)
    assert [s.role for s in segments] == [role]


def test_a_colon_ends_a_preface_but_not_a_time() -> None:
    segments = split_segments("Meine Fragen: Symptome, Behandlung, Kosten?", "de")
    # the list after it is cut where the classifier reads two questions (inner_breaks)
    assert [s.text for s in segments] == ["Meine Fragen:", "Symptome, Behandlung, Kosten?"]
    assert [s.role for s in segments] == [CONTEXT, QUESTION]
    assert len(split_segments("My flight lands at 10:30, how do I get to the hospital?", "en")) == 1
    assert len(split_segments("Botox: how long does it last?", "en")) == 1  # its topic
