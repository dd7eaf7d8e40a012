"""Where the intel feeds are defined by default, in a module of its own: ``huntline intel
--help`` shows it without importing the feed models (and through them the book model)."""

DEFAULT_FEEDS_FILE = "hunts/intel.yaml"
