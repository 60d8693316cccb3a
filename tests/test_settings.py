"""Settings from the environment: production refuses unsafe secrets, database and job URLs fail clearly."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO

SHOW = (
    "import json, townhall.settings as s; "
    "print(json.dumps({'db': s.DATABASES['default'], 'debug': s.DEBUG, 'key': s.SECRET_KEY, "
    "'hosts': s.ALLOWED_HOSTS, 'huey': s.HUEY['huey_class'], 'secure': s.SESSION_COOKIE_SECURE}, "
    "default=str))"
)
GOOD_KEY = "k" * 20 + "9f3b2c1d8e7a6f5b4c3d2e1f0a9b8c7d"


def load_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Import townhall.settings in a fresh interpreter with only these TOWNHALL_* variables set."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TOWNHALL_", "DJANGO_"))}
    clean |= {"TOWNHALL_DATA_DIR": str(tmp_path / "data")} | env
    return subprocess.run([sys.executable, "-c", SHOW], env=clean, capture_output=True, text=True, cwd=REPO)


def loaded(tmp_path: Path, **env: str) -> dict[str, Any]:
    done = load_settings(tmp_path, **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    "key",
    [None, "", "changeme", "secret", "django-insecure-" + "x" * 40, "short-but-random-9f3b"],
    ids=["missing", "empty", "placeholder", "secret", "django-insecure", "too-short"],
)
def test_production_refuses_a_missing_or_placeholder_secret_key(tmp_path: Path, key: str | None) -> None:
    env = {"TOWNHALL_ENV": "production"}
    if key is not None:
        env["TOWNHALL_SECRET_KEY"] = key
    done = load_settings(tmp_path, **env)
    assert done.returncode != 0
    assert "ConfigError" in done.stderr
    assert (
        "TOWNHALL_SECRET_KEY must be set to a random value of at least 32 characters in production"
        in done.stderr
    )


def test_production_with_a_real_key_starts_locked_down(tmp_path: Path) -> None:
    settings = loaded(tmp_path, TOWNHALL_ENV="production", TOWNHALL_SECRET_KEY=GOOD_KEY)
    assert settings["key"] == GOOD_KEY
    assert settings["debug"] is False and settings["secure"] is True
    assert settings["hosts"] == []
    hosts = loaded(
        tmp_path,
        TOWNHALL_ENV="production",
        TOWNHALL_SECRET_KEY=GOOD_KEY,
        TOWNHALL_ALLOWED_HOSTS="a.example, b.example",
    )
    assert hosts["hosts"] == ["a.example", "b.example"]


def test_development_keeps_one_generated_key_in_the_data_directory(tmp_path: Path) -> None:
    first = loaded(tmp_path)["key"]
    second = loaded(tmp_path)["key"]
    assert first == second and len(first) >= 50
    key_file = tmp_path / "data" / "secret_key"
    assert key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "url",
    [
        "mysql://townhall:hunter2@db.example/townhall",
        "SQLITE:////tmp/db.sqlite3",
        "sqlite:relative.db",
        "nonsense",
    ],
)
def test_an_unknown_database_url_fails_clearly_without_echoing_passwords(tmp_path: Path, url: str) -> None:
    done = load_settings(tmp_path, TOWNHALL_DATABASE_URL=url)
    assert done.returncode != 0
    assert "TOWNHALL_DATABASE_URL must start with sqlite:// or postgresql://" in done.stderr
    assert "hunter2" not in done.stderr


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite://:memory:"])
def test_a_sqlite_url_without_a_file_is_refused(tmp_path: Path, url: str) -> None:
    done = load_settings(tmp_path, TOWNHALL_DATABASE_URL=url)
    assert done.returncode != 0
    assert "names no SQLite file" in done.stderr


def test_sqlite_with_an_absolute_path_is_accepted(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "townhall.sqlite3"
    settings = loaded(tmp_path, TOWNHALL_DATABASE_URL=f"sqlite:///{target}")
    assert str(target).startswith("/")
    assert settings["db"]["ENGINE"] == "django.db.backends.sqlite3"
    assert settings["db"]["NAME"] == str(target)
    assert settings["db"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_the_default_database_is_sqlite_in_the_data_directory(tmp_path: Path) -> None:
    settings = loaded(tmp_path)
    assert settings["db"]["NAME"] == str((tmp_path / "data").resolve() / "townhall.sqlite3")


def test_postgresql_urls_are_accepted(tmp_path: Path) -> None:
    for scheme in ("postgres", "postgresql"):
        db = loaded(tmp_path, TOWNHALL_DATABASE_URL=f"{scheme}://th:pw@db.example:5433/townhall")["db"]
        assert db["ENGINE"] == "django.db.backends.postgresql"
        assert (db["NAME"], db["HOST"], db["PORT"], db["USER"]) == ("townhall", "db.example", 5433, "th")


def test_jobs_url_chooses_the_queue_and_refuses_unknown_ones(tmp_path: Path) -> None:
    assert loaded(tmp_path)["huey"] == "huey.SqliteHuey"
    assert loaded(tmp_path, TOWNHALL_JOBS_URL="redis://127.0.0.1:6379/0")["huey"] == "huey.RedisHuey"
    done = load_settings(tmp_path, TOWNHALL_JOBS_URL="amqp://guest:hunter2@mq.example")
    assert done.returncode != 0
    assert "TOWNHALL_JOBS_URL must be empty, sqlite:///path or redis://" in done.stderr
    assert "hunter2" not in done.stderr


def test_the_command_line_reports_a_bad_setting_without_a_traceback(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TOWNHALL_", "DJANGO_"))}
    clean |= {
        "TOWNHALL_DATA_DIR": str(tmp_path),
        "TOWNHALL_ENV": "production",
        "TOWNHALL_SECRET_KEY": "changeme",
    }
    done = subprocess.run(
        [sys.executable, "-m", "townhall", "workspace", "list"], env=clean, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: TOWNHALL_SECRET_KEY must be set")
    assert "Traceback" not in done.stderr
