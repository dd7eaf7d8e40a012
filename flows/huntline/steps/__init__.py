"""The plain work of a hunt run, above the stages: what each step kind does when it runs.

The book (:mod:`huntline.book`) only describes steps; the stages (``fetch``, ``analytics``,
``quality``, ``alert``, ``intel``) know nothing of books' steps. This package joins them: for
each step kind, how it runs, what it reports and how ``huntline compile`` explains it, plus the
alert step and the run's manifest (:mod:`.finish`) and what every step receives and leaves
behind (:mod:`.context`). It imports no Prefect: :mod:`huntline.prefect` wraps it in tasks.

Why a package above the stages rather than each kind's execution inside its stage: running a
step joins several stages and the book. A ``get`` fills the book's ``{{ intel.TYPE }}`` patterns
(intel), fetches and spools (fetch) and tags rows with indicators (intel again); an ``apply``
runs a runner (analytics) and writes tables (storage); all of them read the book's step model.
Inside one stage, that code would make the stage import the book's steps and its sibling
stages sideways; here every arrow points down: ``prefect`` → ``steps`` → stages → ``storage``,
and ``book`` is imported by all and imports none of them. The checks of a book that need a
stage (is there a runner for this ``apply:``, a destination for this ``notify:``) live here
too (:mod:`.book_checks`), handed to the book's loader.
"""

from __future__ import annotations

from typing import Any

from huntline.book.steps import KINDS, StepModel, kind_of
from huntline.registry import Registry
from huntline.steps.apply import APPLY_ACTION
from huntline.steps.base import StepAction
from huntline.steps.expect import EXPECT_ACTION
from huntline.steps.filter import FILTER_ACTION
from huntline.steps.get import GET_ACTION

ACTIONS: Registry[StepAction[Any]] = Registry("step action")
for _action in (GET_ACTION, APPLY_ACTION, EXPECT_ACTION, FILTER_ACTION):
    ACTIONS.add(_action.kind.keyword, _action)
"""How each step kind runs, by keyword: one for every kind of :data:`huntline.book.KINDS`."""

if ACTIONS.names() != KINDS.names():
    raise RuntimeError("every step kind of the book needs exactly one action in huntline.steps")


def action_of(step: StepModel) -> StepAction[Any]:
    """How a validated step runs."""
    return ACTIONS[kind_of(step).keyword]


__all__ = ["ACTIONS", "StepAction", "action_of"]
