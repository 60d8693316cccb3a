"""Sources without a network API: a TWCS or JSONL file read in pages, and entries typed in by the team."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

from townhall.connectors.base import Capabilities, Connector, CredentialField, FetchPage, Health
from townhall.connectors.http import ConnectorError
from townhall.core.errors import UnusableInput
from townhall.items import importers

PAGE = 1000


class FileConnector(Connector):
    """Reads the file named in the channel's settings (`path`, `format`: twcs or jsonl) from where it stopped.

    A file that grows (an export appended to) is read on from the last record taken.
    """

    network = "file"
    label = "File (TWCS CSV or JSON Lines)"
    capabilities = Capabilities(read=True)
    credential_fields = (
        CredentialField("path", "File path on the server", help="/srv/exports/mentions.jsonl"),
        CredentialField("format", "Format (twcs or jsonl)"),
    )

    def _source(self) -> tuple[Path, str]:
        options = {**self.config.settings, **self.config.credentials}
        path, fmt = Path(str(options.get("path", ""))), str(options.get("format", "jsonl"))
        if fmt not in importers.FORMATS:
            raise ConnectorError(f"format must be one of {', '.join(importers.FORMATS)}, got {fmt!r}")
        if not path.is_file():
            raise ConnectorError(f"{path} is not a readable file")
        return path, fmt

    def check(self) -> Health:
        path, fmt = self._source()
        return Health(ok=True, message=f"{path} ({fmt}, {path.stat().st_size:,} bytes)")

    def fetch(self, cursor: dict[str, Any]) -> FetchPage:
        path, fmt = self._source()
        taken = int(cursor.get("records", 0))
        try:
            records = importers.parse(path, fmt)
        except UnusableInput as exc:
            raise ConnectorError(exc.message) from exc
        page = list(islice(records, taken, taken + PAGE))
        return FetchPage(items=page, cursor={"records": taken + len(page)}, more=len(page) == PAGE)


class OfflineConnector(Connector):
    """Events, calls and conversations held offline: the team types them in; nothing to fetch."""

    network = "offline"
    label = "Offline / manual entries"
    capabilities = Capabilities(read=False)

    def check(self) -> Health:
        return Health(ok=True, message="entries are added by the team")
