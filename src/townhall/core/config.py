"""Reading TOWNHALL_* environment variables before Django is configured."""

from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def redacted(url: str) -> str:
    """A URL fit for an error message: any user and password in it are replaced by '***'."""
    return re.sub(r"(?<=://)[^/@]*@", "***@", url)


def env_bool(name: str, *, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def data_dir() -> Path:
    """Where the SQLite file, the job store and uploads live (created on first use)."""
    configured = os.environ.get("TOWNHALL_DATA_DIR")
    if configured:
        path = Path(configured).expanduser()
    else:
        checkout = Path(__file__).resolve().parents[3]
        if (checkout / "pyproject.toml").exists() and os.access(checkout, os.W_OK):
            path = checkout / "var"
        else:
            path = Path(platformdirs.user_data_dir("townhall"))
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()
