"""The toxicity classifier behind the moderation agent: the port (its adapters are in
``streams.rooms.classifiers``).

- ``ShippedModel`` (the default): the linear model inside the ``alt-profanity-check`` package
  (scikit-learn's; nothing is downloaded at run time), scored by its own arithmetic: one message
  alone in ~30 µs, a batch of 500 in ~6 ms (through scikit-learn's ``predict_proba``, ~7 ms
  whatever the batch size).
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
