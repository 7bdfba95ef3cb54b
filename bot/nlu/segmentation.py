"""Splits a patient's message into a greeting, sentences and question clauses.

Patients write "Hello, what are the risks of the surgery, and how many days in hospital?"
or a short story ending with a question. Each part is classified on its own
(`LinearIntentClassifier`) and answered in order (`actions/answering.py`). Splitting is
conservative: a sentence is cut inside only where a new question starts (a conjunction or
comma followed by a question word), so "the risks and side effects" stays one question.
Where a language asks later in a clause, that counts too: a Turkish question word near the
clause's end ("…, başarı oranı yüzde kaç?"), a French inverted verb ("… est-elle efficace"),
a yes/no question asked by intonation ("c'est fréquent ?", "это то же самое, что…?").
Pure functions over the text; the word lists per language are in
`bot/nlu/segmentation_cues.yml` (data, folded with `bot.nlu.text.fold`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import pairwise
from pathlib import Path

import yaml

from bot.languages import SUPPORTED_LANGUAGES
from bot.nlu.text import fold

CUES_FILE = Path(__file__).with_name("segmentation_cues.yml")

GREETING = "greeting"
QUESTION = "question"
CONTEXT = "context"  # a statement: what the patient tells, not what they ask

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
# Sentence ends: ? ! ؟ … ; and full stops not inside numbers ("1.5") or abbreviations; a colon
# not inside a time or an address ("my questions: …" is a preface of its own).
_SENTENCE_END = re.compile(r"[?!؟…]+|\.+(?!\d)|\n+|;|:(?![\d/])")
_ABBREVIATIONS = frozenset(
    {"dr", "mr", "mrs", "ms", "prof", "st", "z.b", "bzw", "usw", "ca", "etc", "vs", "sr", "jr"}
)
# Where a clause may end inside a sentence: a comma/dash, or a coordinating conjunction.
_CLAUSE_BREAK = re.compile(r"\s*[,،–—]\s*|\s+-\s+")
_QUESTION_MARKS = ("?", "؟")


class SegmentationCueError(ValueError):
    """bot/nlu/segmentation_cues.yml is not in the expected shape."""


@dataclass(frozen=True)
class Cues:
    greetings: tuple[str, ...]  # folded phrases, longest first
    question_words: frozenset[str]  # what, how: the first or second word of a question
    question_verbs: frozenset[str]  # is, can: the first word only
    question_particles: frozenset[str]  # anywhere in the clause (tr "mi", ru "ли")
    request_verbs: frozenset[str]  # "I'd like to know how…": an indirect question
    request_starts: tuple[tuple[str, ...], ...]  # "I'd like to book…": a request clause begins
    inversion_words: frozenset[str]  # a pronoun second: "buchen Sie…?", "réservez-vous…?"
    common_words: frozenset[str]  # only for guessing the language of short messages
    child_nouns: frozenset[str]  # son, daughter…: with an age under 18, the patient is a child
    conjunctions: frozenset[str]
    story_words: frozenset[str]  # my, ich, je: a part without a question cue that has them tells
    subordinators: frozenset[str]  # de "wenn", "dass": the clause they open asks nothing new
    prefixed_conjunctions: tuple[str, ...]  # glued to the next word (ar "و")
    # verb-final languages (tr): a question word among a clause's last words asks too
    # ("başarı oranı yüzde kaç"), unless a subordinate verb form follows it
    final_question_words: frozenset[str]
    subordinate_endings: tuple[str, ...]  # "ne zaman başladığını bilmiyorum": no question
    hyphened_pronouns: frozenset[str]  # fr "est-elle", "y a-t-il": a question anywhere
    not_inversions: frozenset[str]  # "rendez-vous": a noun, not a verb and its pronoun
    yes_no_starts: tuple[tuple[str, ...], ...]  # fr "c'est…?", ru "это…?": asked by intonation
    first_only_question_words: frozenset[str]  # ar "أي" (which / any): asks as the first word
    conditionals: frozenset[str]  # "if": a clause they open asks with a question word after
    closing_particles: frozenset[str]  # tr "mı": the question ends there, the next may begin
    vocatives: frozenset[str]  # "Sir,", "Doctor,": not the clause's head

    @cached_property
    def _cue_words(self) -> frozenset[str]:
        return self.question_words | self.question_verbs | self.conjunctions

    def only_cue_words(self, words: list[str]) -> bool:
        """ "Какие | ещё есть варианты…": a question word alone is no question of its own."""
        return all(word in self._cue_words for word in words)


@dataclass(frozen=True)
class Segment:
    start: int
    end: int
    text: str
    role: str  # GREETING, QUESTION or CONTEXT


@lru_cache(maxsize=1)
def all_cues() -> dict[str, Cues]:
    content = yaml.safe_load(CUES_FILE.read_text(encoding="utf-8")) or {}
    cues = {}
    for language in SUPPORTED_LANGUAGES:
        cues[language] = _cues_of(content.get(language), language)
    return cues


def _cues_of(entry: object, language: str) -> Cues:
    if not isinstance(entry, dict):
        raise SegmentationCueError(f"{CUES_FILE}: no cues for '{language}'")

    def words(key: str) -> list[str]:
        return _cue_list(entry, language, key)

    return Cues(
        greetings=tuple(sorted(set(words("greetings")), key=len, reverse=True)),
        question_words=frozenset(words("question_words")),
        question_verbs=frozenset(words("question_verbs")),
        question_particles=frozenset(words("question_particles")),
        request_verbs=frozenset(words("request_verbs")),
        request_starts=tuple(tuple(_WORD.findall(p)) for p in words("request_starts")),
        inversion_words=frozenset(words("inversion_words")),
        common_words=frozenset(words("common_words")),
        child_nouns=frozenset(words("child_nouns")),
        conjunctions=frozenset(words("conjunctions")),
        story_words=frozenset(words("story_words")),
        subordinators=frozenset(words("subordinators")),
        prefixed_conjunctions=tuple(words("prefixed_conjunctions")),
        final_question_words=frozenset(words("final_question_words")),
        subordinate_endings=tuple(words("subordinate_endings")),
        hyphened_pronouns=frozenset(words("hyphened_pronouns")),
        not_inversions=frozenset(words("not_inversions")),
        yes_no_starts=tuple(tuple(_WORD.findall(p)) for p in words("yes_no_starts")),
        first_only_question_words=frozenset(words("first_only_question_words")),
        conditionals=frozenset(words("conditionals")),
        closing_particles=frozenset(words("closing_particles")),
        vocatives=frozenset(words("vocatives")),
    )


def _cue_list(entry: dict[str, object], language: str, key: str) -> list[str]:
    value = entry.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SegmentationCueError(f"{CUES_FILE}: {language}.{key} must be a list")
    return [fold(v).strip() for v in value if v.strip()]


@lru_cache(maxsize=1)
def _greeting_pattern() -> re.Pattern[str]:
    """Greeting phrases of every language: a Turkish patient may well write "hello"."""
    phrases = sorted({g for c in all_cues().values() for g in c.greetings}, key=len, reverse=True)
    alternatives = "|".join(re.escape(p) for p in phrases)
    return re.compile(rf"^\s*(?:{alternatives})(?![^\W_])[\s,.!:;)\-–—]*", re.UNICODE)


def split_segments(text: str, language: str | None) -> list[Segment]:
    """The message's greeting (if it starts with one), then its sentences and clauses."""
    cues = all_cues().get(language or "", all_cues()["en"])
    folded = fold(text)
    segments: list[Segment] = []
    offset = 0
    greeting = _greeting_pattern().match(folded)
    if greeting and greeting.end() > 0 and folded[greeting.end() :].strip():
        offset = greeting.end()
        segments.append(_segment(text, 0, offset, GREETING))
    for start, end in _sentences(folded, offset):
        for clause_start, clause_end in _clauses(folded, start, end, cues):
            is_question = _is_question(folded, clause_start, clause_end, end, cues)
            segments.append(
                _segment(text, clause_start, clause_end, QUESTION if is_question else CONTEXT)
            )
    return [s for s in segments if s.text]


def inner_breaks(text: str, language: str | None, segment: Segment) -> list[int]:
    """Where a segment could still be cut (a comma, a conjunction) with words on each side
    ("symptoms | and diagnosis?"): the classifier decides (`LinearIntentClassifier`) whether
    two questions are asked there ("Le prix du botox svp, et est-ce que…", "…, et les
    résultats sont bons ?")."""
    cues = all_cues().get(language or "", all_cues()["en"])
    folded = fold(text)
    breaks = []
    for position in _break_positions(folded, segment.start, segment.end, cues):
        left = _words(folded, segment.start, position, cues)
        right = _words(folded, position, segment.end, cues)
        dependent = any(w[0] in cues.subordinators for w in (left, right) if w)
        bare = any(cues.only_cue_words(w) for w in (left, right))  # "Какие |"
        if left and right and not dependent and not bare:  # "if she has MVD, will…": one
            breaks.append(position)
    return breaks


def asks(text: str, language: str | None, segment: Segment) -> bool:
    """Whether the part (or one of its clauses) asks by its form: a question word, verb or
    particle, a question mark."""
    cues = all_cues().get(language or "", all_cues()["en"])
    folded = fold(text)
    bounds = [segment.start, *_break_positions(folded, segment.start, segment.end, cues)]
    # any of its clauses: "Mein Auge zwinkert von allein, was ist die Ursache"
    return any(
        _is_question(folded, start, end, segment.end, cues)
        for start, end in zip(bounds, [*bounds[1:], segment.end], strict=True)
    )


# A part without a question cue may still ask when it is this short and tells nothing about
# the patient: "the price of the decompression", "Visa requirements for Indian passport holders"
_MAX_UNMARKED_WORDS = 8


def may_ask_unmarked(text: str, language: str | None, segment: Segment) -> bool:
    """ "Le prix du botox svp", "Risiken der OP bitte": a question without a question word;
    not "Mon oeil droit cligne tout seul" (it tells: "mon"), nor a long statement."""
    cues = all_cues().get(language or "", all_cues()["en"])
    words = _words(fold(text), segment.start, segment.end, cues)
    return len(words) <= _MAX_UNMARKED_WORDS and not any(w in cues.story_words for w in words)


def cut(text: str, segment: Segment, position: int) -> tuple[Segment, Segment]:
    """The two parts of a segment cut at `position`, with its role."""
    return (
        _segment(text, segment.start, position, segment.role),
        _segment(text, position, segment.end, segment.role),
    )


def _segment(text: str, start: int, end: int, role: str) -> Segment:
    raw = text[start:end]
    stripped_start = start + (len(raw) - len(raw.lstrip()))
    stripped_end = start + len(raw.rstrip())
    return Segment(stripped_start, stripped_end, text[stripped_start:stripped_end], role)


def _sentences(folded: str, offset: int) -> list[tuple[int, int]]:
    spans = []
    start = offset
    for match in _SENTENCE_END.finditer(folded, offset):
        if match.group().startswith(".") and _is_abbreviation(folded, match.start()):
            continue
        if match.group() == ":" and len(_WORD.findall(folded, start, match.start())) < 2:
            continue  # "Botox: how long does it last…": a topic, not a preface
        end = match.end()
        if folded[start:end].strip(" .?!؟…\n;:"):
            spans.append((start, end))
            start = end
    if folded[start:].strip(" .?!؟…\n;:"):
        spans.append((start, len(folded)))
    elif spans:
        spans[-1] = (spans[-1][0], len(folded))
    return spans


def _is_abbreviation(folded: str, dot: int) -> bool:
    before = folded[:dot].rsplit(None, 1)
    word = before[-1] if before else ""
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _clauses(folded: str, start: int, end: int, cues: Cues) -> list[tuple[int, int]]:
    """Cuts a sentence where a new question or request begins after a comma or a conjunction
    ("what does Botox cost, I'd like to book"; "I want to book, how long is the stay?")."""
    cuts = [start]
    breaks = _break_positions(folded, start, end, cues)
    for previous, position, clause_end in zip(
        [start, *breaks], breaks, [*breaks, end][1:], strict=False
    ):
        left = (cuts[-1], position)
        # "Это то же самое, что…, и как…?": a yes/no question joined to the next one
        joined = _begins_with_conjunction(folded, position, end, cues)
        asks_left = (
            _asks(folded, *left, cues)
            # "my eye twitches on its own, what causes it | and can tablets stop it?"
            or (previous > left[0] and _asks(folded, previous, position, cues))
            or (joined and _asks_by_intonation(folded, *left, end, cues))
            or _starts_request(folded, *left, cues)
        )
        asks_right = (
            _starts_question(folded, position, clause_end, cues)
            or _asks_inside(folded, position, clause_end, cues)
            or _asks_by_intonation(folded, position, clause_end, end, cues)
            or _starts_request(folded, position, end, cues)
        )
        if asks_left and asks_right and not cues.only_cue_words(_words(folded, *left, cues)):
            cuts.append(position)
    cuts.append(end)
    return [(a, b) for a, b in pairwise(cuts) if folded[a:b].strip(" ,.?!")]


def _begins_with_conjunction(folded: str, start: int, end: int, cues: Cues) -> bool:
    first = _WORD.search(folded, start, end)
    return first is not None and first.group() in cues.conjunctions


def _break_positions(folded: str, start: int, end: int, cues: Cues) -> list[int]:
    positions = {m.end() for m in _CLAUSE_BREAK.finditer(folded, start, end)}
    for word in _WORD.finditer(folded, start, end):
        token = word.group()
        if token in cues.closing_particles:
            positions.add(word.end())
        glued = any(
            token.startswith(p) and len(token) > len(p) + 1 for p in cues.prefixed_conjunctions
        )
        if glued or (token in cues.conjunctions and word.start() > start):
            positions.add(word.start())
    return sorted(p for p in positions if start < p < end)


def _words(folded: str, start: int, end: int, cues: Cues) -> list[str]:
    words = [m.group() for m in _WORD.finditer(folded, start, end)]
    while words and words[0] in cues.conjunctions:
        words = words[1:]
    if words:
        for prefix in cues.prefixed_conjunctions:
            head = words[0]
            if (
                head.startswith(prefix)
                and len(head) > len(prefix) + 1
                and head not in cues.question_words
            ):
                words[0] = head[len(prefix) :]
                break
        if words[0] in cues.conjunctions:  # "وبعدين": "و" glued to "بعدين" (then)
            words = words[1:]
    return words


def _starts_question(folded: str, start: int, end: int, cues: Cues) -> bool:
    words = _words(folded, start, end, cues)
    if not words:
        return False
    if words[0] in cues.subordinators:
        # "ولو ما نفع ايش هي العملية": if it does not help, what is the operation?
        return words[0] in cues.conditionals and any(
            _is_question_word(w, i, cues) for i, w in enumerate(words[2:], start=2)
        )
    # the first words before a comma: in "Невролог сказал, что сосуд давит" the "что" after
    # the comma says "that"
    comma = min((i for i in (folded.find(c, start, end) for c in ",،") if i >= 0), default=end)
    head = _words(folded, start, comma, cues)
    if not head or all(w in cues.vocatives for w in head):
        head = words  # "Sir, which medicines…", "Doctor, how long…": the question follows
    return (
        any(_is_question_word(w, i, cues) for i, w in enumerate(head[:3]))
        or words[0] in cues.question_verbs
        or any(w in cues.question_particles for w in words)
        or (len(words) > 1 and words[1] in cues.inversion_words)
    )


def _is_question_word(word: str, index: int, cues: Cues) -> bool:
    """A question word at this place of its clause ("أي" only first: later it says "any")."""
    first_only = word in cues.first_only_question_words
    return word in cues.question_words and (index == 0 or not first_only)


def _starts_request(folded: str, start: int, end: int, cues: Cues) -> bool:
    words = tuple(_words(folded, start, end, cues))
    return any(words[: len(phrase)] == phrase for phrase in cues.request_starts)


def _has_question_cue(folded: str, start: int, end: int, cues: Cues) -> bool:
    words = _words(folded, start, end, cues)
    return bool(words) and (
        _starts_question(folded, start, end, cues)
        or words[-1] in cues.question_words
        or _asks_indirectly(words, cues)
        or folded[start:end].rstrip().endswith(_QUESTION_MARKS)
    )


def _asks(folded: str, start: int, end: int, cues: Cues) -> bool:
    """A clause that asks, by a question cue wherever its language puts one."""
    return _has_question_cue(folded, start, end, cues) or _asks_inside(folded, start, end, cues)


def _asks_inside(folded: str, start: int, end: int, cues: Cues) -> bool:
    """A question cue past a clause's start: a late question word, an inverted verb."""
    return _asks_verb_final(folded, start, end, cues) or _inverts(folded, start, end, cues)


# A question word this close to a verb-final clause's end asks: the word and its verb,
# perhaps one noun between ("hastanede kaç gün kalırım", "başarı oranı yüzde kaç").
_VERB_FINAL_WINDOW = 3


def _asks_verb_final(folded: str, start: int, end: int, cues: Cues) -> bool:
    """ "…, başarı oranı yüzde kaç?": a question word late in a clause of a verb-final
    language, with no subordinate verb form after it ("ne zaman başladığını bilmiyorum")."""
    words = _words(folded, start, end, cues)
    for index in range(max(0, len(words) - _VERB_FINAL_WINDOW), len(words)):
        if words[index] in cues.final_question_words:
            after = words[index + 1 :]
            return not any(w.endswith(cues.subordinate_endings) for w in after)
    return False


# A verb with a pronoun hyphened on: "est-elle", "peut-on", "a-t-il", "qu'est-ce".
_HYPHENED = re.compile(r"(?<![^\W_])[^\W_]+-(?:t-)?([^\W_]+)(?![^\W_]|-)")


def _inverts(folded: str, start: int, end: int, cues: Cues) -> bool:
    """ "La carbamazépine est-elle efficace": French asks by inverting verb and pronoun."""
    return any(
        match.group(1) in cues.hyphened_pronouns and match.group() not in cues.not_inversions
        for match in _HYPHENED.finditer(folded, start, end)
    )


def _asks_indirectly(words: list[str], cues: Cues) -> bool:
    """ "I'd like to know how it works", "ich möchte wissen, was es kostet"."""
    text = " ".join(words)
    asks = any(f" {v} " in f" {text} " for v in cues.request_verbs)
    return asks and any(w in cues.question_words for w in words)


def _is_question(folded: str, start: int, end: int, sentence_end: int, cues: Cues) -> bool:
    return _asks(folded, start, end, cues) or _asks_by_intonation(
        folded, start, end, sentence_end, cues
    )


def _asks_by_intonation(folded: str, start: int, end: int, sentence_end: int, cues: Cues) -> bool:
    """ "C'est fréquent ?", "ce sont des symptômes typiques ou ça peut être…?": a clause
    beginning as a statement, asked by its sentence's question mark or by the question word
    that opens the clause after it ("c'est quoi le SHF, c'est fréquent et comment…")."""
    words = tuple(_words(folded, start, end, cues))
    if not any(words[: len(phrase)] == phrase for phrase in cues.yes_no_starts):
        return False
    if folded[start:sentence_end].rstrip().endswith(_QUESTION_MARKS):
        return True
    following = [p for p in _break_positions(folded, start, sentence_end, cues) if p >= end]
    after = _words(folded, following[0], sentence_end, cues) if following else []
    return bool(after) and after[0] in cues.question_words


# An age: a number under 18 not part of a duration ("for 3 years", "seit 3 Jahren", "3 yıldır").
_NUMBER = re.compile(r"(?<!\d)(?<!\d[.,])(\d{1,2})(?!\d|[.,]\d)")
_DURATION_BEFORE = re.compile(
    r"(?:for|since|seit|depuis|pendant|منذ|уже|последние|vor|il y a)\s*$", re.IGNORECASE
)
_DURATION_AFTER = re.compile(
    r"^\s*(?:-\s*)?(?:yıldır|yildir|aydır|aydir|senedir|haftadır|years? ago|months?|weeks?|days?"
    r"|monate?n?|wochen?|tage?n?|mois|semaines?|jours?|ay\b|gün|hafta|месяц|недел|дн|назад"
    r"|شهر|أشهر|اسابيع|أسابيع|أيام|يوم)",
    re.IGNORECASE,
)


# Letters glued to a number make it part of a word: Arabizi writes sounds with digits
# ("3omro 40", "7amel", "ba3d"). An age unit may follow directly ("12yo", "9j", "12yaşında").
_LETTERS = re.compile(r"[^\W\d_]+")
_AGE_UNIT = re.compile(
    r"(?:y|yo|yrs?|years?|j|jahre?n?|jahrig\w*|ans?|yas\w*|лет\w*|летн\w*|سن\w*|عام\w*)$"
)


def _inside_a_word(folded: str, start: int, end: int) -> bool:
    if start > 0 and _LETTERS.match(folded, start - 1):
        return True
    letters = _LETTERS.match(folded, end)
    return letters is not None and not _AGE_UNIT.match(letters.group())


def names_a_child(text: str) -> bool:
    """ "my son is 14", "meine Tochter (9)", "oğlum 12 yaşında": a patient under 18."""
    folded = fold(text)
    words = {m.group() for m in _WORD.finditer(folded)}
    nouns = set().union(*(c.child_nouns for c in all_cues().values()))
    if not words & nouns:
        return False
    for match in _NUMBER.finditer(folded):
        if int(match.group(1)) >= 18 or _inside_a_word(folded, *match.span(1)):
            continue
        before, after = folded[: match.start()], folded[match.end() :]
        if not _DURATION_BEFORE.search(before) and not _DURATION_AFTER.match(after):
            return True
    return False
