"""The few words the messaging channels add themselves, in the six languages.

Everything the assistant *says* lives in the domain; these are only the labels around it
(the button that opens a WhatsApp list, the line under a numbered menu) and the apology
sent when the assistant itself failed, which no domain response can cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bot.languages import DEFAULT_LANGUAGE, normalise_language


@dataclass(frozen=True)
class ChannelTexts:
    list_button: str  # opens an interactive list; WhatsApp allows at most 20 characters
    menu_hint: str  # under a numbered text menu
    technical_problem: str  # the assistant could not answer at all


CHANNEL_TEXTS: Final[dict[str, ChannelTexts]] = {
    "en": ChannelTexts(
        list_button="See the options",
        menu_hint="Please reply with the number of your choice.",
        technical_problem=(
            "Sorry, something went wrong on our side and I couldn't answer. "
            "Please try again in a moment."
        ),
    ),
    "ar": ChannelTexts(
        list_button="عرض الخيارات",
        menu_hint="يُرجى الرد برقم الخيار الذي تريده.",
        technical_problem=(
            "عذرًا، حدث خطأ من جهتنا ولم أتمكن من الرد. يُرجى المحاولة مرة أخرى بعد قليل."
        ),
    ),
    "tr": ChannelTexts(
        list_button="Seçenekleri görün",
        menu_hint="Lütfen seçtiğiniz seçeneğin numarasını yazın.",
        technical_problem=(
            "Üzgünüm, bizim tarafımızda bir sorun oluştu ve yanıt veremedim. "
            "Lütfen birazdan tekrar deneyin."
        ),
    ),
    "ru": ChannelTexts(
        list_button="Варианты ответа",
        menu_hint="Пожалуйста, ответьте номером выбранного варианта.",
        technical_problem=(
            "Извините, у нас произошёл технический сбой, и ответить не удалось. "
            "Пожалуйста, попробуйте ещё раз чуть позже."
        ),
    ),
    "de": ChannelTexts(
        list_button="Optionen ansehen",
        menu_hint="Bitte antworten Sie mit der Nummer Ihrer Wahl.",
        technical_problem=(
            "Entschuldigung, bei uns ist ein technischer Fehler aufgetreten, und ich konnte "
            "nicht antworten. Bitte versuchen Sie es gleich noch einmal."
        ),
    ),
    "fr": ChannelTexts(
        list_button="Voir les options",
        menu_hint="Merci de répondre avec le numéro de votre choix.",
        technical_problem=(
            "Désolé, un problème technique est survenu de notre côté et je n'ai pas pu "
            "répondre. Merci de réessayer dans un instant."
        ),
    ),
}


def channel_texts(language: str | None) -> ChannelTexts:
    return CHANNEL_TEXTS[normalise_language(language) or DEFAULT_LANGUAGE]
