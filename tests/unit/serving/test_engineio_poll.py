"""The gateway's engine.io writer wait (``serving.gateway.engineio_poll``) behaves as the
library's own (each case runs on both): queued packets in order, [] once closed, QueueEmpty
after the ping window or on cancel; and it is only installed over the exact library method it
was written against."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Coroutine
from typing import Any

import engineio
import pytest
from engineio import exceptions
from engineio.async_socket import AsyncSocket

from serving.gateway import engineio_poll

Poll = Callable[[AsyncSocket], Coroutine[Any, Any, list[Any]]]


def library_poll() -> Poll:
    """python-engineio's own ``AsyncSocket.poll``, from a fresh copy of its module (the class
    in ``engineio.async_socket`` may have been patched by a gateway built in this process)."""
    spec = importlib.util.find_spec("engineio.async_socket")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    original: Poll = module.AsyncSocket.poll
    return original


POLLS = pytest.mark.parametrize("poll", [engineio_poll.poll, library_poll()], ids=["ours", "library"])


def socket(ping_interval: float = 25, ping_timeout: float = 20) -> AsyncSocket:
    server = engineio.AsyncServer(async_mode="asgi", ping_interval=ping_interval, ping_timeout=ping_timeout)
    return AsyncSocket(server, "sid1")


@POLLS
async def test_queued_packets_come_in_order_and_a_close_is_kept_for_a_later_wait(poll: Poll) -> None:
    s = socket()
    for item in ("a", "b", None, "late"):
        s.queue.put_nowait(item)
    assert await poll(s) == ["a", "b"]
    assert await poll(s) == ["late"], "the close (None) goes back in the queue, after what is there"
    assert await poll(s) == []


@POLLS
async def test_a_waiting_writer_wakes_with_what_was_put_meanwhile(poll: Poll) -> None:
    s = socket()
    waiting = asyncio.create_task(poll(s))
    await asyncio.sleep(0.01)
    s.queue.put_nowait("x")
    s.queue.put_nowait("y")
    assert await asyncio.wait_for(waiting, 1) in (["x"], ["x", "y"])


@POLLS
async def test_nothing_within_the_ping_window_or_a_cancel_ends_the_writer(poll: Poll) -> None:
    with pytest.raises(exceptions.QueueEmpty):
        await poll(socket(ping_interval=0.02, ping_timeout=0.02))
    waiting = asyncio.create_task(poll(socket()))
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(exceptions.QueueEmpty):
        await waiting


def test_it_is_installed_only_over_the_method_it_replaces(monkeypatch: pytest.MonkeyPatch) -> None:
    async def changed(self: AsyncSocket) -> list[object]:
        return []

    monkeypatch.setattr(AsyncSocket, "poll", changed)
    with pytest.raises(RuntimeError, match=r"AsyncSocket\.poll changed"):
        engineio_poll.install()
    assert AsyncSocket.poll is changed
