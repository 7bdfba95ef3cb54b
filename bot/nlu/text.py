"""Length-preserving text folding shared by the NLU components.

Folding keeps one output character per input character, so character offsets found in
the folded text are valid in the original text (entity start/end).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

_SPECIAL: dict[str, str] = {
    "ı": "i",  # Turkish dotless i
    "İ": "i",
    "ß": "s",
    "ё": "е",
    "Ё": "е",
    # Arabic letter variants patients use interchangeably
    "أ": "ا",
    "إ": "ا",
    "آ": "ا",
    "ٱ": "ا",
    "ة": "ه",
    "ى": "ي",
    "ؤ": "و",
    "ئ": "ي",
    "’": "'",
    "ʼ": "'",
}


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    if char in _SPECIAL:
        return _SPECIAL[char]
    lowered = char.lower()
    if len(lowered) != 1:
        lowered = char
    base = unicodedata.normalize("NFD", lowered)[0]
    return base if not unicodedata.combining(base) else lowered


def fold(text: str) -> str:
    """Lowercases and strips diacritics, one character for one: "Şişlİ Ärzte" -> "sisli arzte"."""
    return "".join(_fold_char(char) for char in text)
