"""The toxicity classifiers: the model shipped in a PyPI package, and a hosted endpoint
(the port and what each does are described in ``streams.rooms.toxicity``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from streams.rooms.toxicity import ClassifierUnavailable, ToxicityModel
from streams.settings import RoomSettings


class ShippedModel:
    name = "alt-profanity-check"

    def __init__(self) -> None:
        from profanity_check import predict_prob  # scikit-learn: loaded once, by the worker

        self._predict = predict_prob

    async def scores(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        return [round(float(p), 4) for p in self._predict(list(texts))]


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
