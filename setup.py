"""The C part of huntline: :mod:`huntline.fetch.stix._occurrences` (optional: without a compiler,
huntline flattens in Python, about twice as slowly). Everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "huntline.fetch.stix._occurrences",
            ["flows/huntline/fetch/stix/_occurrences.c", "flows/huntline/fetch/stix/_sha1.c"],
            depends=["flows/huntline/fetch/stix/_sha1.h"],  # MANIFEST.in puts it in the sdist
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
