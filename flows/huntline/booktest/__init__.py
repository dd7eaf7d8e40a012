"""Hunt book tests: sample data in, expected alerts out, through the real compiled flow.

:mod:`~huntline.booktest.spec` is the ``BOOK.tests.yaml`` format, :mod:`~huntline.booktest.sample`
turns sample data into the STIX bundles a case's ``get`` steps read, and
:mod:`~huntline.booktest.cases` runs each case and compares.
"""
