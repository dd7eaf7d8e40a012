"""Where pages of STIX come from: the :class:`~huntline.fetch.base.DataSource` contract's
implementations (a local bundle, stix-shifter connectors and the bundles it serves over HTTP),
how a ``get``'s source string picks one, profiles and their secrets, retries, diagnostics, and
several sources queried at once. Everything here yields pages of observed-data; nothing builds
tables.
"""
