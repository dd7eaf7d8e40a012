"""pySigma plugin entry: ``InstalledSigmaPlugins.autodiscover()`` finds huntline's backend here.

pySigma discovers backends as modules of the ``sigma.backends`` namespace package; the backend
itself lives in :mod:`huntline.sigma.backend`.
"""

from huntline.sigma.backend import HuntlineBackend

backends = {"huntline": HuntlineBackend}
