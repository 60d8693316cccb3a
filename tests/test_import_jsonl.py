"""The generic JSON Lines format: items, threads, per-line errors, idempotency, and the parsers' promises."""

from __future__ import annotations

import dataclasses
import json
import re
import string
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from townhall.cli import main
from townhall.core.validation import unstorable
from townhall.items import importers
from townhall.items.models import Item
from townhall.people.models import Identity, Person
from townhall.pipeline import IncomingItem, RowError

# --- helpers ----------------------------------------------------------------------------------------------


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def summary(result: Result) -> dict[str, int]:
    return json.loads(result.stdout.strip().splitlines()[-1])


def rejected_lines(output: str) -> dict[int, str]:
    return {int(m[1]): m[2] for m in re.finditer(r"^rejected line (\d+): (.+)$", output, re.MULTILINE)}


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    """Dicts become JSON objects; strings are written as they are (for broken lines)."""
    with path.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
    return path


def item(native: str, **fields: Any) -> dict[str, Any]:
    return {
        "network": "mastodon",
        "id": native,
        "created_at": "2026-05-01T10:00:00Z",
        "text": f"item {native}",
    } | fields


ANA = {"id": "77", "handle": "ana@social.example", "name": "Ana", "followers": 12, "verified": True}


# --- importing files through the CLI ----------------------------------------------------------------------


def test_valid_items_are_stored_with_every_field(tmp_path: Path, db: None) -> None:
    path = write_jsonl(
        tmp_path / "items.jsonl",
        [
            item(
                "1101",
                kind="mention",
                text="  @acme my order never arrived  ",
                author=ANA | {"url": "https://social.example/@ana"},
                channel="acme@social.example",
                url="https://social.example/@ana/1101",
                language="en",
                metrics={"likes": 3, "reposts": 1, "replies": 2, "views": 40},
                raw={"visibility": "public", "tags": ["orders"]},
                created_at="2026-05-01T12:00:00+02:00",
            ),
            item(1102, direction="outbound", channel="acme@social.example", kind="reply", in_reply_to=1101),
        ],
    )
    result = run_cli("import", "jsonl", str(path), "--workspace", "acme")
    assert result.exit_code == 0, result.output
    assert summary(result) == {"imported": 2, "duplicates": 0, "rejected": 0}

    mention = Item.objects.select_related("author", "channel").get(native_id="1101")
    assert (mention.network, mention.kind, mention.direction) == ("mastodon", "mention", "inbound")
    assert mention.text == "@acme my order never arrived"
    assert mention.created_at == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    assert (mention.likes, mention.reposts, mention.replies, mention.views) == (3, 1, 2, 40)
    assert (mention.url, mention.language) == ("https://social.example/@ana/1101", "en")
    assert mention.raw == {"visibility": "public", "tags": ["orders"]}
    assert mention.channel is not None and mention.channel.handle == "acme@social.example"
    assert mention.author is not None
    assert (mention.author.native_id, mention.author.handle, mention.author.display_name) == (
        "77",
        "ana@social.example",
        "Ana",
    )
    assert (mention.author.followers, mention.author.verified) == (12, True)
    assert mention.author.profile_url == "https://social.example/@ana"
    assert mention.person is not None and mention.person.display_name == "Ana"

    reply = Item.objects.get(native_id="1102")
    assert reply.direction == "outbound" and reply.author is None and reply.person is None
    assert reply.parent_id == mention.pk and reply.thread_root_id == mention.pk
    assert reply.channel_id == mention.channel_id


def test_threads_follow_in_reply_to_whatever_the_order(tmp_path: Path, db: None) -> None:
    # a <- b <- c, and a <- d; c and d come before their parents, x replies to something never seen
    path = write_jsonl(
        tmp_path / "thread.jsonl",
        [
            item("c", in_reply_to="b"),
            item("d", in_reply_to="a"),
            item("a"),
            item("b", in_reply_to="a"),
            item("x", in_reply_to="gone"),
        ],
    )
    assert run_cli("import", "jsonl", str(path), "--workspace", "acme").exit_code == 0
    rows = {i.native_id: i for i in Item.objects.select_related("parent", "thread_root")}
    parents = {n: (r.parent.native_id if r.parent else None) for n, r in rows.items()}
    roots = {n: r.thread_root.native_id for n, r in rows.items() if r.thread_root}
    assert parents == {"a": None, "b": "a", "c": "b", "d": "a", "x": None}
    assert roots == {"a": "a", "b": "a", "c": "a", "d": "a", "x": "x"}
    assert rows["x"].parent_native_id == "gone"


def test_bad_lines_are_rejected_with_their_line_number_and_reason(tmp_path: Path, db: None) -> None:
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        [
            item("1"),
            '{"network": "mastodon", "id": "2", ',  # line 2: bad JSON
            {"network": "mastodon", "id": "3"},  # line 3: created_at missing
            item("4", colour="blue"),  # line 4: unknown field
            item("5", created_at="2026-05-01T10:00:00"),  # line 5: no time zone
            item("6", metrics={"likes": "lots"}),  # line 6: wrong type
            "",  # line 7: blank lines are skipped but still counted
            "[1, 2]",  # line 8: not an object
            item("9", kind="tweet"),  # line 9: not a kind
            item("10"),
        ],
    )
    result = run_cli("import", "jsonl", str(path), "--workspace", "acme")
    assert result.exit_code == 0, result.output
    assert summary(result) == {"imported": 2, "duplicates": 0, "rejected": 7}
    reported = rejected_lines(result.stdout)
    assert sorted(reported) == [2, 3, 4, 5, 6, 8, 9]
    assert "not valid JSON" in reported[2]
    assert "created_at" in reported[3] and "required" in reported[3].lower()
    assert "colour" in reported[4]
    assert "time zone" in reported[5]
    assert "metrics.likes" in reported[6]
    assert "JSON object" in reported[8]
    assert "kind" in reported[9]
    assert sorted(Item.objects.values_list("native_id", flat=True)) == ["1", "10"]


@pytest.mark.parametrize(
    ("line", "keyword"),
    [
        (json.dumps(item("2", text="nul\x00byte")), "NUL"),  # PostgreSQL cannot store it
        (json.dumps(item("2", author={"id": "\x00"})), "NUL"),
        (json.dumps(item("2", raw={"k\x00": 1})), "NUL"),
        (
            '{"network": "mastodon", "id": "2", "created_at": "2026-05-01T10:00:00Z", "text": "\\ud800"}',
            "surrogate",
        ),
        (json.dumps(item("2", raw={"score": float("nan")})), "JSON"),  # NaN is not JSON
        (
            '{"network": "mastodon", "id": "2", "created_at": "2026-05-01T10:00:00Z", "raw": {"n": '
            + "9" * 5000
            + "}}",
            "JSON",
        ),
        (json.dumps(item("2", metrics={"likes": 10**12})), "metrics.likes"),  # larger than the column
        (json.dumps(item("2", author={"id": "7", "followers": 2**40})), "author.followers"),
        (
            json.dumps(item("2", created_at="9999-12-31T23:59:59-23:59")),
            "created_at",
        ),  # beyond year 9999 in UTC
        ("[" * 100_000, "JSON"),
        ("\udcff" + json.dumps(item("2")), "UTF-8"),
    ],
    ids=[
        "nul-text",
        "nul-author",
        "nul-raw-key",
        "lone-surrogate",
        "nan",
        "huge-number",
        "likes-too-big",
        "followers-too-big",
        "date-overflow",
        "deep-nesting",
        "invalid-utf8",
    ],
)
def test_values_no_database_can_store_are_rejected_not_crashed_on(
    tmp_path: Path, db: None, line: str, keyword: str
) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_bytes(
        (json.dumps(item("1")) + "\n" + line + "\n" + json.dumps(item("3")) + "\n").encode(
            "utf-8", "surrogateescape"
        )
    )
    result = run_cli("import", "jsonl", str(path), "--workspace", "acme")
    assert result.exit_code == 0, result.output
    assert summary(result) == {"imported": 2, "duplicates": 0, "rejected": 1}
    reported = rejected_lines(result.stdout)
    assert list(reported) == [2]
    assert keyword in reported[2]


def test_an_item_repeated_in_one_file_is_stored_once(tmp_path: Path, db: None) -> None:
    path = write_jsonl(tmp_path / "twice.jsonl", [item("1"), item("2"), item("1", text="edited")])
    result = run_cli("import", "jsonl", str(path), "--workspace", "acme")
    assert summary(result) == {"imported": 2, "duplicates": 1, "rejected": 0}
    assert Item.objects.get(native_id="1").text == "item 1", "the first copy wins"


def test_reimport_is_idempotent(tmp_path: Path, db: None) -> None:
    path = write_jsonl(
        tmp_path / "items.jsonl",
        [
            item("1", author=ANA),
            item("2", in_reply_to="1", author=ANA),
            "not json",
            item("3", author={"id": "78"}),
        ],
    )
    first = run_cli("import", "jsonl", str(path), "--workspace", "acme")
    assert summary(first) == {"imported": 3, "duplicates": 0, "rejected": 1}
    counts = (Item.objects.count(), Person.objects.count(), Identity.objects.count())
    second = run_cli("import", "jsonl", str(path), "--workspace", "acme")
    assert second.exit_code == 0
    assert summary(second) == {"imported": 0, "duplicates": 3, "rejected": 1}
    assert (Item.objects.count(), Person.objects.count(), Identity.objects.count()) == counts == (3, 2, 2)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "not found"), (b"", "empty"), (b"network,id\nx,1\n", "not JSON Lines")],
    ids=["missing", "empty", "csv"],
)
def test_unusable_files_exit_2_and_import_nothing(
    tmp_path: Path, db: None, content: bytes | None, message: str
) -> None:
    path = tmp_path / "items.jsonl"
    if content is not None:
        path.write_bytes(content)
    result = run_cli("import", "jsonl", str(path), "--workspace", "acme")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert not Item.objects.exists()


# --- properties of the parsers ----------------------------------------------------------------------------

PARSED = (IncomingItem, RowError)


@settings(max_examples=300, deadline=None)
@given(st.text())
@example("1" * 5000)
@example("[" * 100_000)
@example('{"network": "x", "id": "1", "created_at": "0001-01-01T00:00:00+23:59"}')
@example('{"network": "x", "id": "1", "created_at": "2026-01-01T00:00:00Z", "raw": {"a": NaN}}')
def test_parse_jsonl_line_never_raises_on_any_text(text: str) -> None:
    parsed = importers.parse_jsonl_line(7, text)
    if parsed is None:
        assert not text.strip()
    else:
        assert isinstance(parsed, PARSED)
        if isinstance(parsed, RowError):
            assert parsed.line == 7 and parsed.reason
            assert unstorable(parsed.reason) is None, "the reason is stored with the import run"


@settings(max_examples=200, deadline=None)
@given(st.binary())
def test_parse_jsonl_line_never_raises_on_any_bytes(data: bytes) -> None:
    # read_lines hands undecodable bytes over as surrogates; the parser must turn them into a rejection
    parsed = importers.parse_jsonl_line(1, data.decode("utf-8", "surrogateescape"))
    assert parsed is None or isinstance(parsed, PARSED)
    if isinstance(parsed, RowError):
        assert unstorable(parsed.reason) is None
    if isinstance(parsed, IncomingItem):
        assert unstorable([parsed.text, parsed.native_id, parsed.raw]) is None


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)
FIELDS = ["network", "id", "created_at", "text", "kind", "direction", "author", "channel", "in_reply_to"]
FIELDS += ["url", "language", "metrics", "raw", "extra"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES | st.datetimes().map(str)))
def test_parse_jsonl_line_never_raises_on_item_shaped_objects(data: dict[str, Any]) -> None:
    for parsed in (importers.parse_jsonl_line(1, json.dumps(data)), importers.parse_item_dict(0, data)):
        assert isinstance(parsed, PARSED)
        if isinstance(parsed, RowError):
            assert unstorable(parsed.reason) is None


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
@example(b"1,ann,True,Fri Dec 31 23:59:59 -2359 9999,hi,,\n")
@example(b'1,ann,True,Tue Oct 31 22:10:47 +0000 2017,"open quote\n2,bob,False,x,y,,\n')
@example(b"1,ann,True,Tue Oct 31 22:10:47 +0000 2017,nul\x00,,\n")
def test_twcs_parser_never_raises_on_any_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "any.csv"
        path.write_bytes(",".join(importers.TWCS_COLUMNS).encode() + b"\n" + data)
        parsed = list(importers.parse(path, "twcs"))
    assert all(isinstance(p, PARSED) for p in parsed)
    assert all(isinstance(p.line, int) and p.line >= 2 for p in parsed)
    for p in parsed:
        stored = p.reason if isinstance(p, RowError) else [p.text, p.native_id, p.raw, p.channel_handle]
        assert unstorable(stored) is None


# A valid item in the generic format, as another tool would write it.
STRIPPED = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=40).map(
    str.strip
)
IDS = STRIPPED.filter(bool) | st.integers(min_value=0, max_value=10**30)
AWARE = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9000, 1, 1)).flatmap(
    lambda when: st.integers(min_value=-23 * 60, max_value=23 * 60).map(
        lambda minutes: when.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    )
)
AUTHORS = st.fixed_dictionaries(
    {"id": IDS},
    optional={
        "handle": STRIPPED,
        "name": STRIPPED,
        "followers": st.none() | st.integers(0, 2**31 - 1),
        "verified": st.booleans(),
        "url": STRIPPED,
    },
)
JSON_SAFE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | STRIPPED,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(STRIPPED, children, max_size=3),
    max_leaves=8,
)
VALID_ITEMS = st.fixed_dictionaries(
    {
        "network": st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True),
        "id": IDS,
        "created_at": AWARE,
    },
    optional={
        "text": STRIPPED,
        "kind": st.sampled_from(
            ["post", "comment", "reply", "dm", "mention", "review", "forum_post", "chat_message"]
        ),
        "direction": st.sampled_from(["inbound", "outbound"]),
        "author": AUTHORS,
        "channel": STRIPPED,
        "in_reply_to": IDS,
        "url": STRIPPED,
        "language": st.text(string.ascii_lowercase + "-", max_size=8),
        "metrics": st.fixed_dictionaries(
            {},
            optional={
                "likes": st.integers(0, 2**31 - 1),
                "reposts": st.integers(0, 2**31 - 1),
                "replies": st.integers(0, 2**31 - 1),
                "views": st.none() | st.integers(0, 2**63 - 1),
            },
        ),
        "raw": st.dictionaries(STRIPPED, JSON_SAFE, max_size=4),
    },
)


def serialize(data: dict[str, Any]) -> str:
    return json.dumps(data | {"created_at": data["created_at"].isoformat()})


@settings(max_examples=300, deadline=None)
@given(VALID_ITEMS)
def test_a_valid_item_round_trips(data: dict[str, Any]) -> None:
    parsed = importers.parse_jsonl_line(3, serialize(data))
    assert isinstance(parsed, IncomingItem), parsed
    author = data.get("author")
    metrics = data.get("metrics", {})
    assert parsed.network == data["network"]
    assert parsed.native_id == str(data["id"])
    assert parsed.created_at == data["created_at"] and parsed.created_at.utcoffset() == timedelta(0)
    assert parsed.text == data.get("text", "")
    assert parsed.kind == data.get("kind", "post")
    assert parsed.direction == data.get("direction", "inbound")
    assert parsed.channel_handle == data.get("channel", "")
    assert parsed.parent_native_id == str(data.get("in_reply_to", ""))
    assert parsed.url == data.get("url", "")
    assert parsed.language == data.get("language", "")
    assert (parsed.likes, parsed.reposts, parsed.replies, parsed.views) == (
        metrics.get("likes", 0),
        metrics.get("reposts", 0),
        metrics.get("replies", 0),
        metrics.get("views"),
    )
    assert parsed.raw == data.get("raw", {})
    assert parsed.line == 3
    if author is None:
        assert parsed.author is None
    else:
        assert parsed.author is not None
        assert parsed.author.native_id == str(author["id"])
        assert parsed.author.handle == author.get("handle", "")
        assert parsed.author.display_name == author.get("name", "")
        assert parsed.author.followers == author.get("followers")
        assert parsed.author.verified == author.get("verified", False)
        assert parsed.author.profile_url == author.get("url", "")
    # the API takes the same objects: it parses them the same way
    assert importers.parse_item_dict(0, json.loads(serialize(data))) == dataclasses.replace(parsed, line=0)
