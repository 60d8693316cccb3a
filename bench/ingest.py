"""Ingest benchmark: import N items (the real TWCS sample repeated with fresh ids) into a fresh database.

Prints items/s for SQLite and, when TOWNHALL_TEST_DATABASE_URL is set, PostgreSQL, and the peak RSS of the
importing process. Last line: {"sqlite_items_per_s": x, "postgres_items_per_s": x or null, "peak_rss_mb": x}.
Raw ingest only: no enrichment stage is registered here.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "demo" / "twcs_sample.csv"
ID_STRIDE = 10_000_000  # per repetition; the sample's ids are far below this


def build_file(n: int, target: Path) -> None:
    """Repeat the sample with every tweet id shifted, so threads keep their shape and nothing deduplicates."""
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    written = 0
    with target.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        repetition = 0
        while written < n:
            shift = repetition * ID_STRIDE
            for row in rows:
                if written >= n:
                    break
                tweet_id, author, inbound, created, text, responses, parent = row
                responses = ",".join(str(int(r) + shift) for r in responses.split(",") if r.strip())
                parent = str(int(parent) + shift) if parent else ""
                writer.writerow([int(tweet_id) + shift, author, inbound, created, text, responses, parent])
                written += 1
            repetition += 1


def import_here(path: Path) -> dict[str, float]:
    """Migrate the configured database and import the file into it, in this process."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "townhall.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from townhall.items.services import do_import_file
    from townhall.workspaces.services import get_or_create_workspace

    call_command("migrate", verbosity=0)
    workspace, _ = get_or_create_workspace(slug="bench")
    start = time.perf_counter()
    run = do_import_file(workspace=workspace, path=path, fmt="twcs")
    elapsed = time.perf_counter() - start
    return {
        "imported": run.imported,
        "rejected": run.rejected,
        "seconds": elapsed,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_one(database_url: str, path: Path, data_dir: Path) -> dict[str, float]:
    """Import the file in a fresh process against `database_url`; returns its items/s and peak RSS."""
    env = {**os.environ, "TOWNHALL_DATABASE_URL": database_url, "TOWNHALL_DATA_DIR": str(data_dir)}
    env.pop("TOWNHALL_TESTING", None)
    env["TOWNHALL_UNDERSTANDING_PATH"] = "off"  # raw ingest; bench/enrich.py measures understanding
    command = [sys.executable, __file__, "--import-file", str(path)]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"import against {database_url.split('@')[-1]} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {**result, "items_per_s": result["imported"] / result["seconds"]}


def fresh_postgres(url: str) -> tuple[str, str]:
    """Create an empty database beside the one in `url`; returns its URL and name."""
    import psycopg

    name = f"townhall_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}")), name


def drop_postgres(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="items to import (default 200,000)")
    parser.add_argument("--import-file", type=Path, help=argparse.SUPPRESS)  # the measured child process
    args = parser.parse_args()
    if args.import_file:
        print(json.dumps(import_here(args.import_file)))
        return
    with tempfile.TemporaryDirectory(prefix="townhall-bench-") as tmp:
        path = Path(tmp) / "items.csv"
        build_file(args.n, path)
        print(f"built {args.n:,} items from {SAMPLE.name} in {path.stat().st_size / 1e6:.1f} MB", flush=True)
        sqlite_dir = Path(tmp) / "sqlite"
        sqlite_dir.mkdir()
        sqlite = run_one(f"sqlite:///{sqlite_dir / 'bench.sqlite3'}", path, sqlite_dir)
        print(
            f"sqlite:     {sqlite['imported']:,} items in {sqlite['seconds']:.1f} s = "
            f"{sqlite['items_per_s']:,.0f} items/s, peak RSS {sqlite['rss_mb']:.0f} MB",
            flush=True,
        )
        postgres = None
        pg_url = os.environ.get("TOWNHALL_TEST_DATABASE_URL", "")
        if pg_url:
            url, name = fresh_postgres(pg_url)
            try:
                pg_dir = Path(tmp) / "pg"
                pg_dir.mkdir()
                postgres = run_one(url, path, pg_dir)
            finally:
                drop_postgres(pg_url, name)
            print(
                f"postgresql: {postgres['imported']:,} items in {postgres['seconds']:.1f} s = "
                f"{postgres['items_per_s']:,.0f} items/s, peak RSS {postgres['rss_mb']:.0f} MB",
                flush=True,
            )
    peak = max(sqlite["rss_mb"], postgres["rss_mb"] if postgres else 0)
    print(
        json.dumps(
            {
                "sqlite_items_per_s": round(sqlite["items_per_s"]),
                "postgres_items_per_s": round(postgres["items_per_s"]) if postgres else None,
                "peak_rss_mb": round(peak, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
