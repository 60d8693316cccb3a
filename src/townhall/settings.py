"""The one settings module: every knob is an environment variable prefixed TOWNHALL_."""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

import dj_database_url

from townhall.core.config import ConfigError, data_dir, env_bool, redacted

PACKAGE_DIR = Path(__file__).resolve().parent
ENVIRONMENT = os.environ.get("TOWNHALL_ENV", "development")
PRODUCTION = ENVIRONMENT == "production"
TESTING = env_bool("TOWNHALL_TESTING", default="pytest" in sys.modules)
if TESTING and not os.environ.get("TOWNHALL_DATA_DIR"):
    # Tests never touch a developer's workbench data.
    os.environ["TOWNHALL_DATA_DIR"] = tempfile.mkdtemp(prefix="townhall-test-")
DATA_DIR = data_dir()

_PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "please-change", "insecure"}


def _secret_key() -> str:
    key = os.environ.get("TOWNHALL_SECRET_KEY", "")
    if PRODUCTION:
        if key.lower() in _PLACEHOLDER_SECRETS or len(key) < 32 or key.startswith("django-insecure"):
            raise ConfigError(
                "TOWNHALL_SECRET_KEY must be set to a random value of at least 32 characters in production"
            )
        return key
    if key:
        return key
    # Development: generate once and keep it, so sessions and encrypted credentials survive restarts.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("TOWNHALL_DEBUG", default=False)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("TOWNHALL_ALLOWED_HOSTS", "*" if not PRODUCTION else "").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("TOWNHALL_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "townhall.core.admin_site.TownhallAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "huey.contrib.djhuey",
    "ninja",
    "townhall.core",
    "townhall.workspaces",
    "townhall.connectors",
    "townhall.people",
    "townhall.items",
    "townhall.enrich",
    "townhall.leads",
    "townhall.inbox",
    "townhall.listening",
    "townhall.webhooks",
    "townhall.publishing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "townhall.urls"
WSGI_APPLICATION = "townhall.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "townhall.workspaces.context.workspaces",
            ],
        },
    },
]


def _database(url: str) -> dict[str, Any]:
    if url.startswith(("postgres://", "postgresql://")):
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
        config.setdefault("OPTIONS", {})
        return config
    if url.startswith("sqlite://"):  # "sqlite:name" would be misread (as "ame")
        if url.rstrip("/") in ("sqlite:", "sqlite:/", "sqlite://") or url == "sqlite://:memory:":
            raise ConfigError(
                "TOWNHALL_DATABASE_URL names no SQLite file (an in-memory database loses everything); "
                "use sqlite:////absolute/path/townhall.sqlite3"
            )
        # Kept open between requests, so SQLite's page cache (64 MB below) survives from one to the next.
        config = dict(dj_database_url.parse(url, conn_max_age=60))
    else:
        raise ConfigError(
            f"TOWNHALL_DATABASE_URL must start with sqlite:// or postgresql://, got {redacted(url)!r}"
        )
    config["OPTIONS"] = {
        # Web and worker processes share the file: WAL lets readers run beside the writer, and
        # IMMEDIATE transactions take the write lock up front instead of failing half-way.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA busy_timeout=20000; PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY;"
        ),
    }
    return config


DATABASE_URL = os.environ.get("TOWNHALL_DATABASE_URL") or f"sqlite:///{DATA_DIR / 'townhall.sqlite3'}"
DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Test users are created by the hundred; argon2's deliberate slowness buys nothing there.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"  # `townhall manage collectstatic` target; pages are served from the package
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "uploads"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION

JOBS_URL = os.environ.get("TOWNHALL_JOBS_URL", "")
if JOBS_URL.startswith("redis://"):
    HUEY: dict[str, Any] = {
        "huey_class": "huey.RedisHuey",
        "name": os.environ.get("TOWNHALL_JOBS_NAME", "townhall"),
        "url": JOBS_URL,
        "immediate": False,
    }
elif JOBS_URL in ("", "sqlite") or JOBS_URL.startswith("sqlite:"):
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "townhall",
        "filename": JOBS_URL.removeprefix("sqlite:///")
        if JOBS_URL.startswith("sqlite:")
        else str(DATA_DIR / "jobs.sqlite3"),
        "immediate": TESTING or env_bool("TOWNHALL_JOBS_IMMEDIATE", default=False),
    }
else:
    raise ConfigError(
        f"TOWNHALL_JOBS_URL must be empty, sqlite:///path or redis://..., got {redacted(JOBS_URL)!r}"
    )
HUEY["consumer"] = {
    "workers": int(os.environ.get("TOWNHALL_JOBS_WORKERS", "2")),
    "worker_type": "thread",
    # An idle consumer polls at most every second, so an import started from a page begins promptly.
    "max_delay": 1.0,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TOWNHALL_LOG_LEVEL", "INFO")},
    "loggers": {"huey": {"level": "WARNING"}},
}

NINJA_PAGINATION_PER_PAGE = 50

# Which models read new items: "channel" lets each channel's setting decide (accurate for our own
# accounts, fast for listening sources), "fast" or "accurate" force one path, "off" skips understanding.
# Tests switch it on where they are about understanding, so the rest of the suite does not depend on models.
UNDERSTANDING_PATH = os.environ.get("TOWNHALL_UNDERSTANDING_PATH", "off" if TESTING else "channel")
if UNDERSTANDING_PATH not in ("channel", "fast", "accurate", "off"):
    raise ConfigError(
        f"TOWNHALL_UNDERSTANDING_PATH must be channel, fast, accurate or off, got {UNDERSTANDING_PATH!r}"
    )
