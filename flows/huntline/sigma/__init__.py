"""Sigma rules as hunts: a pySigma 2 backend and processing pipeline, and the rule converter.

- :mod:`~huntline.sigma.fields`: per log source, the entity and Sigma field -> column mapping;
- :mod:`~huntline.sigma.pipeline`: that mapping as a pySigma processing pipeline;
- :mod:`~huntline.sigma.values` and :mod:`~huntline.sigma.backend`: each rule -> a STIX pattern
  to push down (a sound superset) and an exact local condition;
- :mod:`~huntline.sigma.convert`: rule files -> results, one bad rule never stopping the rest.

The backend and pipeline are pySigma plugins (``flows/sigma/backends/huntline`` and
``flows/sigma/pipelines/huntline``), so ``InstalledSigmaPlugins.autodiscover()`` lists them.
"""
