"""Limits every patient channel applies before Rasa's NLU sees a message (docs/security.md).

- `BOT_MAX_MESSAGE_CHARS` (default 2000) and `BOT_MAX_MESSAGE_TOKENS` (default 400 words,
  emoji or punctuation marks: the NLU's cost grows with the square of the tokens): longer
  text is cut on a grapheme and, where one is near, a word boundary (`cut_text`); the patient
  gets the answer plus a polite note.
- `BOT_RATE_LIMIT` messages per minute per sender (default 60, 0 = off) with a burst of
  `BOT_RATE_BURST` (default 30): a message over the limit is answered with a polite note and
  not processed (never dropped silently). In memory per process, or shared by every Rasa
  process through Redis when `RATE_LIMIT_REDIS_URL` (or `REDIS_URL`) is set.

`LimitedInbound.handle` is what the channels call instead of `on_new_message`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Awaitable, Callable, Final, Optional, Protocol

import regex
from rasa.core.channels.channel import UserMessage

from bot.channels.inbound import anonymous, patient_state
from bot.languages import DEFAULT_LANGUAGE, normalise_language
from bot.names import LANGUAGE_SLOT

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

DEFAULT_MAX_MESSAGE_CHARS: Final = 2000
DEFAULT_MAX_MESSAGE_TOKENS: Final = 400
DEFAULT_RATE_LIMIT: Final = 60  # messages per minute per sender
DEFAULT_RATE_BURST: Final = 30
WORD_BOUNDARY_WINDOW: Final = 40  # how far back a cut looks for a space
REMEMBERED_SENDERS: Final = 100_000  # in-memory buckets (least recently used dropped)

_GRAPHEME = regex.compile(r"\X")
_WORD_CHAR = regex.compile(r"\w")
_TOKEN = regex.compile(r"\w+|(?!\s)\X")  # what the tokenizer makes a token of, roughly
_CONTROL = regex.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class LimitTexts:
    too_long: str
    too_fast: str


LIMIT_TEXTS: Final[dict[str, LimitTexts]] = {
    "en": LimitTexts(
        too_long=(
            "Your message was very long, so I only read its first part. If something "
            "important was in the rest, please send it in a shorter message."
        ),
        too_fast=(
            "Messages are arriving faster than I can answer. Please wait a moment, then send "
            "your message again."
        ),
    ),
    "ar": LimitTexts(
        too_long=(
            "رسالتك طويلة جدًا، لذلك قرأتُ الجزء الأول منها فقط. إذا كان في بقيتها شيء مهم، "
            "يُرجى إرساله في رسالة أقصر."
        ),
        too_fast=(
            "تصلني الرسائل أسرع مما أستطيع الرد عليها. يُرجى الانتظار قليلًا ثم إعادة إرسال "
            "الرسالة."
        ),
    ),
    "tr": LimitTexts(
        too_long=(
            "Mesajınız çok uzun olduğu için yalnızca ilk bölümünü okuyabildim. Devamında önemli "
            "bir şey varsa lütfen daha kısa bir mesajla gönderin."
        ),
        too_fast=(
            "Mesajlar yanıt verebileceğimden daha hızlı geliyor. Lütfen biraz bekleyin, ardından "
            "mesajınızı tekrar gönderin."
        ),
    ),
    "ru": LimitTexts(
        too_long=(
            "Ваше сообщение очень длинное, поэтому прочитана только его первая часть. Если "
            "дальше было что-то важное, пожалуйста, отправьте это более коротким сообщением."
        ),
        too_fast=(
            "Сообщения приходят быстрее, чем я успеваю отвечать. Пожалуйста, подождите немного "
            "и отправьте сообщение ещё раз."
        ),
    ),
    "de": LimitTexts(
        too_long=(
            "Ihre Nachricht war sehr lang, deshalb habe ich nur den ersten Teil gelesen. Falls "
            "im Rest etwas Wichtiges stand, schicken Sie es bitte in einer kürzeren Nachricht."
        ),
        too_fast=(
            "Die Nachrichten kommen schneller, als ich antworten kann. Bitte warten Sie einen "
            "Moment und senden Sie Ihre Nachricht dann noch einmal."
        ),
    ),
    "fr": LimitTexts(
        too_long=(
            "Votre message était très long, je n'en ai donc lu que la première partie. Si la "
            "suite contenait quelque chose d'important, merci de l'envoyer dans un message "
            "plus court."
        ),
        too_fast=(
            "Les messages arrivent plus vite que je ne peux y répondre. Merci de patienter un "
            "instant, puis de renvoyer votre message."
        ),
    ),
}


def limit_texts(language: Optional[str]) -> LimitTexts:
    return LIMIT_TEXTS[normalise_language(language) or DEFAULT_LANGUAGE]


# --- the text ----------------------------------------------------------------------


def clean_text(text: str) -> str:
    """Well-formed text for NLU and the stores: surrogates that came escaped in JSON are
    paired up or replaced (U+FFFD), control characters other than tab/newline removed."""
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _CONTROL.sub("", text)


def cut_text(text: str, max_chars: int, max_tokens: int | None = None) -> tuple[str, bool]:
    """(at most `max_chars` characters and `max_tokens` tokens of `text`, whether it was cut).

    Cuts between graphemes (an emoji with modifiers, a letter with combining marks stays
    whole) and, when a space is near the limit, between words.
    """
    if max_tokens is not None:
        for count, token in enumerate(_TOKEN.finditer(text, 0, max_chars + 1), start=1):
            if count == max_tokens:
                if token.end() < len(text.rstrip()):
                    max_chars = min(max_chars, token.end())
                break
    if len(text) <= max_chars:
        return text, False
    end = 0
    for grapheme in _GRAPHEME.finditer(text):  # lazy: stops right after the limit
        if grapheme.end() > max_chars:
            break
        end = grapheme.end()
    if end == 0:  # one grapheme longer than the limit (a flood of combining marks)
        return text[0], True
    inside_word = (
        end < len(text) and _WORD_CHAR.match(text, end - 1) and _WORD_CHAR.match(text, end)
    )
    window = text[max(0, end - WORD_BOUNDARY_WINDOW) : end + 1]
    space = max(window.rfind(" "), window.rfind("\n"))
    if inside_word and space > 0:
        end = max(0, end - WORD_BOUNDARY_WINDOW) + space
    return text[:end].rstrip() or text[:end], True


# --- the rate -----------------------------------------------------------------------


class RateLimiter(Protocol):
    async def allow(self, key: str) -> bool: ...


@dataclass(frozen=True)
class Rate:
    per_minute: int
    burst: int

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


class NoRateLimit:
    async def allow(self, key: str) -> bool:
        return True


class MemoryRateLimiter:
    """A token bucket per sender, in this process."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    async def allow(self, key: str) -> bool:
        return self.allow_now(key)

    def allow_now(self, key: str) -> bool:
        now = self._clock()
        tokens, seen = self._buckets.pop(key, (float(self._rate.burst), now))
        tokens = min(float(self._rate.burst), tokens + (now - seen) * self._rate.per_second)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > REMEMBERED_SENDERS:
            self._buckets.popitem(last=False)
        return allowed


# The same token bucket as one atomic step in Redis (keys expire when the bucket is full).
_BUCKET_SCRIPT = """
local burst = tonumber(ARGV[1])
local per_second = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'seen')
local tokens = tonumber(state[1]) or burst
local seen = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - seen) * per_second)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'seen', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / per_second) + 1)
return allowed
"""


class RedisRateLimiter:
    """The token bucket shared by every Rasa process. If Redis cannot be reached, messages
    are let through (a patient is never refused because of our infrastructure)."""

    def __init__(self, url: str, rate: Rate, prefix: str = "hfs:rate:") -> None:
        from redis import asyncio as redis_asyncio  # type: ignore[import-untyped,unused-ignore]

        self._client = redis_asyncio.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._script = self._client.register_script(_BUCKET_SCRIPT)
        self._rate = rate
        self._prefix = prefix

    async def allow(self, key: str) -> bool:
        try:
            allowed = await self._script(
                keys=[self._prefix + anonymous_key(key)],
                args=[self._rate.burst, self._rate.per_second, time.time()],
            )
        except Exception as error:  # Redis down: fail open, say so
            logger.warning("Rate limit not checked (Redis: %s).", type(error).__name__)
            return True
        return bool(allowed)


def anonymous_key(sender_id: str) -> str:
    """The Redis key part for a sender: a digest, so no phone number is stored in Redis."""
    return hashlib.sha256(sender_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


# --- settings and the guard ------------------------------------------------------


@dataclass(frozen=True)
class LimitSettings:
    max_message_chars: int
    max_message_tokens: int
    rate: Rate
    redis_url: Optional[str]

    @classmethod
    def from_environment(cls, env: Optional[dict[str, str]] = None) -> LimitSettings:
        env = dict(os.environ) if env is None else env
        return cls(
            max_message_chars=max(1, _int(env, "BOT_MAX_MESSAGE_CHARS", DEFAULT_MAX_MESSAGE_CHARS)),
            max_message_tokens=max(
                1, _int(env, "BOT_MAX_MESSAGE_TOKENS", DEFAULT_MAX_MESSAGE_TOKENS)
            ),
            rate=Rate(
                max(0, _int(env, "BOT_RATE_LIMIT", DEFAULT_RATE_LIMIT)),
                max(1, _int(env, "BOT_RATE_BURST", DEFAULT_RATE_BURST)),
            ),
            redis_url=env.get("RATE_LIMIT_REDIS_URL") or env.get("REDIS_URL") or None,
        )

    def limiter(self) -> RateLimiter:
        if self.rate.per_minute == 0:
            return NoRateLimit()
        if self.redis_url:
            return RedisRateLimiter(self.redis_url, self.rate)
        return MemoryRateLimiter(self.rate)


def _int(env: dict[str, str], name: str, default: int) -> int:
    value = (env.get(name) or "").strip()
    try:
        return int(value) if value else default
    except ValueError:
        logger.warning("%s is not a whole number; using %d.", name, default)
        return default


class LimitedInbound:
    """Cuts, rate-limits and hands a message to Rasa; adds the notes in the patient's
    language. Channels call `handle(message, on_new_message, agent)`."""

    def __init__(self, settings: LimitSettings, limiter: Optional[RateLimiter] = None) -> None:
        self.settings = settings
        self._limiter = limiter or settings.limiter()

    async def handle(self, message: UserMessage, on_new_message: OnNewMessage, agent: Any) -> None:
        sender = str(message.sender_id)
        if not await self._limiter.allow(sender):
            logger.warning("Rate limit: a message from %s was not processed.", anonymous(sender))
            await self._note(message, agent, "too_fast")
            return
        text = message.text
        cut = False
        if isinstance(text, str):
            text, cut = cut_text(
                clean_text(text),
                self.settings.max_message_chars,
                self.settings.max_message_tokens,
            )
            message.text = text
        if cut:
            logger.info("A message from %s was cut before NLU.", anonymous(sender))
        await on_new_message(message)
        if cut:
            await self._note(message, agent, "too_long")

    async def _note(self, message: UserMessage, agent: Any, which: str) -> None:
        language = await _language(message, agent)
        text = getattr(limit_texts(language), which)
        try:
            await message.output_channel.send_text_message(message.sender_id, text)
        except Exception as error:  # the note is a courtesy: never fail the request for it
            logger.warning("Limit note not delivered: %s", type(error).__name__)


async def _language(message: UserMessage, agent: Any) -> Optional[str]:
    if agent is not None and getattr(agent, "tracker_store", None) is not None:
        try:
            state = await asyncio.wait_for(patient_state(agent, message.sender_id), 2)
            if state.language:
                return state.language
        except Exception:  # no tracker yet, store down: the metadata or English
            pass
    metadata = message.metadata if isinstance(message.metadata, dict) else {}
    return normalise_language(metadata.get(LANGUAGE_SLOT))


@lru_cache(maxsize=1)
def limited_inbound() -> LimitedInbound:
    """The process's guard, configured from the environment once."""
    return LimitedInbound(LimitSettings.from_environment())
