"""Inbox benchmark: p50/p95 of the unified inbox's list views over N conversations, through the HTTP API.

Loads a fresh database with N conversations shaped like a busy care team's (70% resolved, 10 teams of 5
agents, 200k people, sentiment and care intents, a few SLA clocks running), then times each list request
as an agent's API client sends it. SQLite always; PostgreSQL too when TOWNHALL_TEST_DATABASE_URL is set.
Last line: {"n": N, "sqlite_p95_ms_max": x, "postgres_p95_ms_max": x or null,
"queries": {name: {"p50": x, "p95": x, "postgres_p50": x or null, "postgres_p95": x or null}}}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

TARGET_P95_MS = 50.0
WARMUPS, REQUESTS = 5, 50
CHUNK = 50_000
PEOPLE_PER_MILLION = 200_000
TEAMS, AGENTS_PER_TEAM = 10, 5
PAGE_DEEP = 20
SEED = 20_260_101

# (value, weight) tables; the weights are shares, not probabilities, and need not sum to one.
STATUSES = [("resolved", 70), ("open", 20), ("pending", 5), ("snoozed", 5)]
PRIORITIES = [("none", 55), ("low", 20), ("medium", 13), ("high", 9), ("urgent", 3)]
PRIORITY_RANK = {"urgent": 4, "high": 3, "medium": 2, "low": 1, "none": 0}
INTENTS = [
    ("question", 25), ("complaint", 18), ("order_or_account_status", 12), ("billing_refund", 8),
    ("bug_report", 7), ("praise", 7), ("other", 6), ("feature_request", 4), ("purchase_intent", 4),
    ("churn_risk", 3), ("spam", 2), ("abuse", 2), ("partnership_or_press", 1), ("job_seeker", 1),
]  # fmt: skip
UNHAPPY = {"complaint", "churn_risk", "bug_report", "billing_refund", "abuse"}
# Sentiment leans on the intent: an unhappy intent is mostly negative, praise mostly positive.
SENTIMENTS = {
    "unhappy": [("negative", 65), ("neutral", 30), ("positive", 1), ("", 4)],
    "praise": [("negative", 2), ("neutral", 14), ("positive", 80), ("", 4)],
    "other": [("negative", 12), ("neutral", 66), ("positive", 18), ("", 4)],
}
LIFECYCLES = [
    ("unknown", 35), ("follower", 15), ("member", 2), ("prospect", 10), ("lead", 5), ("customer", 25),
    ("advocate", 3), ("churned", 5),
]  # fmt: skip
CHANNELS = [("twitter", "acme"), ("twitter", "acmehelp"), ("bluesky", "acme.bsky.social"),
            ("mastodon", "acme@mastodon.social"), ("reddit", "acme")]  # fmt: skip
LABELS = ["vip", "refund", "bug", "shipping", "escalated", "billing", "feedback", "press"]
SUBJECTS = ["Order {n} has not arrived", "Charged twice for {n}", "App crashes on login ({n})",
            "Where is my refund? {n}", "Love the new release", "Cannot reset my password",
            "Question about plan {n}", "Delivery {n} damaged"]  # fmt: skip


def pick(table: list[tuple[str, int]], k: int, rng: random.Random) -> list[str]:
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights=weights, k=k)


# Loading (runs in the measured child process)


def setup_workspace() -> dict[str, Any]:
    """The workspace, its agents, teams, channels, labels and SLA policy; the bench agent's API token."""
    from townhall.connectors.models import Channel
    from townhall.inbox.models import Label, SlaPolicy, Team, TeamMember
    from townhall.workspaces import services

    workspace = services.do_create_workspace(slug="bench", name="Bench")
    teams, agents, users = [], [], []
    for t in range(TEAMS):
        team = Team.objects.create(workspace=workspace, name=f"Team {t}")
        for a in range(AGENTS_PER_TEAM):
            user = services.do_create_user(username=f"agent{t}-{a}", password=uuid.uuid4().hex)
            services.do_set_membership(workspace=workspace, user=user, role="agent")
            TeamMember.objects.create(team=team, user=user)
            agents.append((user.pk, team.pk))
            users.append(user)
        teams.append(team.pk)
    channels = [
        (Channel.objects.create(workspace=workspace, network=net, handle=handle).pk, net)
        for net, handle in CHANNELS
    ]
    labels = [Label.objects.create(workspace=workspace, name=name).pk for name in LABELS]
    policy = SlaPolicy.objects.create(workspace=workspace, name="Standard", first_response_minutes=60)
    # Requests are sent as agent0-0: in one team, with as many conversations as any other agent.
    _, token = services.do_create_token(user=users[0], name="bench")
    return {"workspace": workspace, "teams": teams, "agents": agents, "channels": channels,
            "labels": labels, "policy": policy.pk, "token": token}  # fmt: skip


def load_people(workspace_id: int, n: int, now: datetime, rng: random.Random) -> list[int]:
    from django.db import transaction

    from townhall.core.storage import insert_rows
    from townhall.people.models import Person

    columns = ["workspace_id", "display_name", "email", "location", "bio", "lifecycle", "is_team_member",
               "is_bot", "first_seen_at", "last_seen_at", "created_at"]  # fmt: skip
    ids: list[int] = []
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        lifecycles = pick(LIFECYCLES, size, rng)
        rows = []
        for i, lifecycle in enumerate(lifecycles, start):
            seen = now - timedelta(days=rng.random() * 730)
            rows.append((workspace_id, f"Person {i}", "", "", "", lifecycle, False, False, seen, seen, seen))
        with transaction.atomic():
            ids += insert_rows(Person, columns, rows)
    return ids


CONVERSATION_COLUMNS = [
    "workspace_id", "key", "channel_id", "network", "person_id", "subject", "status", "snoozed_until",
    "priority", "priority_rank", "assignee_id", "team_id", "sla_policy_id", "no_action", "sentiment",
    "primary_intent", "intent_tags", "inbound_count", "first_inbound_at", "last_inbound_at", "waiting_since",
    "last_activity_at", "first_response_due", "sla_due", "resolved_at", "created_at",
]  # fmt: skip


def conversation_rows(
    start: int, size: int, ctx: dict[str, Any], now: datetime, rng: random.Random
) -> list[tuple[Any, ...]]:
    statuses = pick(STATUSES, size, rng)
    priorities = pick(PRIORITIES, size, rng)
    intents = pick(INTENTS, size, rng)
    intent_names = [name for name, _ in INTENTS]
    people, agents, teams, channels = ctx["people"], ctx["agents"], ctx["teams"], ctx["channels"]
    rows = []
    for i in range(size):
        status, priority, intent = statuses[i], priorities[i], intents[i]
        r = rng.random
        mood = "unhappy" if intent in UNHAPPY else "praise" if intent == "praise" else "other"
        sentiment = pick(SENTIMENTS[mood], 1, rng)[0]
        tags = {intent}
        if r() < 0.3:
            tags.add("churn_risk" if intent == "complaint" and r() < 0.4 else rng.choice(intent_names))
        if r() < 0.6:
            assignee, team = rng.choice(agents)
        else:
            assignee, team = None, rng.choice(teams) if r() < 0.5 else None
        channel, network = rng.choice(channels) if r() < 0.8 else (None, "twitter")
        if status == "resolved":
            last = now - timedelta(days=r() * 730)
        else:  # what is still open was active lately, with a long tail
            last = now - timedelta(days=min(730.0, rng.expovariate(1 / 7)))
        created = last - timedelta(hours=rng.expovariate(1 / 20))
        snoozed = now + timedelta(hours=1 + r() * 160) if status == "snoozed" else None
        sla_due = None
        if status == "open" and r() < 0.05:
            roll = r()
            if roll < 0.4:  # breached
                sla_due = now - timedelta(minutes=r() * 4320)
            elif roll < 0.7:  # due within the warning window
                sla_due = now + timedelta(minutes=r() * 15)
            else:
                sla_due = now + timedelta(minutes=15 + r() * 1425)
        rows.append((
            ctx["workspace_id"], f"thread:{start + i}", channel, network,
            rng.choice(people) if r() < 0.95 else None, SUBJECTS[i % len(SUBJECTS)].format(n=start + i),
            status, snoozed, priority, PRIORITY_RANK[priority], assignee, team,
            ctx["policy"] if sla_due else None, False, sentiment, intent, "," + ",".join(sorted(tags)) + ",",
            1 + int(rng.expovariate(0.7)), created, last, last if status == "open" else None, last,
            sla_due, sla_due, last if status == "resolved" else None, created,
        ))  # fmt: skip
    return rows


def load_conversations(n: int, ctx: dict[str, Any], now: datetime, rng: random.Random) -> None:
    from django.db import transaction

    from townhall.core.storage import insert_rows
    from townhall.inbox.models import Conversation

    through = Conversation.labels.through
    for start in range(0, n, CHUNK):
        rows = conversation_rows(start, min(CHUNK, n - start), ctx, now, rng)
        with transaction.atomic():
            ids = insert_rows(Conversation, CONVERSATION_COLUMNS, rows)
            labelled = [
                (cid, label)
                for cid in ids
                if rng.random() < 0.1
                for label in rng.sample(ctx["labels"], 1 + (rng.random() < 0.3))
            ]
            insert_rows(through, ["conversation_id", "label_id"], labelled, returning_ids=False)
        if (start + len(rows)) % 200_000 == 0 and start + len(rows) < n:
            progress(f"  {start + len(rows):,} conversations")


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# Measuring


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def time_requests(requests: dict[str, Callable[[], Any]]) -> dict[str, dict[str, Any]]:
    """Warm up, then time REQUESTS of each; taken in turns, so the machine's other load hits all alike."""
    from django.db import close_old_connections

    ms: dict[str, list[float]] = {name: [] for name in requests}
    rows = {}
    for i in range(WARMUPS + REQUESTS):
        for name, get in requests.items():
            start = time.perf_counter()
            response = get()
            took = (time.perf_counter() - start) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{name}: {response.status_code}: {response.content[:500]!r}")
            if i >= WARMUPS:
                ms[name].append(took)
            rows[name] = len(response.json()["items"])
            # A WSGI server ends each request by closing connections older than CONN_MAX_AGE (every SQLite
            # one: it is 0 there); the test client skips that, which would keep SQLite's page cache warm.
            close_old_connections()
    return {
        name: {
            "p50": round(statistics.median(times), 2),
            "p95": round(percentile(times, 0.95), 2),
            "max": round(max(times), 2),
            "rows": rows[name],
        }
        for name, times in ms.items()
    }


def queries(ctx: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The views an agent opens most, each as the API query string it sends."""
    return {
        "mine": {"view": "mine"},
        "unassigned": {"view": "unassigned"},
        "my_teams": {"view": "my_teams"},
        "team_filters": {"team": ctx["teams"][3], "priority": "high", "sentiment": "negative"},
        "negative_complaints_customers": {
            "sentiment": "negative",
            "intent": "complaint",
            "buying_stage": "customer",
        },
        "sla_at_risk": {"view": "sla_at_risk"},
        "all_open": {},
    }


class Recorder:
    """Keeps every statement a request sends, to replay it without the web layer around it."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if not many:
            self.statements.append((sql, params))
        return execute(sql, params, many, context)


def sql_only(get: Callable[[], Any], explain: bool) -> dict[str, Any]:
    """p50 of the request's reads replayed raw (the database's share of it); the list's plan when asked."""
    from django.db import close_old_connections, connection

    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        get()
    reads = [(sql, params) for sql, params in recorder.statements if sql.startswith("SELECT")]
    listing = next(
        (sql, params) for sql, params in reads if 'FROM "inbox_conversation"' in sql and "ORDER BY" in sql
    )
    totals = []
    for _ in range(REQUESTS // 2):
        close_old_connections()  # as the end of every request does
        start = time.perf_counter()
        with connection.cursor() as cursor:
            for sql, params in reads:
                cursor.execute(sql, params)
                cursor.fetchall()
        totals.append((time.perf_counter() - start) * 1000)
    found: dict[str, Any] = {"sql_p50": round(statistics.median(totals), 2)}
    if explain:
        sql, params = listing
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
        with connection.cursor() as cursor:
            cursor.execute(prefix + sql, params)
            plan = [" ".join(str(v) for v in row) for row in cursor.fetchall()]
            shown = connection.ops.last_executed_query(cursor, sql, params)
        found["list_sql"] = re.sub(r"^SELECT .*? FROM ", "SELECT ... FROM ", shown, count=1, flags=re.S)
        found["plan"] = plan
    return found


def measure(ctx: dict[str, Any], explain_all: bool) -> dict[str, dict[str, Any]]:
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {ctx['token']}")
    path = "/api/workspaces/bench/conversations"
    requests = {
        name: (lambda params=params: client.get(path, {**params, "limit": 50}))
        for name, params in queries(ctx).items()
    }
    deep: dict[str, Any] = {"limit": 50}
    for _ in range(PAGE_DEEP - 1):
        after = client.get(path, deep).json()["next_cursor"]
        if after is None:  # a small N has fewer pages: the last one stands in
            break
        deep["cursor"] = after
    requests["all_open_page20"] = lambda: client.get(path, deep)
    results = time_requests(requests)
    for name, timed in results.items():
        timed.update(sql_only(requests[name], explain_all or timed["p95"] >= TARGET_P95_MS))
        progress(f"  {name}: p50 {timed['p50']} ms, p95 {timed['p95']} ms, sql {timed['sql_p50']} ms")
    return results


def run_here(n: int, explain_all: bool) -> dict[str, Any]:
    """Migrate the configured (empty) database, load it, and time the views, in this process."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "townhall.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from townhall.core.storage import sqlite_tune_for_bulk_load

    call_command("migrate", verbosity=0)
    sqlite_tune_for_bulk_load()
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    start = time.perf_counter()
    ctx = setup_workspace()
    ctx["workspace_id"] = ctx.pop("workspace").pk
    progress(f"  {TEAMS * AGENTS_PER_TEAM} agents in {time.perf_counter() - start:.0f} s")
    ctx["people"] = load_people(ctx["workspace_id"], max(1, n * PEOPLE_PER_MILLION // 1_000_000), now, rng)
    progress(f"  {len(ctx['people']):,} people at {time.perf_counter() - start:.0f} s")
    load_conversations(n, ctx, now, rng)
    progress(f"  {n:,} conversations at {time.perf_counter() - start:.0f} s")
    analyze()
    load_seconds = time.perf_counter() - start
    progress(f"  loaded and analysed in {load_seconds:.0f} s")
    found = measure(ctx, explain_all)
    # Timings on a shared machine mean little without how busy it was while they were taken.
    busy = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    return {"load_seconds": round(load_seconds, 1), "measured_at": busy, "queries": found}


# Orchestration


def run_one(database_url: str, n: int, data_dir: Path, explain: bool) -> dict[str, Any]:
    """Load and measure in a fresh process against `database_url` (fresh settings, fresh connections)."""
    env = {**os.environ, "TOWNHALL_DATABASE_URL": database_url, "TOWNHALL_DATA_DIR": str(data_dir)}
    env.pop("TOWNHALL_TESTING", None)
    command = [sys.executable, __file__, "--n", str(n), "--child", *(["--explain"] if explain else [])]
    out = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"benchmark against {database_url.split('@')[-1]} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


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


def print_table(title: str, result: dict[str, Any]) -> None:
    print(f"\n{title}: loaded in {result['load_seconds']:.0f} s; measured at {result['measured_at']}")
    print(f"  {'query':<30} {'rows':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'sql p50':>8}")
    for name, q in result["queries"].items():
        flag = "  over target" if q["p95"] >= TARGET_P95_MS else ""
        print(
            f"  {name:<30} {q['rows']:>5} {q['p50']:>8.1f} {q['p95']:>8.1f} {q['max']:>8.1f} "
            f"{q['sql_p50']:>8.1f}{flag}"
        )
    for name, q in result["queries"].items():
        if "plan" in q:
            print(f"\n  {name}:\n    {q['list_sql']}")
            print("\n".join(f"    {line}" for line in q["plan"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="conversations (default 1,000,000)")
    parser.add_argument("--explain", action="store_true", help="print every query's plan, not only slow ones")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # the measured process
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_here(args.n, args.explain)))
        return
    with tempfile.TemporaryDirectory(prefix="townhall-bench-") as tmp:
        progress(f"sqlite: loading {args.n:,} conversations")
        sqlite = run_one(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args.n, Path(tmp), args.explain)
        postgres = None
        pg_url = os.environ.get("TOWNHALL_TEST_DATABASE_URL", "")
        if pg_url:
            url, name = fresh_postgres(pg_url)
            try:
                progress(f"postgresql: loading {args.n:,} conversations")
                postgres = run_one(url, args.n, Path(tmp), args.explain)
            finally:
                drop_postgres(pg_url, name)
    print_table(f"sqlite, {args.n:,} conversations", sqlite)
    if postgres:
        print_table(f"postgresql, {args.n:,} conversations", postgres)
    pg = postgres["queries"] if postgres else {}
    summary = {
        name: {"p50": q["p50"], "p95": q["p95"], "postgres_p50": pg[name]["p50"] if pg else None,
               "postgres_p95": pg[name]["p95"] if pg else None}
        for name, q in sqlite["queries"].items()
    }  # fmt: skip
    sqlite_max = max(q["p95"] for q in sqlite["queries"].values())
    pg_max = max(q["p95"] for q in pg.values()) if pg else None
    print(json.dumps({"n": args.n, "sqlite_p95_ms_max": sqlite_max, "postgres_p95_ms_max": pg_max,
                      "queries": summary}))  # fmt: skip


if __name__ == "__main__":
    main()
