"""The media tier asks serving/ whether a stream key may publish (HTTP; media never imports
serving). Authenticated with ``MEDIA_INGEST_SECRET``."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from media.ingest.gate import Refused


@dataclass(frozen=True, slots=True)
class Authorized:
    stream_id: str
    creator_id: str
    room_id: str


class KeyAuthority:
    def __init__(self, api_url: str, secret: str, timeout_s: float = 5.0) -> None:
        self.client = httpx.AsyncClient(
            base_url=api_url, timeout=timeout_s, headers={"Authorization": f"Bearer {secret}"}
        )

    async def authorize(self, key: str, protocol: str) -> Authorized:
        try:
            response = await self.client.post(
                "/internal/v1/ingest/authorize", json={"key": key, "protocol": protocol}
            )
        except httpx.HTTPError as err:
            raise Refused(
                "auth_unavailable", f"cannot check the key right now ({type(err).__name__})"
            ) from None
        if response.status_code == 200:
            body = response.json()
            return Authorized(body["stream_id"], body["creator_id"], body["room_id"])
        problem = _problem(response)
        detail = str(problem.get("detail", ""))
        reason = problem.get("reason")
        if response.status_code == 403 and reason in {"unknown_key", "revoked_key", "room_closed"}:
            raise Refused(str(reason), detail.removeprefix(f"{reason}: "))
        if response.status_code == 422:  # not even shaped like a key
            raise Refused("unknown_key", detail)
        raise Refused("auth_unavailable", f"key check failed: HTTP {response.status_code} {detail}")

    async def close(self) -> None:
        await self.client.aclose()


def _problem(response: httpx.Response) -> dict[str, object]:
    """The problem+json body (``detail``, and ``reason`` for a refused key), or the raw text."""
    try:
        body = response.json()
    except ValueError:
        return {"detail": response.text[:200]}
    return body if isinstance(body, dict) else {"detail": str(body)[:200]}
