"""The exceptions errorscope raises for bad input."""

from __future__ import annotations


class ErrorscopeError(ValueError):
    """Bad input: the message says what is wrong, where, and what to do."""


class InputError(ErrorscopeError):
    """A predictions file that cannot be read or does not follow the input format."""


class TagError(ErrorscopeError):
    """A tag edit, category change or sheet that the tag store refuses."""
