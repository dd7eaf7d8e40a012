"""The Prefect layer: every import of Prefect in huntline lives in this package.

The hunt logic below it (the book, the stages, the plain step functions of
:mod:`huntline.steps`) runs and is tested without Prefect; this package wraps it in flows and
tasks, deploys it, and provides the Prefect services the stages ask for through small Protocols
(secret blocks, concurrency limits, the run logger). A Prefect upgrade touches only this package.

The arrows run one way: ``cli`` → ``prefect`` → ``steps`` → the stages → ``storage``.
"""

from huntline.prefect.services import install

install()
