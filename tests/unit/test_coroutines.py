"""run_coroutine: a sync caller inside a running loop (a long-lived worker) still gets its
result, on a loop of its own, with the caller's context variables."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from huntline.coroutines import run_coroutine

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


async def _where() -> tuple[str, str]:
    await asyncio.sleep(0)
    return threading.current_thread().name, WHO.get()


def test_without_a_running_loop_it_runs_in_this_thread() -> None:
    WHO.set("caller")
    thread, who = run_coroutine(_where())
    assert (thread, who) == (threading.current_thread().name, "caller")


def test_inside_a_running_loop_it_runs_beside_it_with_the_callers_context() -> None:
    async def sync_task_called_from_a_loop() -> tuple[str, str]:
        WHO.set("task")
        return run_coroutine(_where())  # asyncio.run here would raise RuntimeError

    thread, who = asyncio.run(sync_task_called_from_a_loop())
    assert thread.startswith("huntline-coroutine") and who == "task"
