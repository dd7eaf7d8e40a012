"""pySigma plugin entry: ``InstalledSigmaPlugins.autodiscover()`` finds huntline's pipeline here.

pySigma discovers pipelines as modules of the ``sigma.pipelines`` namespace package; the
pipeline itself lives in :mod:`huntline.sigma.pipeline`.
"""

from huntline.sigma.pipeline import huntline_pipeline

pipelines = {"huntline": huntline_pipeline}
