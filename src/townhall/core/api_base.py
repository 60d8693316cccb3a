"""What every API router shares: authentication (token or session) and the error shape."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Schema
from ninja.security import HttpBearer, SessionAuth
from pydantic import field_validator

from townhall.core.validation import unstorable
from townhall.workspaces.services import authenticate_token

# The largest id a database column holds; query parameters naming ids are bounded by it.
MAX_ID = 2**63 - 1


class InputSchema(Schema):
    """Base of request bodies: text that no database can store is a 422 naming its field, not a 500."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        problem = unstorable(value)
        if problem:
            raise ValueError(problem)
        return value


class TokenAuth(HttpBearer):
    """`Authorization: Bearer th_...` with a token from `townhall token create`."""

    openapi_description = "An API token created with `townhall token create` (sent as a Bearer token)."

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = authenticate_token(token)
        if user is not None:
            request.user = user
        return user


AUTH = [TokenAuth(), SessionAuth()]


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class Error(Schema):
    """Every error the API returns: what went wrong, and which input (when one is to blame)."""

    detail: str
    field: str | None = None


ERRORS: dict[int, type[Error]] = {400: Error, 403: Error, 404: Error, 409: Error, 422: Error}
"""The error responses every workspace endpoint documents beside its success response."""
