"""The collector pause around parsing and flattening (``fetch/heap.py``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from huntline.fetch.heap import collector_paused


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.enable()
    yield
    if not enabled:
        gc.disable()


def _in_generation(obj: object, generation: int) -> bool:
    return any(o is obj for o in gc.get_objects(generation=generation))


def test_the_collector_is_off_inside_and_back_on_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()  # left as it was


def test_what_is_kept_goes_to_the_oldest_generation_unwalked() -> None:
    with collector_paused(keep=True):
        kept = [{"n": [i]} for i in range(1000)]
    assert _in_generation(kept, 2)
    assert gc.get_count()[0] < 700  # no young collection is due to walk it
    with collector_paused():
        young = [{"n": [1]}]
    assert _in_generation(young, 0)


def test_objects_the_process_froze_stay_frozen() -> None:
    """Frozen objects are in no generation (``gc.get_objects`` lists generations 0-2 only).
    The freeze count itself is no measure: a frozen object that dies leaves it."""
    sentinel = [[0]]
    gc.freeze()
    try:
        with collector_paused(keep=True):
            built = [[1]]
        assert not any(o is sentinel for o in gc.get_objects())  # not thawed
        assert _in_generation(built, 0)
    finally:
        gc.unfreeze()
    assert _in_generation(sentinel, 2)  # the check above can see a thawed object


def test_a_worker_thread_leaves_the_collector_alone() -> None:
    """The collector is the whole process's: a Prefect task's thread must not turn it off
    under the other flows of a long-lived worker."""
    import threading

    seen: list[bool] = []

    def task() -> None:
        with collector_paused(keep=True):
            seen.append(gc.isenabled())

    worker = threading.Thread(target=task)
    worker.start()
    worker.join()
    assert seen == [True] and gc.isenabled()
