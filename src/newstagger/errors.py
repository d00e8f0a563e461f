"""Exceptions that carry a message meant for the user (the CLI prints them without a traceback)."""
from __future__ import annotations


class NewstaggerError(Exception):
    """Base class: an expected failure whose message is shown to the user as is."""


class DataError(NewstaggerError):
    """Labelled data or an input file is unusable; the message names the file and line."""


class ModelError(NewstaggerError):
    """A model file is missing, not a model, damaged, or unsafe; nothing of it was run."""


class BatchUsageError(NewstaggerError):
    """A batch run cannot start as asked (the CLI exits with status 2)."""
