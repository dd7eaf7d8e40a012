"""One idiom for every plug-in point: a named registry, typed by what it holds.

Step kinds, analytics runners, data source kinds, alert sinks, quality checks and intel feeds
each keep one :class:`Registry`. The rules are the same everywhere:

- a name is taken once: registering it again (a built-in, or two plug-ins) is an error, never
  a silent overwrite;
- an unknown name is an error that says "did you mean" and lists every valid name;
- third parties add plug-ins through Python entry points, one group per registry
  (``huntline.runners``, ``huntline.sources``, ...). An entry point's object is what the
  registry holds (a runner, a source kind, a check model, ...). Entry points are looked at only
  when a name is not among the built-ins, or when every name is listed, and each is imported
  only when its name is asked for, so huntline's start-up never pays for them.

A plug-in package declares, for example, in its ``pyproject.toml``::

    [project.entry-points."huntline.runners"]
    wasm = "huntline_wasm:RUNNER"
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Generic, TypeVar

from huntline.errors import PluginError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

T = TypeVar("T")


class Registry(Generic[T]):
    """Named plug-ins of one kind.

    Args:
        what: What one plug-in is, in messages ("analytics runner").
        group: The entry-point group third parties register in; None for none.
        accepts: Whether an object loaded from an entry point is a ``T`` (a Protocol cannot be
            checked with ``isinstance`` in general); by default anything is taken.
        display: How a name is written in messages (``python`` -> ``python://``).
    """

    def __init__(
        self,
        what: str,
        group: str | None = None,
        *,
        accepts: Callable[[object], bool] = lambda item: True,
        display: Callable[[str], str] = str,
    ) -> None:
        self.what = what
        self.group = group
        self._accepts = accepts
        self._display = display
        self._items: dict[str, T] = {}
        self._lazy: dict[str, str] = {}  # built-ins named by "module:attribute", not imported yet
        self._order: list[str] = []  # built-in names, in registration order
        self._entry_points: dict[str, EntryPoint] | None = None

    def add(self, name: str, item: T) -> T:
        """Register ``item`` under ``name`` and return it.

        Raises:
            PluginError: ``name`` is already taken.
        """
        self._claim(name)
        self._items[name] = item
        return item

    def add_lazy(self, name: str, target: str) -> None:
        """Register the object at ``target`` (``module:attribute``, as an entry point names it)
        under ``name``, importing it only when ``name`` is asked for: a module that declares the
        registry need not import every plug-in, nor they it."""
        self._claim(name)
        self._lazy[name] = target

    def _claim(self, name: str) -> None:
        if name in self._order or name in (self._entry_points or {}):
            raise PluginError(
                f"{self.what} {name!r} is registered twice",
                hint="give the new one another name",
                name=name,
            )
        self._order.append(name)

    def get(self, name: str) -> T:
        """The plug-in registered as ``name``, loading it from its entry point if need be.

        Raises:
            PluginError: no plug-in has that name (the message lists the valid ones), or its
                entry point fails to load.
        """
        item = self.find(name)
        if item is None:
            raise PluginError(self.unknown(name), name=name)
        return item

    def find(self, name: str) -> T | None:
        """The plug-in registered as ``name``, or None."""
        if name in self._items:
            return self._items[name]
        if name in self._lazy:
            from importlib.metadata import EntryPoint

            return self._load(EntryPoint(name, self._lazy[name], self.group or "huntline"))
        point = self._discovered().get(name)
        return None if point is None else self._load(point)

    def unknown(self, name: str) -> str:
        """What to say of a name no plug-in has: ``unknown X 'nme' (did you mean 'name'?);
        known: a, b``."""
        names = self.names()
        guesses = difflib.get_close_matches(name, names, n=1)
        guess = f" (did you mean {self._display(guesses[0])!r}?)" if guesses else ""
        known = ", ".join(map(self._display, names))
        return f"unknown {self.what} {self._display(name)!r}{guess}; known: {known}"

    def names(self) -> tuple[str, ...]:
        """Every name: the built-ins in registration order, then the plug-ins' (not loaded)."""
        return (*self._order, *(name for name in self._discovered() if name not in self._order))

    def items(self) -> Iterator[tuple[str, T]]:
        """Every ``(name, plug-in)``, loading the plug-ins not loaded yet."""
        for name in self.names():
            yield name, self.get(name)

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._order or name in self._discovered())

    def _discovered(self) -> dict[str, EntryPoint]:
        """The group's entry points by name, read once per process."""
        if self._entry_points is None:
            self._entry_points = {}
            if self.group is not None:
                from importlib.metadata import entry_points

                for point in entry_points(group=self.group):
                    if point.name in self._order or point.name in self._entry_points:
                        raise PluginError(
                            f"{self.what} {point.name!r} is registered twice (entry point "
                            f"{point.value!r} in group {self.group!r})",
                            hint="uninstall one of the plug-ins, or rename its entry point",
                            name=point.name,
                        )
                    self._entry_points[point.name] = point
        return self._entry_points

    def _load(self, point: EntryPoint) -> T:
        try:
            item: T = point.load()
        except Exception as error:  # any import error of third-party code
            raise PluginError(
                f"{self.what} {point.name!r} cannot be loaded from {point.value!r}: "
                f"{type(error).__name__}: {error}",
                hint=f"check the package that declares it in the entry-point group {self.group}",
                name=point.name,
            ) from error
        if not self._accepts(item):
            raise PluginError(
                f"{self.what} {point.name!r} from {point.value!r} is not a {self.what}: {item!r}",
                name=point.name,
            )
        self._items[point.name] = item
        return item
