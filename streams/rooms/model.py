"""The room's rules as pure functions: modes, content checks, the AutoMod score.

Everything here is deterministic and free of I/O; the stateful checks (bans, timeouts, rate
limits, slow mode, unique-chat) run atomically in Redis (``streams.rooms.gate``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from streams.contracts.chat import RejectReason

AUTOMOD_THRESHOLDS = {0: None, 1: 0.9, 2: 0.7, 3: 0.5, 4: 0.3}
"""Room AutoMod level -> the score at or above which a message is held (0: off)."""

MAX_BANNED_TERMS = 200


class RoomModes(BaseModel):
    """What a room's moderators can switch on. Moderators and the creator are exempt."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    slow_mode_s: int = Field(
        default=0, ge=0, le=3600, description="Seconds between one user's messages; 0 is off."
    )
    emote_only: bool = False
    unique_chat: bool = Field(default=False, description="Refuse a user's repeat of their recent message.")
    links_blocked: bool = False
    automod_level: int = Field(default=1, ge=0, le=4, description="0 off ... 4 strictest (holds the most).")
    toxicity: Literal["off", "shadow", "on"] = Field(
        default="shadow",
        description="The toxicity classifier: off; shadow (scores and records what it would have done, "
        "decides nothing); on (holds or refuses at the thresholds below).",
    )
    toxicity_hold_at: float = Field(
        default=0.9, ge=0.0, le=1.0, description="Hold a message for review at or above this score."
    )
    toxicity_refuse_at: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Refuse a message at or above this score (none: never)."
    )

    @model_validator(mode="after")
    def _refuse_above_hold(self) -> RoomModes:
        if self.toxicity_refuse_at is not None and self.toxicity_refuse_at < self.toxicity_hold_at:
            raise ValueError("toxicity_refuse_at must be at least toxicity_hold_at")
        return self


@dataclass(frozen=True)
class Room:
    room_id: str
    creator_id: str
    modes: RoomModes = field(default_factory=RoomModes)
    banned_terms: tuple[str, ...] = ()
    moderators: frozenset[str] = frozenset()
    closed: bool = False

    def is_privileged(self, user_id: str, *, admin: bool = False) -> bool:
        """The creator, an appointed moderator of this room, or a platform admin."""
        return admin or user_id == self.creator_id or user_id in self.moderators


@dataclass(frozen=True)
class Verdict:
    outcome: Literal["accept", "hold", "reject"]
    reason: RejectReason | None = None
    detail: str = ""
    score: float = 0.0
    retry_after_ms: int | None = None


ACCEPT = Verdict("accept")

_EMOTE_CODE = re.compile(r":[A-Za-z0-9_+-]{1,32}:")
_LINK = re.compile(
    r"(?i)(?:\bhttps?://\S+|\bwww\.\S+|\b[a-z0-9-]{1,63}\.(?:com|net|org|io|gg|tv|co|ly|me|xyz|ru|info|biz|app|dev|link|shop)\b)"
)
_REPEATS = re.compile(r"(.)\1{5,}")
# A deliberately small vocabulary of abuse, weighted; a real deployment plugs in a classifier here.
_ABUSE = {
    "idiot": 0.5,
    "stupid": 0.4,
    "loser": 0.4,
    "trash": 0.3,
    "shut up": 0.4,
    "hate you": 0.6,
    "kill yourself": 1.0,
    "kys": 1.0,
    "moron": 0.5,
    "dumb": 0.3,
}
_ABUSE_RE = {word: re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)") for word in _ABUSE}


def _is_emoji(char: str) -> bool:
    code = ord(char)
    return (
        0x1F000 <= code <= 0x1FAFF
        or 0x2600 <= code <= 0x27BF
        or code in (0x200D, 0xFE0F, 0x20E3)
        or unicodedata.category(char) == "So"
    )


def is_emote_only(text: str) -> bool:
    rest = _EMOTE_CODE.sub("", text)
    return bool(text.strip()) and all(c.isspace() or _is_emoji(c) for c in rest)


def has_link(text: str) -> bool:
    return _LINK.search(text) is not None


def normalise(text: str) -> str:
    """Case, accents and spacing folded: what unique-chat and banned terms compare."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.split())


def clean_terms(terms: list[str]) -> tuple[str, ...]:
    """Banned terms as stored: normalised, non-empty, unique, sorted; at most MAX_BANNED_TERMS."""
    cleaned = sorted({normalise(t) for t in terms if normalise(t)})
    if len(cleaned) > MAX_BANNED_TERMS:
        raise ValueError(f"at most {MAX_BANNED_TERMS} banned terms per room")
    return tuple(cleaned)


@lru_cache(maxsize=1024)
def _terms_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(r"(?<!\w)(?:" + alternatives + r")(?!\w)")


def banned_term_in(text: str, terms: tuple[str, ...]) -> str | None:
    if not terms:
        return None
    match = _terms_pattern(terms).search(normalise(text))
    return match.group(0) if match else None


def automod_score(text: str) -> float:
    """0..1: abuse vocabulary, shouting, character floods. Held when at or above the room level."""
    folded = normalise(text)
    score = sum(weight for word, weight in _ABUSE.items() if _ABUSE_RE[word].search(folded))
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 12:
        upper = sum(c.isupper() for c in letters) / len(letters)
        if upper > 0.7:
            score += 0.3
    if _REPEATS.search(text):
        score += 0.2
    return round(min(score, 1.0), 3)


def judge_content(text: str, room: Room, *, privileged: bool) -> Verdict:
    """The room's content rules, in the order a user would want to hear about them."""
    term = banned_term_in(text, room.banned_terms)
    if term is not None and not privileged:
        return Verdict("reject", RejectReason.BANNED_TERM, f"the room does not allow {term!r}")
    if privileged:
        return ACCEPT
    modes = room.modes
    if modes.emote_only and not is_emote_only(text):
        return Verdict("reject", RejectReason.EMOTE_ONLY, "the room is in emote-only mode")
    if modes.links_blocked and has_link(text):
        return Verdict("reject", RejectReason.LINK_BLOCKED, "links are not allowed in this room")
    threshold = AUTOMOD_THRESHOLDS[modes.automod_level]
    if threshold is not None:
        score = automod_score(text)
        if score >= threshold:
            return Verdict("hold", detail=f"automod level {modes.automod_level}", score=score)
    return ACCEPT


def toxicity_verdict(score: float, modes: RoomModes) -> Literal["hold", "refuse"] | None:
    """What the classifier's ``score`` calls for under the room's thresholds (in shadow mode this
    is recorded, not done)."""
    if modes.toxicity_refuse_at is not None and score >= modes.toxicity_refuse_at:
        return "refuse"
    if score >= modes.toxicity_hold_at:
        return "hold"
    return None
