"""The language a phone number's country code suggests, as a first-message hint only.

A hint, not a decision: the channels send it only while a conversation has no language
yet, and not when the message itself is clearly written in one of our languages.
"""

from __future__ import annotations

import re
from typing import Final

import phonenumbers

# Country calling code -> language. The Arabic list covers the Arab League members.
COUNTRY_CODE_LANGUAGES: Final[dict[int, str]] = {
    90: "tr",  # Turkey
    7: "ru",  # Russia, Kazakhstan
    49: "de",  # Germany
    43: "de",  # Austria
    41: "de",  # Switzerland
    33: "fr",  # France
    32: "fr",  # Belgium
    **dict.fromkeys(
        [
            20,  # Egypt
            212,  # Morocco
            213,  # Algeria
            216,  # Tunisia
            218,  # Libya
            222,  # Mauritania
            249,  # Sudan
            252,  # Somalia
            253,  # Djibouti
            269,  # Comoros
            961,  # Lebanon
            962,  # Jordan
            963,  # Syria
            964,  # Iraq
            965,  # Kuwait
            966,  # Saudi Arabia
            967,  # Yemen
            968,  # Oman
            970,  # Palestine
            971,  # United Arab Emirates
            973,  # Bahrain
            974,  # Qatar
        ],
        "ar",
    ),
}

_NOT_DIGITS = re.compile(r"\D")


def language_for_phone(number: str) -> str | None:
    """The hinted language for a WhatsApp id or number ("905321234567",
    "whatsapp:+905321234567"), or None when the country has no hint or it is no number."""
    digits = _NOT_DIGITS.sub("", number)
    if not digits:
        return None
    try:
        parsed = phonenumbers.parse(f"+{digits}", None)
    except phonenumbers.NumberParseException:
        return None
    return COUNTRY_CODE_LANGUAGES.get(parsed.country_code or 0)
