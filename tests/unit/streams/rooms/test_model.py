from __future__ import annotations

import pytest

from streams.contracts.chat import RejectReason
from streams.rooms.model import (
    Room,
    RoomModes,
    automod_score,
    banned_term_in,
    clean_terms,
    has_link,
    is_emote_only,
    judge_content,
)


def room(**modes: object) -> Room:
    return Room(
        "r1",
        "creator",
        RoomModes.model_validate(modes),
        clean_terms(["Spoiler", "bad word"]),
        frozenset({"mod"}),
    )


@pytest.mark.parametrize(
    ("text", "emotes"),
    [(":Kappa: :PogChamp:", True), ("🔥🔥 ❤️", True), ("👍🏽", True), ("nice :Kappa:", False), ("   ", False)],
)
def test_emote_only_accepts_emotes_and_emoji_and_nothing_else(text: str, emotes: bool) -> None:
    assert is_emote_only(text) is emotes


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("go to https://x.io/a", True),
        ("www.example.org", True),
        ("join discord.gg today", True),
        ("see you at 5.30", False),
        ("e.g. this", False),
    ],
)
def test_links_are_recognised(text: str, link: bool) -> None:
    assert has_link(text) is link


def test_banned_terms_match_whole_words_whatever_the_case_or_accents() -> None:
    terms = clean_terms(["Spoiler", "bad word", "  "])
    assert terms == ("bad word", "spoiler")
    assert banned_term_in("BIG SPOILÉR!", terms) == "spoiler"
    assert banned_term_in("a  Bad   Word here", terms) == "bad word"
    assert banned_term_in("spoilers ahead", terms) is None  # whole words only
    with pytest.raises(ValueError, match="at most 200"):
        clean_terms([f"t{i}" for i in range(201)])


def test_automod_scores_abuse_shouting_and_floods() -> None:
    assert automod_score("good game everyone") == 0.0
    assert automod_score("you idiot") == 0.5
    assert automod_score("kys") == 1.0
    assert automod_score("WHY IS NOBODY LISTENING TO ME") == 0.3
    assert automod_score("nooooooooo") == 0.2


def test_content_verdicts_follow_the_room_and_exempt_its_staff() -> None:
    strict = room(emote_only=True, links_blocked=True, automod_level=4)
    assert judge_content("hello", strict, privileged=False).reason is RejectReason.EMOTE_ONLY
    assert judge_content("spoiler :Kappa:", strict, privileged=False).reason is RejectReason.BANNED_TERM
    assert judge_content("hello www.x.com", strict, privileged=True).outcome == "accept"
    links = room(links_blocked=True)
    assert judge_content("www.x.com", links, privileged=False).reason is RejectReason.LINK_BLOCKED
    held = judge_content("you idiot", room(automod_level=3), privileged=False)
    assert (held.outcome, held.score) == ("hold", 0.5)
    assert judge_content("you idiot", room(automod_level=1), privileged=False).outcome == "accept"
    assert judge_content("you idiot", room(automod_level=0), privileged=False).outcome == "accept"


def test_the_creator_moderators_and_admins_are_privileged() -> None:
    r = room()
    assert r.is_privileged("creator")
    assert r.is_privileged("mod")
    assert r.is_privileged("anyone", admin=True)
    assert not r.is_privileged("viewer")


def test_modes_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="slow_mode_s"):
        RoomModes.model_validate({"slow_mode_s": -1})
    with pytest.raises(ValueError, match="automod_level"):
        RoomModes.model_validate({"automod_level": 5})
    with pytest.raises(ValueError, match="Extra inputs"):
        RoomModes.model_validate({"followers_only": True})
