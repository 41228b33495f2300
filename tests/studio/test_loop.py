"""The window's event loop (atelier/studio/loop.py) steps every task with itself running."""

from __future__ import annotations

import asyncio
from typing import Any

import qasync

from atelier.studio.loop import WindowLoop


def _stepped_by_the_last_flush(loop: Any) -> list[str]:
    """A task whose first step comes in the flush that ends ``run_until_complete`` (started
    by the done callback of the future it waits for), as the channel marks' refresh was when
    the run's last image arrived with its end."""
    seen: list[str] = []

    async def late() -> None:
        try:
            seen.append(await asyncio.to_thread(lambda: "stepped"))
        except RuntimeError as e:
            seen.append(repr(e))

    async def first() -> int:
        return 1

    task = loop.create_task(first())
    task.add_done_callback(lambda _: loop.create_task(late()))
    assert loop.run_until_complete(task) == 1
    loop.run_until_complete(asyncio.sleep(0.2))  # the thread's answer, in the next run
    return seen


def _with(cls: type[Any], qapp: Any) -> list[str]:
    loop = cls(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    try:
        return _stepped_by_the_last_flush(loop)
    finally:
        loop.close()
        asyncio.set_event_loop(None)


def test_a_task_stepped_by_the_last_flush_sees_the_loop_running(qapp: Any) -> None:
    assert _with(WindowLoop, qapp) == ["stepped"]
    assert asyncio.events._get_running_loop() is None  # unset again once it returned


def test_qasyncs_own_loop_still_needs_it(qapp: Any) -> None:
    """qasync's loop as it is (0.28): the same task dies. When this fails, qasync has mended
    its flush and ``WindowLoop`` can go."""
    assert _with(qasync.QEventLoop, qapp) == ["RuntimeError('no running event loop')"]


def test_a_refused_nested_run_leaves_the_loop_running(qapp: Any) -> None:
    """``run_until_complete`` called while the loop runs is refused (as asyncio's is), and
    leaves this loop the running one: it set none, cutting the outer run's later steps off."""
    loop = WindowLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    seen: list[object] = []

    async def outer() -> bool:
        never = loop.create_future()
        try:
            loop.run_until_complete(never)
        except RuntimeError as e:
            seen.append(str(e))
        never.cancel()
        seen.append(asyncio.get_running_loop() is loop)
        return await asyncio.to_thread(lambda: True)  # a later step still finds the loop

    try:
        assert loop.run_until_complete(outer())
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    assert seen == ["Event loop already running", True]
