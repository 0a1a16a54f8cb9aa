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
        detail = _detail(response)
        if response.status_code in (401, 500, 502, 503, 504):
            raise Refused("auth_unavailable", f"key check failed: HTTP {response.status_code} {detail}")
        reason, _, text = detail.partition(": ")
        if reason in {"unknown_key", "revoked_key", "room_closed"}:
            raise Refused(reason, text)
        raise Refused("unknown_key", detail)

    async def close(self) -> None:
        await self.client.aclose()


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))
    except ValueError:
        return response.text[:200]
