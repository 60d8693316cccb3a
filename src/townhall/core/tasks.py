"""Loads the periodic job registry when the job consumer autodiscovers tasks."""

from townhall import jobs  # noqa: F401
