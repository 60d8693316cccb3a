"""Domain errors a user can act on; the API maps each to an HTTP status and a clear message."""

from __future__ import annotations


class TownhallError(Exception):
    """Base of every error whose message is meant for the user."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(TownhallError):
    status = 404


class Forbidden(TownhallError):
    status = 403


class Conflict(TownhallError):
    status = 409


class Invalid(TownhallError):
    status = 422


class UnusableInput(TownhallError):
    """A whole input (a file, a payload) cannot be read at all, as opposed to one bad row in it."""

    status = 422
