"""Encryption at rest for secrets such as channel credentials (Fernet keyed from SECRET_KEY)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models


def _fernet() -> Fernet:
    # A derived key, so rotating the Django secret is the one switch and the raw secret never reaches Fernet.
    digest = hashlib.sha256(b"townhall-credentials:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(data: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def decrypt(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        value = json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise ValueError("stored credentials cannot be decrypted with the current secret key") from exc
    return value if isinstance(value, dict) else {}


class EncryptedJSONField(models.TextField):
    """A dict stored as a Fernet token; readers get the dict back, the database only ever sees ciphertext."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> dict[str, Any]:
        return decrypt(value) if value else {}

    def to_python(self, value: Any) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        return decrypt(value) if value else {}

    def get_prep_value(self, value: Any) -> str:
        return encrypt(value or {})
