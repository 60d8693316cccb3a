"""Service helpers every domain shares."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import models

from townhall.core.errors import Invalid

M = TypeVar("M", bound=models.Model)


def check_choice(value: Any, *, field: str, choices: Iterable[str]) -> None:
    """Invalid unless `value` is one of `choices`; the message lists them."""
    allowed = list(choices)
    if value not in allowed:
        raise Invalid(f"{field} must be one of {', '.join(allowed)}", field=field)


def apply_changes(obj: M, changes: dict[str, Any], *, editable: Iterable[str]) -> M:
    """Set and save the given fields, refusing any that are not editable."""
    allowed = tuple(editable)
    unknown = set(changes) - set(allowed)
    if unknown:
        raise Invalid(f"cannot change {', '.join(sorted(unknown))}; editable: {', '.join(allowed)}")
    for name, value in changes.items():
        setattr(obj, name, value)
    obj.save(update_fields=list(changes))
    return obj
