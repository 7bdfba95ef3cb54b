"""The statistics page: numbers from the tracker store, the handoff store and the outbox,
drawn as SVG on the server (no chart library, no script). Pure once the rows are read."""

from __future__ import annotations

import html
import json
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Mapping, Optional, Sequence

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from actions.handoff_store import Ticket
from bot.coordinator.store import OutboxMessage

COLOURS = ("#1f6f8b", "#e07a1f", "#3c8d2f", "#8e3b8e", "#c0392b", "#6d6d6d")
FALLBACK_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})


@dataclass(frozen=True)
class UserEvent:
    sender_id: str
    timestamp: float
    intent: Optional[str]


@dataclass(frozen=True)
class Stats:
    per_day_language: dict[str, dict[str, int]]  # ISO day -> language -> conversations
    topics: list[tuple[str, int]]
    messages: int
    fallback_rate: float
    conversations: int
    handoff_rate: float
    first_reply_minutes: list[float]
    bookings_per_day: dict[str, int]

    @property
    def median_first_reply(self) -> Optional[float]:
        return statistics.median(self.first_reply_minutes) if self.first_reply_minutes else None


def read_tracker(engine: Engine) -> tuple[list[UserEvent], dict[str, str]]:
    """User events and each conversation's latest `language` slot, read-only."""
    if not inspect(engine).has_table("events"):
        return [], {}
    with engine.connect() as connection:
        users = connection.execute(
            text("SELECT sender_id, timestamp, intent_name FROM events WHERE type_name = 'user'")
        ).all()
        slots = connection.execute(
            text(
                "SELECT sender_id, data FROM events WHERE type_name = 'slot' "
                'AND data LIKE \'%"name": "language"%\' ORDER BY id'
            )
        ).all()
    languages: dict[str, str] = {}
    for sender_id, data in slots:
        value = (json.loads(data) if isinstance(data, str) else {}).get("value")
        if isinstance(value, str):
            languages[str(sender_id)] = value
    return [UserEvent(str(s), float(t or 0), i) for s, t, i in users], languages


def _day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).date().isoformat()


def compute(
    events: Sequence[UserEvent],
    languages: Mapping[str, str],
    tickets: Sequence[Ticket],
    sent: Sequence[OutboxMessage],
) -> Stats:
    first_day: dict[str, str] = {}
    for event in sorted(events, key=lambda e: e.timestamp):
        first_day.setdefault(event.sender_id, _day(event.timestamp))
    per_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for sender, day in first_day.items():
        per_day[day][languages.get(sender, "?")] += 1
    intents = Counter(e.intent for e in events if e.intent)
    fallbacks = sum(intents[i] for i in FALLBACK_INTENTS)
    handed = {t.sender_id for t in tickets if t.kind in ("handoff", "emergency", "fallback")}
    conversations = len(first_day)
    coordinator_sent = sorted(
        (m for m in sent if m.username and m.sent_at), key=lambda m: m.sent_at or datetime.min
    )
    first_reply = []
    for ticket in tickets:
        reply = next(
            (
                m
                for m in coordinator_sent
                if m.conversation_id == ticket.sender_id
                and m.sent_at
                and m.sent_at >= ticket.created_at
            ),
            None,
        )
        if reply and reply.sent_at:
            first_reply.append((reply.sent_at - ticket.created_at).total_seconds() / 60)
    bookings: dict[str, int] = defaultdict(int)
    for ticket in tickets:
        if ticket.kind == "booking":
            bookings[ticket.created_at.date().isoformat()] += 1
    return Stats(
        per_day_language={day: dict(v) for day, v in sorted(per_day.items())},
        topics=[(i, n) for i, n in intents.most_common(10)],
        messages=len(events),
        fallback_rate=fallbacks / len(events) if events else 0.0,
        conversations=conversations,
        handoff_rate=len(handed & set(first_day)) / conversations if conversations else 0.0,
        first_reply_minutes=first_reply,
        bookings_per_day=dict(sorted(bookings.items())),
    )


def bar_chart(title: str, bars: Sequence[tuple[str, float]], unit: str = "") -> str:
    """Horizontal bars, one per (label, value); accessible (role=img, title, text values)."""
    width, row, label_width = 520, 26, 200
    height = max(row * len(bars) + 30, 60)
    top = max((value for _, value in bars), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" aria-label="{html.escape(title)}"><title>{html.escape(title)}</title>'
    ]
    if not bars:
        parts.append('<text x="10" y="35" font-size="14" fill="#555">—</text>')
    for index, (label, value) in enumerate(bars):
        y = 20 + index * row
        length = (width - label_width - 70) * value / top
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 14}" font-size="13" text-anchor="end" '
            f'fill="#222">{html.escape(label[:32])}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{row - 8}" '
            f'fill="{COLOURS[0]}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 14}" font-size="13" '
            f'fill="#222">{value:g}{html.escape(unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def stacked_days_chart(title: str, per_day: Mapping[str, Mapping[str, int]]) -> str:
    """Columns per day, stacked by language, with a legend."""
    days = list(per_day)[-30:]
    languages = sorted({lang for day in days for lang in per_day[day]})
    width, height, bottom = 560, 240, 200
    top = max((sum(per_day[d].values()) for d in days), default=0) or 1
    step = min((width - 60) / max(len(days), 1), 48.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" aria-label="{html.escape(title)}"><title>{html.escape(title)}</title>'
    ]
    for index, day in enumerate(days):
        x, y = 40 + index * step, float(bottom)
        for li, lang in enumerate(languages):
            value = per_day[day].get(lang, 0)
            h = (bottom - 20) * value / top
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(step - 4, 2):.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[li % len(COLOURS)]}"><title>{html.escape(day)} '
                f"{html.escape(lang)}: {value}</title></rect>"
            )
        parts.append(
            f'<text x="{x:.1f}" y="{bottom + 16}" font-size="10" fill="#222">'
            f"{html.escape(date.fromisoformat(day).strftime('%m-%d'))}</text>"
        )
    for li, lang in enumerate(languages):
        parts.append(
            f'<rect x="{40 + li * 60}" y="{height - 16}" width="12" height="12" '
            f'fill="{COLOURS[li % len(COLOURS)]}"/><text x="{56 + li * 60}" y="{height - 6}" '
            f'font-size="12" fill="#222">{html.escape(lang)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
