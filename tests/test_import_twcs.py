"""Importing the Customer-Support-on-Twitter CSV: counts, idempotency, threads, brands and bad rows."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from conftest import DEMO_CSV, REPO
from townhall.cli import main
from townhall.connectors.models import Channel
from townhall.items import importers
from townhall.items.models import Item
from townhall.people.models import Activity, Identity, Person
from townhall.pipeline import IncomingItem, ingest
from townhall.workspaces.models import AuditLog, Workspace

HEADER = importers.TWCS_COLUMNS


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def summary(result: Result) -> dict[str, int]:
    """The import summary: the last line of standard output, one JSON object."""
    return json.loads(result.stdout.strip().splitlines()[-1])


def read_file(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


DEMO_ROWS = read_file(DEMO_CSV)
DEMO_IDS = {row["tweet_id"] for row in DEMO_ROWS}


def counts(workspace: Workspace) -> dict[str, int]:
    return {
        "items": Item.objects.filter(workspace=workspace).count(),
        "people": Person.objects.filter(workspace=workspace).count(),
        "identities": Identity.objects.filter(workspace=workspace).count(),
        "channels": Channel.objects.filter(workspace=workspace).count(),
        "activities": Activity.objects.filter(workspace=workspace).count(),
    }


def file_components(rows: list[dict[str, str]]) -> set[frozenset[str]]:
    """Threads as the file defines them: connected components of the reply edges within the file."""
    ids = {row["tweet_id"] for row in rows}
    leader = {i: i for i in ids}

    def find(x: str) -> str:
        while leader[x] != x:
            leader[x] = leader[leader[x]]
            x = leader[x]
        return x

    for row in rows:
        parent = row["in_response_to_tweet_id"]
        if parent in ids:
            leader[find(row["tweet_id"])] = find(parent)
    groups: dict[str, set[str]] = defaultdict(set)
    for i in ids:
        groups[find(i)].add(i)
    return {frozenset(g) for g in groups.values()}


def assert_threads_match_file(workspace: Workspace, rows: list[dict[str, str]]) -> None:
    stored = {
        native: (parent, root)
        for native, parent, root in Item.objects.filter(workspace=workspace).values_list(
            "native_id", "parent__native_id", "thread_root__native_id"
        )
    }
    ids = {row["tweet_id"] for row in rows}
    assert set(stored) == ids
    for row in rows:
        parent = row["in_response_to_tweet_id"]
        expected_parent = parent if parent in ids else None
        assert stored[row["tweet_id"]][0] == expected_parent, f"tweet {row['tweet_id']} has the wrong parent"
    threads: dict[str, set[str]] = defaultdict(set)
    for native, (_, root) in stored.items():
        assert root is not None, f"tweet {native} has no thread root"
        threads[root].add(native)
    assert {frozenset(t) for t in threads.values()} == file_components(rows)
    for root, members in threads.items():
        assert root in members
        assert stored[root][0] is None, f"thread root {root} has a parent"


def assert_people_seen_when_the_file_says(workspace: Workspace, rows: list[dict[str, str]]) -> None:
    """Each customer's first and last seen are their earliest and latest tweet in the file."""
    spans: dict[str, list[datetime]] = {}
    for row in rows:
        if row["inbound"] == "True":
            when = datetime.strptime(row["created_at"], "%a %b %d %H:%M:%S %z %Y")
            first, last = spans.setdefault(row["author_id"], [when, when])
            spans[row["author_id"]] = [min(first, when), max(last, when)]
    stored = {
        native: [first, last]
        for native, first, last in Identity.objects.filter(workspace=workspace).values_list(
            "native_id", "person__first_seen_at", "person__last_seen_at"
        )
    }
    assert stored == spans


@pytest.fixture
def demo_import(db: None) -> tuple[Workspace, Result]:
    result = run_cli("import", "twcs", str(DEMO_CSV), "--workspace", "demo")
    assert result.exit_code == 0, result.output
    return Workspace.objects.get(slug="demo"), result


def test_demo_import_reports_summary_as_last_line(demo_import: tuple[Workspace, Result]) -> None:
    workspace, result = demo_import
    assert summary(result) == {"imported": 3939, "duplicates": 0, "rejected": 0}
    assert "rejected line" not in result.stdout
    assert counts(workspace)["items"] == 3939
    audit = AuditLog.objects.get(workspace=workspace, action="import.file")
    assert audit.source == "cli"
    assert audit.detail | {"file": ""} == {"format": "twcs", "file": "", "imported": 3939, "rejected": 0}


def test_importing_twice_changes_nothing(demo_import: tuple[Workspace, Result]) -> None:
    workspace, _ = demo_import
    before = counts(workspace)
    again = run_cli("import", "twcs", str(DEMO_CSV), "--workspace", "demo")
    assert again.exit_code == 0, again.output
    assert summary(again) == {"imported": 0, "duplicates": 3939, "rejected": 0}
    assert counts(workspace) == before
    assert before == {
        "items": 3939,
        "people": 1155,
        "identities": 1155,
        "channels": 71,
        "activities": sum(row["inbound"] == "True" for row in DEMO_ROWS),
    }


def test_replies_link_to_parents_and_threads_are_the_files_components(
    demo_import: tuple[Workspace, Result],
) -> None:
    workspace, _ = demo_import
    assert_threads_match_file(workspace, DEMO_ROWS)
    roots = Item.objects.filter(workspace=workspace).values("thread_root").distinct().count()
    assert roots == 1049


def test_brand_accounts_are_channels_and_customers_are_people(demo_import: tuple[Workspace, Result]) -> None:
    workspace, _ = demo_import
    assert_people_seen_when_the_file_says(workspace, DEMO_ROWS)
    brands = {row["author_id"] for row in DEMO_ROWS if row["inbound"] == "False"}
    customers = {row["author_id"] for row in DEMO_ROWS if row["inbound"] == "True"}
    assert len(brands) == 71
    channels = Channel.objects.filter(workspace=workspace)
    assert {c.handle for c in channels} == brands
    assert all(c.is_ours and c.network == "twitter" for c in channels)

    identities = Identity.objects.filter(workspace=workspace)
    assert {i.native_id for i in identities} == customers
    assert not brands & {i.handle for i in identities}
    per_person = Person.objects.filter(workspace=workspace).values_list("identities__native_id", flat=True)
    assert sorted(per_person) == sorted(customers), "every customer is one person with exactly one identity"

    outbound = Item.objects.filter(workspace=workspace, direction="outbound")
    assert outbound.count() == sum(row["inbound"] == "False" for row in DEMO_ROWS)
    assert not outbound.filter(author__isnull=False).exists()
    assert not outbound.filter(channel__isnull=True).exists()
    by_tweet = {row["tweet_id"]: row["author_id"] for row in DEMO_ROWS}
    for native, handle in outbound.values_list("native_id", "channel__handle"):
        assert handle == by_tweet[native]


@pytest.mark.parametrize(("order", "batch_size"), [("reversed", 64), ("shuffled", 100), ("shuffled", 333)])
def test_children_before_parents_across_batches_still_thread(
    workspace: Workspace, order: str, batch_size: int
) -> None:
    records = list(importers.parse(DEMO_CSV, "twcs"))
    assert all(isinstance(r, IncomingItem) for r in records)
    if order == "reversed":
        records.reverse()
    else:
        random.Random(batch_size).shuffle(records)
    stats = ingest(workspace.pk, records, batch_size=batch_size)
    assert stats.summary() == {"imported": 3939, "duplicates": 0, "rejected": 0}
    assert_threads_match_file(workspace, DEMO_ROWS)
    assert_people_seen_when_the_file_says(workspace, DEMO_ROWS)


def test_a_late_grandparent_regroups_a_thread_whose_middle_arrived_first(workspace: Workspace) -> None:
    """1 <- 2 <- 3 <- 4. Batch 1: 2 and 4 (both waiting for parents); batch 2: 3 and 1 together."""

    def tweet(native: str, parent: str = "") -> IncomingItem:
        return IncomingItem(
            network="twitter",
            native_id=native,
            created_at=datetime(2017, 10, 31, 12, int(native), tzinfo=UTC),
            text=f"tweet {native}",
            kind="reply" if parent else "post",
            parent_native_id=parent,
        )

    ingest(workspace.pk, [tweet("2", "1"), tweet("4", "3")])
    ingest(workspace.pk, [tweet("3", "2"), tweet("1")])
    rows = [
        {"tweet_id": n, "in_response_to_tweet_id": p}
        for n, p in [("1", ""), ("2", "1"), ("3", "2"), ("4", "3")]
    ]
    assert_threads_match_file(workspace, rows)


def test_a_windows_export_with_bom_and_crlf_imports_the_same(tmp_path: Path, db: None) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + DEMO_CSV.read_bytes().replace(b"\n", b"\r\n"))
    result = run_cli("import", "twcs", str(path), "--workspace", "excel")
    assert summary(result) == {"imported": 3939, "duplicates": 0, "rejected": 0}
    workspace = Workspace.objects.get(slug="excel")
    assert_threads_match_file(workspace, DEMO_ROWS)
    assert not Item.objects.filter(workspace=workspace, parent_native_id__contains="\r").exists()


# --- The acceptance case: 1,000 rows with 5 malformed ones ------------------------------------------------

MALFORMED = {
    120: ("bad date", "created_at"),
    333: ("missing text", "text"),
    560: ("broken quoting", "quot"),
    781: ("non-numeric id", "tweet_id"),
    990: ("invalid UTF-8", "UTF-8"),
}


def _renumbered_rows(n: int) -> list[list[str]]:
    """The demo file's first n rows with fresh ids (threads kept where both ends are among them)."""
    rows = [[row[c] for c in HEADER] for row in DEMO_ROWS[:n]]
    new_id = {row[0]: str(900_000 + i) for i, row in enumerate(rows)}
    for row in rows:
        row[0] = new_id[row[0]]
        row[5] = ",".join(new_id[r] for r in row[5].split(",") if r in new_id)
        row[6] = new_id.get(row[6], "")
    return rows


def _malformed(kind: str, row: list[str]) -> bytes:
    tweet_id, author, inbound, created_at, _text, responses, parent = row
    if kind == "bad date":
        return _csv_line(
            [tweet_id, author, inbound, "31/10/2017 22:10", "@sprintcare my bill is wrong", "", parent]
        )
    if kind == "missing text":
        return _csv_line([tweet_id, author, inbound, created_at, "", responses, parent])
    if kind == "broken quoting":
        text = '"@sprintcare the quote never closes, sorry'
        return f"{tweet_id},{author},{inbound},{created_at},{text},,{parent}\n".encode()
    if kind == "non-numeric id":
        return _csv_line(
            [tweet_id[:3] + "x" + tweet_id[3:], author, inbound, created_at, "hello", "", parent]
        )
    if kind == "invalid UTF-8":
        return _csv_line([tweet_id, author, inbound, created_at, "caf\x00", "", parent]).replace(
            b"\x00", b"\xe9"
        )
    raise AssertionError(kind)


def _csv_line(row: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(row)
    return out.getvalue().encode()


def write_acceptance_file(path: Path) -> tuple[dict[int, str], set[str]]:
    """Write the 1,000-row file; returns {physical line: expected reason keyword} and the good tweet ids."""
    rows = _renumbered_rows(1000)
    expected: dict[int, str] = {}
    good: set[str] = set()
    line = 2
    with path.open("wb") as handle:
        handle.write(_csv_line(HEADER))
        for index, row in enumerate(rows):
            if index in MALFORMED:
                kind, keyword = MALFORMED[index]
                data = _malformed(kind, row)
                expected[line] = keyword
            else:
                data = _csv_line(row)
                good.add(row[0])
            handle.write(data)
            line += data.count(b"\n")
    return expected, good


def rejected_lines(output: str) -> dict[int, str]:
    found = {}
    for match in re.finditer(r"^rejected line (\d+): (.+)$", output, re.MULTILINE):
        found[int(match.group(1))] = match.group(2)
    return found


def test_acceptance_file_rejects_exactly_the_five_bad_rows_with_their_lines(tmp_path: Path, db: None) -> None:
    path = tmp_path / "support.csv"
    expected, good = write_acceptance_file(path)
    assert len(expected) == 5
    assert max(expected) > 1001, "the file has multi-line rows, so physical lines run past the row count"

    result = run_cli("import", "twcs", str(path), "--workspace", "acme")

    assert result.exit_code == 0, result.output
    assert summary(result) == {"imported": 995, "duplicates": 0, "rejected": 5}
    reported = rejected_lines(result.stdout)
    assert set(reported) == set(expected)
    for line, keyword in expected.items():
        assert keyword.lower() in reported[line].lower(), (
            f"line {line}: {reported[line]!r} should name {keyword}"
        )
    stored = set(Item.objects.filter(workspace__slug="acme").values_list("native_id", flat=True))
    assert stored == good, "the row after the broken quote (and every other good row) is imported"


def test_acceptance_file_through_the_installed_command(tmp_path: Path) -> None:
    """The real console script on a fresh SQLite workbench: exit status 0 and the same report."""
    path = tmp_path / "support.csv"
    expected, _ = write_acceptance_file(path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}
    env |= {"TOWNHALL_DATA_DIR": str(tmp_path / "data"), "TOWNHALL_SECRET_KEY": "x" * 40}
    townhall = [str(Path(sys.executable).parent / "townhall")]
    subprocess.run([*townhall, "migrate"], env=env, check=True, capture_output=True, cwd=REPO)
    done = subprocess.run(
        [*townhall, "import", "twcs", str(path), "--workspace", "support"],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "imported": 995,
        "duplicates": 0,
        "rejected": 5,
    }
    assert set(rejected_lines(done.stdout)) == set(expected)


# --- Files that cannot be imported at all -----------------------------------------------------------------


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.csv", "not found"),
        (lambda d: _write(d / "empty.csv", b""), "empty"),
        (lambda d: _write(d / "other.csv", b"id,user,message\n1,ann,hello\n"), "header"),
        (lambda d: _write(d / "items.jsonl", b'{"network": "x"}\n'), "header"),
        (lambda d: _write(d / "odd.csv", b"tweet_id,\x00author\xff\n1,a\n"), "header"),
    ],
    ids=["missing", "empty", "wrong-header", "not-csv", "unprintable-header"],
)
def test_unusable_files_fail_clearly_and_import_nothing(
    tmp_path: Path, db: None, make: Any, message: str
) -> None:
    path = make(tmp_path)
    result = run_cli("import", "twcs", str(path), "--workspace", "acme")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert path.name in result.stderr
    assert "Traceback" not in result.output
    assert not Item.objects.exists()
    assert not Person.objects.exists()
    assert not Channel.objects.exists()


def test_a_file_of_only_bad_rows_exits_non_zero(tmp_path: Path, db: None) -> None:
    path = _write(tmp_path / "bad.csv", _csv_line(HEADER) + b"abc,ann,True,yesterday,hi,,\n")
    result = run_cli("import", "twcs", str(path), "--workspace", "acme")
    assert result.exit_code == 1
    assert summary(result) == {"imported": 0, "duplicates": 0, "rejected": 1}
    assert rejected_lines(result.stdout) == {2: "tweet_id must be a number, got 'abc'"}


@pytest.mark.parametrize(
    ("field", "value", "keyword"),
    [
        ("tweet_id", "١٢٣", "tweet_id"),  # digits, but not ASCII ones: not a tweet id
        ("created_at", "Fri Dec 31 23:59:59 -2359 9999", "created_at"),  # past the end of time once in UTC
        ("created_at", "Mon Jan 01 00:00:00 +2359 0001", "created_at"),
        ("text", "nul\x00byte", "NUL"),  # cannot be stored in PostgreSQL
        ("inbound", "maybe", "inbound"),
        ("in_response_to_tweet_id", "12a", "in_response_to_tweet_id"),
        ("author_id", "", "author_id"),
    ],
)
def test_odd_values_are_rejected_not_crashed_on(
    tmp_path: Path, db: None, field: str, value: str, keyword: str
) -> None:
    good = ["1", "ann", "True", "Tue Oct 31 22:10:47 +0000 2017", "@brand hello", "", ""]
    bad = dict(
        zip(HEADER, ["2", "bob", "True", "Tue Oct 31 22:11:47 +0000 2017", "@brand hi", "", ""], strict=True)
    )
    bad[field] = value
    path = _write(tmp_path / "odd.csv", _csv_line(HEADER) + _csv_line(good) + _csv_line(list(bad.values())))
    result = run_cli("import", "twcs", str(path), "--workspace", "acme")
    assert result.exit_code == 0, result.output
    assert summary(result) == {"imported": 1, "duplicates": 0, "rejected": 1}
    reported = rejected_lines(result.stdout)
    assert list(reported) == [3]
    assert keyword in reported[3]
