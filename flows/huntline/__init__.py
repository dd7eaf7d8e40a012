"""huntline: hunting-as-code. Declarative YAML hunt books compiled into Prefect flows.

The package is laid out by stage, and data moves one way:
``book`` → ``compile`` → ``fetch`` → ``analytics`` → ``quality`` → ``alert``,
with ``storage`` underneath every stage.
"""

__version__ = "0.1.0"
