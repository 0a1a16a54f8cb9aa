from __future__ import annotations

import json
import re
from pathlib import Path

from serving.web.pages import LANGUAGES

WEB = Path(__file__).parents[3] / "serving" / "web"
USES = re.compile(r"""data-i18n(?:-placeholder)?="([\w.]+)"|\b(?:tr|i18n\.t)\("([\w.]+)\"""")


def catalog(language: str) -> dict[str, str]:
    messages: dict[str, str] = json.loads((WEB / "locales" / f"{language}.json").read_text())
    return messages


def test_every_language_has_every_message_with_the_same_placeholders() -> None:
    english = catalog("en")
    for language in LANGUAGES:
        messages = catalog(language)
        assert set(messages) == set(english), language
        for key, text in english.items():
            assert set(re.findall(r"{{(\w+)}}", messages[key])) == set(re.findall(r"{{(\w+)}}", text)), (
                language,
                key,
            )


def test_every_message_a_page_asks_for_is_in_the_catalog() -> None:
    english = catalog("en")
    used = set()
    for page in (WEB / "static").glob("*.*"):
        for match in USES.finditer(page.read_text()):
            used.add(match.group(1) or match.group(2))
    assert used, "the pages use the catalog"
    assert used - set(english) == set()
    assert {"home.signup", "watch.gift", "watch.not_sent"} <= used
