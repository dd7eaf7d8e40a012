"""The plain work of a hunt run, above the stages: what each step kind does when it runs.

The book (:mod:`huntline.book`) only describes steps; the stages (``fetch``, ``analytics``,
``quality``, ``alert``, ``intel``) know nothing of books' steps. This package joins them: for
each step kind, how it runs, what it reports and how ``huntline compile`` explains it, plus the
alert step and the run's manifest (:mod:`.finish`) and what every step receives and leaves
behind (:mod:`.context`). It imports no Prefect: :mod:`huntline.prefect` wraps it in tasks.
"""
