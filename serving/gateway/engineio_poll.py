"""engine.io's per-socket writer, without a Task per packet.

Every connected socket has a writer task that waits on its queue in ``AsyncSocket.poll``,
through ``asyncio.wait_for``. On Python 3.11 ``wait_for`` wraps each wait in a new Task and a
timer: a room broadcast to N local sockets wakes N writers, and each goes back to waiting
through a fresh Task. In a profile of a gateway with 2,500 sockets (bench-fanout-crowd) the
writers were over half of its CPU, a third in ``poll`` itself.

:func:`poll` is the same method with ``asyncio.timeout`` (a deadline on the current task, no
new one) and no wait at all when packets are already queued. Same results: the packets queued,
in order; ``[]`` once the socket is closed (a ``None`` in the queue, left there for the next
call); ``QueueEmpty`` when nothing came for a ping interval and timeout, or when cancelled.
:func:`install` checks that the library's method is still the one this replaces (its source's
digest), so an upgrade of python-engineio fails loudly instead of running a stale copy.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from typing import Any

from engineio import exceptions
from engineio.async_socket import AsyncSocket

# sha256 of ``inspect.getsource(AsyncSocket.poll)`` in python-engineio 4.15.1 (the locked one).
REPLACED = "826f58a9f3606db208e5d1266f075ad655b6eeda47b0a5616748624899ca5954"


def _digest(function: Any) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()


async def poll(self: AsyncSocket) -> list[Any]:
    """Wait for packets to send to the client (``AsyncSocket.poll``)."""
    queue: asyncio.Queue[Any] = self.queue
    if queue.empty():
        try:
            async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
                first = await queue.get()
        except (TimeoutError, asyncio.CancelledError):
            raise exceptions.QueueEmpty() from None
    else:
        first = queue.get_nowait()
    queue.task_done()
    if first is None:
        return []
    packets = [first]
    while not queue.empty():
        pkt = queue.get_nowait()
        queue.task_done()
        if pkt is None:
            queue.put_nowait(None)
            break
        packets.append(pkt)
    return packets


def install() -> None:
    """Use :func:`poll` for every engine.io socket of this process."""
    if AsyncSocket.poll is poll:
        return
    found = _digest(AsyncSocket.poll)
    if found != REPLACED:
        raise RuntimeError(
            f"python-engineio's AsyncSocket.poll changed (sha256 {found}); review "
            "serving/gateway/engineio_poll.py against it before upgrading"
        )
    AsyncSocket.poll = poll
