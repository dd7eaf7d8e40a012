"""The C part of huntline: :mod:`huntline.fetch.stix._occurrences` (optional: without a
compiler or OpenSSL's headers, huntline flattens in Python, about twice as slowly, and says so).
Everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "huntline.fetch.stix._occurrences",
            ["flows/huntline/fetch/stix/_occurrences.c"],
            libraries=["crypto"],  # SHA-1 for the uuid5 ids: OpenSSL's, as hashlib's
            extra_compile_args=[
                "-O2",
                "-Wall",
                "-Wextra",
                "-Wno-missing-field-initializers",
                "-Wno-unused-parameter",
            ],
            optional=True,
        )
    ]
)
