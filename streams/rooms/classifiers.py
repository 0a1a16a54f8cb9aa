"""The toxicity classifiers: the model shipped in a PyPI package, and a hosted endpoint
(the port and what each does are described in ``streams.rooms.toxicity``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np

from streams.rooms.toxicity import ClassifierUnavailable, ToxicityModel
from streams.settings import RoomSettings


class ShippedModel:
    """The package's model (a TF-IDF vectorizer and five sigmoid-calibrated linear SVMs), scored
    by its own arithmetic rather than through scikit-learn's ``predict_proba``.

    scikit-learn checks and converts its input on every call, which costs ~7 ms whatever the
    batch size; chat arrives a message or two per batch at everyday rates, so that was most of
    the moderation agent's CPU and ~5 ms of every message's latency. A message alone now costs
    ~30 µs; a batch of ``VECTORIZED_FROM`` or more goes through the vectorizer at once (~11 µs a
    message, its fixed cost spread out) and one matrix product. The score is the same
    (a unit test compares both on a corpus): for a message's term counts ``c`` (the package's own
    analyzer: lower case, its token pattern, English stop words), ``x = c * idf / |c * idf|``,
    each classifier ``k``'s decision ``d_k = x . w_k + b_k``, its calibrated probability
    ``1 / (1 + exp(A_k d_k + B_k))``, and the score their mean."""

    name = "alt-profanity-check"
    VECTORIZED_FROM = 32

    def __init__(self) -> None:
        from profanity_check import profanity_check  # scikit-learn's objects: loaded once, by the worker

        vectorizer, model = profanity_check.vectorizer, profanity_check.model
        classifiers = model.calibrated_classifiers_
        if model.method != "sigmoid" or any(len(c.calibrators) != 1 for c in classifiers):
            raise TypeError(f"{self.name}: expected binary sigmoid-calibrated linear classifiers")
        self._vectorizer = vectorizer
        self._analyze = vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self._weights = np.stack([c.estimator.coef_.ravel() for c in classifiers], axis=1)
        self._intercepts = np.array([float(c.estimator.intercept_[0]) for c in classifiers])
        self._slopes = np.array([float(c.calibrators[0].a_) for c in classifiers])
        self._offsets = np.array([float(c.calibrators[0].b_) for c in classifiers])

    def score(self, text: str) -> float:
        counts: dict[int, int] = {}
        for term in self._analyze(text):
            index = self._vocabulary.get(term)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        decisions = self._intercepts
        if counts:
            indices = np.fromiter(counts, dtype=np.intp, count=len(counts))
            tfidf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts)) * self._idf[indices]
            decisions = decisions + (tfidf @ self._weights[indices]) / np.sqrt(tfidf @ tfidf)
        return float(self._calibrated(decisions))

    def score_all(self, texts: Sequence[str]) -> list[float]:
        """A batch at once: the vectorizer's sparse TF-IDF rows, one product with the weights."""
        decisions = np.asarray(self._vectorizer.transform(texts) @ self._weights) + self._intercepts
        return [float(p) for p in self._calibrated(decisions)]

    def _calibrated(self, decisions: np.ndarray) -> Any:
        """The mean, over the classifiers (the last axis), of their calibrated probabilities."""
        return np.mean(1.0 / (1.0 + np.exp(self._slopes * decisions + self._offsets)), axis=-1)

    async def scores(self, texts: Sequence[str]) -> list[float]:
        if len(texts) >= self.VECTORIZED_FROM:
            return [round(p, 4) for p in self.score_all(list(texts))]
        return [round(self.score(text), 4) for text in texts]


class HostedModel:
    def __init__(
        self,
        url: str,
        api_key: str,
        model: str,
        *,
        timeout_s: float = 2.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = f"hosted:{model}"
        self._url = url
        self._model = model
        self._client = client or httpx.AsyncClient(timeout=timeout_s)
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def scores(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        try:
            answer = await self._client.post(
                self._url, json={"model": self._model, "input": list(texts)}, headers=self._headers
            )
            answer.raise_for_status()
            results: list[dict[str, Any]] = answer.json()["results"]
            scores = [max((float(v) for v in r["category_scores"].values()), default=0.0) for r in results]
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as err:
            raise ClassifierUnavailable(f"{self.name}: {err!r}"[:300]) from err
        if len(scores) != len(texts):
            raise ClassifierUnavailable(f"{self.name}: {len(scores)} scores for {len(texts)} messages")
        return [round(min(max(s, 0.0), 1.0), 4) for s in scores]


def build_model(settings: RoomSettings) -> ToxicityModel | None:
    """The classifier the settings name (None: rules only)."""
    if settings.toxicity_model == "none":
        return None
    if settings.toxicity_model == "hosted":
        return HostedModel(
            settings.toxicity_url,
            settings.toxicity_api_key.get_secret_value(),
            settings.toxicity_model_name,
            timeout_s=settings.toxicity_timeout_s,
        )
    return ShippedModel()
