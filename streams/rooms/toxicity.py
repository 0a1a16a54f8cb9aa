"""The toxicity classifier behind the moderation agent: the port (its adapters are in
``streams.rooms.classifiers``).

- ``ShippedModel`` (the default): the linear model inside the ``alt-profanity-check`` package
  (scikit-learn; nothing is downloaded at run time). A batch of 500 messages is scored in ~7 ms
  (~13 µs a message; one message alone costs ~3 ms, so the agent scores whole batches).
- ``HostedModel``: an OpenAI-compatible moderation endpoint (``POST {"model", "input": [...]}``
  answering ``results[i].category_scores``), the highest category score being the message's.
  Chosen by ``ROOMS_TOXICITY_MODEL=hosted`` with ``ROOMS_TOXICITY_URL`` and
  ``ROOMS_TOXICITY_API_KEY``.

A classifier that fails raises ``ClassifierUnavailable``: the moderator then decides that batch
by the rules alone (chat keeps flowing), and says so in its log and in the
``toxicity_classifier_failures`` metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from streams.exceptions import PlatformError


class ClassifierUnavailable(PlatformError):
    """The classifier could not score a batch (the hosted endpoint down, slow or refusing)."""


class ToxicityModel(Protocol):
    name: str

    async def scores(self, texts: Sequence[str]) -> list[float]:
        """One score in 0..1 per text, in order: how likely it is abusive."""
        ...
