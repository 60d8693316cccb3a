"""The `townhall` command: set up, serve, import, and administer a workbench from the shell."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

DEMO_WORKSPACE = "demo"


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "townhall.settings")
    import django

    django.setup()


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group()
@click.version_option(package_name="townhall")
def main() -> None:
    """Townhall: the workbench for social media and community managers."""
    from townhall.core.config import ConfigError

    try:
        _setup_django()
    except ConfigError as exc:
        _fail(str(exc), 2)


@main.command()
def migrate() -> None:
    """Create or upgrade the database tables."""
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def manage(args: tuple[str, ...]) -> None:
    """Run a Django management command (e.g. `townhall manage createsuperuser`)."""
    from django.core.management import execute_from_command_line

    execute_from_command_line(["townhall manage", *args])


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="Web worker processes.")
@click.option(
    "--jobs/--no-jobs", default=True, show_default=True, help="Start the job worker beside the web app."
)
def serve(host: str, port: int, workers: int, jobs: bool) -> None:
    """Serve the web app and API with gunicorn, and (on the embedded default) the job worker."""
    from django.conf import settings
    from gunicorn.app.base import BaseApplication

    from townhall.wsgi import application

    worker: subprocess.Popen[bytes] | None = None
    if jobs and settings.HUEY["huey_class"] == "huey.SqliteHuey" and not settings.HUEY.get("immediate"):
        worker = subprocess.Popen([sys.executable, "-m", "townhall", "worker"])

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", 4)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 120)

        def load(self) -> Any:
            return application

    click.echo(f"Townhall is serving on http://{host}:{port}/", err=True)
    try:
        Server().run()
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)


@main.command()
def worker() -> None:
    """Run the job worker (imports, periodic jobs)."""
    from django.core.management import call_command

    call_command("run_huey")


@main.group()
def user() -> None:
    """Manage users."""


@user.command("create")
@click.argument("username")
@click.option("--password", help="Generated and printed when omitted.")
@click.option("--email", default="")
@click.option("--workspace", "workspace_slug", help="Add the user to this workspace.")
@click.option("--role", default="agent", show_default=True, help="Role in --workspace.")
@click.option("--superuser", is_flag=True, help="Site administrator (back-office, every workspace).")
def user_create(
    username: str, password: str | None, email: str, workspace_slug: str | None, role: str, superuser: bool
) -> None:
    """Create a user, optionally with a role in a workspace."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from townhall.core.errors import TownhallError
    from townhall.workspaces import services

    generated = password is None
    password = password or secrets.token_urlsafe(12)
    if not generated:
        try:
            validate_password(password)
        except ValidationError as exc:
            _fail("password refused: " + " ".join(exc.messages))
    try:
        # All or nothing: a missing workspace or a bad role must not leave a half-created user behind.
        with transaction.atomic():
            account = services.do_create_user(
                username=username, password=password, email=email, superuser=superuser
            )
            if workspace_slug:
                workspace = services.get_workspace(slug=workspace_slug)
                services.do_set_membership(workspace=workspace, user=account, role=role)
                services.record_audit(
                    actor=None,
                    action="membership.set",
                    workspace=workspace,
                    detail={"username": username, "role": role},
                    source="cli",
                )
    except TownhallError as exc:
        _fail(exc.message)
    click.echo(f"created user {username}" + (f" with password {password}" if generated else ""))


@main.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.option("--user", "username", required=True)
@click.option("--name", default="cli", show_default=True)
def token_create(username: str, name: str) -> None:
    """Create an API token for a user; it is printed once."""
    from django.contrib.auth import get_user_model

    from townhall.workspaces import services

    account = get_user_model().objects.filter(username=username).first()
    if account is None:
        _fail(f"user {username!r} does not exist")
    _, clear = services.do_create_token(user=account, name=name)
    click.echo(clear)


@main.group()
def workspace() -> None:
    """Manage workspaces."""


@workspace.command("create")
@click.argument("slug")
@click.option("--name", default="")
@click.option("--timezone", "tz", default="UTC", show_default=True)
def workspace_create(slug: str, name: str, tz: str) -> None:
    """Create a workspace (a brand)."""
    from townhall.core.errors import TownhallError
    from townhall.workspaces import services

    try:
        created = services.do_create_workspace(slug=slug, name=name, timezone_name=tz)
    except TownhallError as exc:
        _fail(exc.message)
    services.record_audit(
        actor=None, action="workspace.create", target=created, workspace=created, source="cli"
    )
    click.echo(f"created workspace {slug}")


@workspace.command("list")
def workspace_list() -> None:
    """List workspaces."""
    from townhall.workspaces.models import Workspace

    for row in Workspace.objects.order_by("slug"):
        click.echo(f"{row.slug}\t{row.name}")


@main.group()
def channels() -> None:
    """Connect channels (network accounts and sources), sync them and check their health."""


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    found = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            _fail(f"{option} takes name=value, got {value!r}", 2)
        found[key] = rest
    return found


def _workspace_or_fail(slug: str) -> Any:
    from townhall.core.errors import TownhallError
    from townhall.workspaces import services

    try:
        return services.get_workspace(slug=slug)
    except TownhallError as exc:
        _fail(exc.message, 2)


@channels.command("add")
@click.option("--workspace", "workspace_slug", required=True)
@click.option("--network", required=True, help="bluesky, mastodon, matrix, reddit, wordpress, rss, ...")
@click.option("--handle", required=True, help="the account, room, subreddit, site or feed URL")
@click.option("--credential", "credentials", multiple=True, help="name=value (see `townhall channels list`)")
@click.option("--setting", "settings", multiple=True, help="name=value, e.g. connector=file")
@click.option("--source", is_flag=True, help="a source we listen to, not an account the brand owns")
def channels_add(
    workspace_slug: str,
    network: str,
    handle: str,
    credentials: tuple[str, ...],
    settings: tuple[str, ...],
    source: bool,
) -> None:
    """Connect a channel and test it; prints the channel as JSON."""
    from townhall.connectors import services
    from townhall.connectors.sync import do_check
    from townhall.core.errors import TownhallError
    from townhall.workspaces.services import record_audit

    ws = _workspace_or_fail(workspace_slug)
    try:
        channel = services.do_create_channel(
            workspace=ws,
            network=network,
            handle=handle,
            is_ours=not source,
            credentials=_pairs(credentials, "--credential"),
            settings=_pairs(settings, "--setting"),
        )
        health = do_check(channel)
    except TownhallError as exc:
        _fail(exc.message, 2)
    record_audit(actor=None, action="channel.create", target=channel, workspace=ws, source="cli")
    click.echo(
        json.dumps(
            {
                "id": channel.pk,
                "network": network,
                "handle": handle,
                "ok": health.ok,
                "message": health.message,
            }
        )
    )


@channels.command("list")
@click.option("--workspace", "workspace_slug", required=True)
def channels_list(workspace_slug: str) -> None:
    """The workspace's channels with their health, one JSON object per line."""
    from townhall.connectors import services

    ws = _workspace_or_fail(workspace_slug)
    for c in services.list_channels(workspace=ws):
        click.echo(
            json.dumps(
                {
                    "id": c.pk,
                    "network": c.network,
                    "handle": c.handle,
                    "connector": c.connector_kind,
                    "status": c.status,
                    "health": c.health,
                    "last_synced_at": c.last_synced_at.isoformat() if c.last_synced_at else None,
                    "last_error": c.last_error,
                }
            )
        )


def _chosen_channels(workspace_slug: str, channel_id: int | None) -> list[Any]:
    from townhall.connectors import services
    from townhall.core.errors import TownhallError

    ws = _workspace_or_fail(workspace_slug)
    if channel_id is None:
        return services.list_channels(workspace=ws)
    try:
        return [services.access_channel_by_id(workspace=ws, channel_id=channel_id)]
    except TownhallError as exc:
        _fail(exc.message, 2)
    return []


@channels.command("sync")
@click.option("--workspace", "workspace_slug", required=True)
@click.option("--channel", "channel_id", type=int, default=None, help="one channel (default: all that read)")
def channels_sync(workspace_slug: str, channel_id: int | None) -> None:
    """Bring new items in now; one JSON line per channel, then the totals (exit 1 when a sync failed)."""
    from townhall.connectors.registry import connector_for
    from townhall.connectors.sync import do_sync

    totals = {"channels": 0, "imported": 0, "failed": 0}
    for channel in _chosen_channels(workspace_slug, channel_id):
        cls = connector_for(channel.connector_kind)
        if cls is None or not cls.capabilities.read:
            if channel_id is not None:
                _fail(f"channel {channel.pk} ({channel.connector_kind}) has no connector that can read it", 2)
            continue
        result = do_sync(channel)
        totals["channels"] += 1
        totals["imported"] += result.imported
        totals["failed"] += bool(result.error)
        click.echo(json.dumps(result.as_dict()))
    click.echo(json.dumps(totals))
    if totals["failed"]:
        sys.exit(1)


@channels.command("health")
@click.option("--workspace", "workspace_slug", required=True)
@click.option("--channel", "channel_id", type=int, default=None)
def channels_health(workspace_slug: str, channel_id: int | None) -> None:
    """Test each channel's connection and credentials now; one JSON line per channel."""
    from townhall.connectors.registry import connector_for
    from townhall.connectors.sync import do_check

    for channel in _chosen_channels(workspace_slug, channel_id):
        if connector_for(channel.connector_kind) is None:
            click.echo(
                json.dumps({"id": channel.pk, "ok": False, "message": "no connector for this channel"})
            )
            continue
        health = do_check(channel)
        click.echo(
            json.dumps(
                {"id": channel.pk, "ok": health.ok, "message": health.message, "health": channel.health}
            )
        )


@main.group("import")
def import_() -> None:
    """Import items from a file (creates the workspace when it does not exist)."""


def _run_import(path: Path, fmt: str, workspace_slug: str) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from townhall.core.errors import TownhallError
    from townhall.items import importers
    from townhall.items.services import do_import_file
    from townhall.workspaces import services

    try:
        ws, _ = services.get_or_create_workspace(slug=workspace_slug)
    except TownhallError as exc:
        _fail(exc.message, 2)
    total = importers.count_rows(path) if path.is_file() else 0
    try:
        if total > 5000:
            columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            with Progress(*columns, transient=True, console=_stderr_console()) as bar:
                task = bar.add_task("import", total=total)
                run = do_import_file(
                    workspace=ws, path=path, fmt=fmt, progress=lambda n: bar.advance(task, n)
                )
        else:
            run = do_import_file(workspace=ws, path=path, fmt=fmt)
    except TownhallError as exc:
        _fail(exc.message, 2)
    services.record_audit(
        actor=None,
        action="import.file",
        target=run,
        workspace=ws,
        detail={"format": fmt, "file": str(path), "imported": run.imported, "rejected": run.rejected},
        source="cli",
    )
    for error in run.errors:
        click.echo(f"rejected line {error['line']}: {error['reason']}")
    if run.rejected > len(run.errors):
        click.echo(f"... and {run.rejected - len(run.errors)} more rejected rows")
    click.echo(
        f"{path.name}: {run.imported} imported, {run.duplicates} duplicates skipped, {run.rejected} rejected"
        f" into workspace {ws.slug}"
    )
    click.echo(json.dumps({"imported": run.imported, "duplicates": run.duplicates, "rejected": run.rejected}))
    if run.imported == 0 and run.duplicates == 0 and run.rejected > 0:
        sys.exit(1)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@import_.command("twcs")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--workspace", "workspace_slug", required=True)
def import_twcs(file: Path, workspace_slug: str) -> None:
    """A Customer-Support-on-Twitter CSV (tweet_id, author_id, inbound, created_at, text, ...)."""
    _run_import(file, "twcs", workspace_slug)


@import_.command("jsonl")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--workspace", "workspace_slug", required=True)
def import_jsonl(file: Path, workspace_slug: str) -> None:
    """Items in the generic JSON Lines format (docs/import-format.md)."""
    _run_import(file, "jsonl", workspace_slug)


def _demo_data() -> Path:
    configured = os.environ.get("TOWNHALL_DEMO_DATA")
    if configured:
        return Path(configured)
    here = Path(__file__).resolve()
    for base in (Path.cwd(), here.parents[2]):
        candidate = base / "demo" / "twcs_sample.csv"
        if candidate.exists():
            return candidate
    return Path.cwd() / "demo" / "twcs_sample.csv"


@main.command()
@click.option(
    "--data", type=click.Path(path_type=Path), help="TWCS CSV to import (default: demo/twcs_sample.csv)."
)
@click.option("--username", default="demo", show_default=True)
@click.option(
    "--host", default="127.0.0.1:8000", show_default=True, help="Where the app will answer, for the URL."
)
def demo(data: Path | None, username: str, host: str) -> None:
    """Create the demo workspace and login with real customer-care conversations imported."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from townhall.items.services import do_import_file
    from townhall.workspaces import services

    call_command("migrate", interactive=False, verbosity=0)
    path = data or _demo_data()
    if not path.exists():
        _fail(f"demo data not found at {path}; pass --data FILE.csv")
    ws, _ = services.get_or_create_workspace(slug=DEMO_WORKSPACE, name="Demo: customer care on X")
    password = secrets.token_urlsafe(9)
    users = get_user_model()
    account = users.objects.filter(username=username).first()
    if account is None:
        account = users.objects.create_superuser(username=username, email="", password=password)
    else:
        account.set_password(password)
        account.save(update_fields=["password"])
    services.do_set_membership(workspace=ws, user=account, role="owner")
    from townhall.inbox.config import do_seed_demo

    do_seed_demo(workspace=ws, owner=account)
    from townhall.listening import rollups
    from townhall.listening.services import do_seed_demo as seed_listening

    seed_listening(workspace=ws)
    from townhall.publishing.demo import do_seed_demo as seed_publishing

    seed_publishing(workspace=ws, owner=account)
    run = do_import_file(workspace=ws, path=path, fmt="twcs")
    rollups.run()
    click.echo(f"demo workspace '{ws.slug}': {run.imported} items imported ({run.duplicates} already there)")
    click.echo(f"open http://{host}/ and sign in as {username} / {password}")


@main.group()
def enrich() -> None:
    """Understanding items: retrain from corrections, re-run on stored items."""


@enrich.command("retrain")
@click.option("--workspace", "workspace_slug", required=True)
def enrich_retrain(workspace_slug: str) -> None:
    """Learn from the workspace's corrections now (an hourly job does it too)."""
    from townhall.core.errors import TownhallError
    from townhall.enrich.services import do_retrain
    from townhall.workspaces import services

    try:
        ws = services.get_workspace(slug=workspace_slug)
    except TownhallError as exc:
        _fail(exc.message, 2)
    used = do_retrain(workspace=ws)
    services.record_audit(actor=None, action="understanding.retrain", workspace=ws, detail=used, source="cli")
    click.echo(json.dumps({"workspace": ws.slug, "examples": used}))


@enrich.command("run")
@click.option("--workspace", "workspace_slug", required=True)
@click.option("--batch", default=2000, show_default=True)
def enrich_run(workspace_slug: str, batch: int) -> None:
    """Understand every stored item of the workspace again (corrections are kept)."""
    from townhall.core.errors import TownhallError
    from townhall.core.storage import chunked
    from townhall.enrich.services import do_reenrich
    from townhall.items.models import Item
    from townhall.workspaces import services

    try:
        ws = services.get_workspace(slug=workspace_slug)
    except TownhallError as exc:
        _fail(exc.message, 2)
    done = 0
    ids = Item.objects.filter(workspace=ws).order_by("pk").values_list("pk", flat=True).iterator()
    for chunk in chunked(ids, batch):
        done += do_reenrich(workspace=ws, item_ids=chunk)
    click.echo(json.dumps({"workspace": ws.slug, "items": done}))


@main.group("eval")
def evaluate() -> None:
    """Score a model on a labelled file (CSV with text,label columns, or JSONL); last line is JSON."""


def _evaluation(task: str, data: Path, path: str) -> None:
    from townhall.core.errors import TownhallError
    from townhall.enrich import engine, evaluation

    if not engine.available(path):
        _fail(f"the {path} models are not installed", 2)
    try:
        texts, labels = evaluation.read_labelled(data)
    except TownhallError as exc:
        _fail(exc.message, 2)
    click.echo(json.dumps(evaluation.TASKS[task](texts, labels, path=path)))


_PATH_OPTION = click.option(
    "--path", "model_path", type=click.Choice(["fast", "accurate"]), default="accurate"
)


@evaluate.command("sentiment")
@click.option("--data", type=click.Path(path_type=Path), required=True)
@_PATH_OPTION
def eval_sentiment(data: Path, model_path: str) -> None:
    """macro_recall, accuracy and macro_f1 over negative/neutral/positive."""
    _evaluation("sentiment", data, model_path)


@evaluate.command("spam")
@click.option("--data", type=click.Path(path_type=Path), required=True)
@_PATH_OPTION
def eval_spam(data: Path, model_path: str) -> None:
    """f1, precision and recall of spam (labels spam/ham)."""
    _evaluation("spam", data, model_path)


@evaluate.command("toxicity")
@click.option("--data", type=click.Path(path_type=Path), required=True)
@_PATH_OPTION
def eval_toxicity(data: Path, model_path: str) -> None:
    """macro_f1 over hate/offensive/neither."""
    _evaluation("toxicity", data, model_path)


@evaluate.command("language")
@click.option("--data", type=click.Path(path_type=Path), required=True)
def eval_language(data: Path) -> None:
    """accuracy of the ISO 639-1 language code."""
    from townhall.core.errors import TownhallError
    from townhall.enrich import evaluation

    try:
        texts, labels = evaluation.read_labelled(data)
    except TownhallError as exc:
        _fail(exc.message, 2)
    click.echo(json.dumps(evaluation.evaluate_language(texts, labels)))


@evaluate.command("intents")
@click.option("--name", required=True, help="An intent set trained with `townhall intents train`.")
@click.option("--data", type=click.Path(path_type=Path), required=True)
@click.option("--workspace", "workspace_slug", help="The workspace the set belongs to (default: site-wide).")
def eval_intents(name: str, data: Path, workspace_slug: str | None) -> None:
    """accuracy on in-scope rows, and oos_recall when the file has `oos` rows."""
    from townhall.core.errors import TownhallError
    from townhall.enrich import evaluation, intents
    from townhall.workspaces import services

    try:
        ws = services.get_workspace(slug=workspace_slug) if workspace_slug else None
        intent_set = intents.get_intent_set(name=name, workspace=ws)
        texts, labels = evaluation.read_labelled(data, normalise_labels=False)
    except TownhallError as exc:
        _fail(exc.message, 2)
    click.echo(json.dumps(intents.evaluate(intent_set, texts, labels)))


@main.group()
def intents() -> None:
    """A workspace's own intents, learned from labelled examples."""


@intents.command("train")
@click.option("--name", required=True)
@click.option("--data", type=click.Path(path_type=Path), required=True, help="CSV text,label or JSONL.")
@click.option("--workspace", "workspace_slug", help="The workspace the set belongs to (default: site-wide).")
@click.option("--path", "model_path", type=click.Choice(["fast", "accurate"]), help="Default: accurate.")
def intents_train(name: str, data: Path, workspace_slug: str | None, model_path: str | None) -> None:
    """Learn an intent set; rows labelled `oos` teach what is out of scope."""
    from townhall.core.errors import TownhallError
    from townhall.enrich import evaluation, intents
    from townhall.workspaces import services

    try:
        ws = services.get_workspace(slug=workspace_slug) if workspace_slug else None
        texts, labels = evaluation.read_labelled(data, normalise_labels=False)
        trained = intents.do_train_intent_set(
            name=name, texts=texts, labels=labels, workspace=ws, path=model_path
        )
    except TownhallError as exc:
        _fail(exc.message, 2)
    click.echo(
        json.dumps(
            {
                "name": trained.name,
                "intents": len(trained.labels),
                "examples": trained.examples,
                "path": trained.path,
            }
        )
    )


@main.group()
def publish() -> None:
    """Publishing: run the worker that sends scheduled posts."""


@publish.command("run")
@click.option("--once", is_flag=True, help="Send what is due now, then stop.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between looks at the schedule.")
def publish_run(once: bool, interval: float) -> None:
    """Send due posts, each exactly once; one JSON line per round that sent something."""
    _setup_django()
    import time as clock

    from townhall.publishing.approvals import expire_overdue
    from townhall.publishing.publisher import run_due

    while True:
        expired = expire_overdue()
        counts = run_due()
        if counts or expired or once:
            click.echo(json.dumps({"expired_approvals": expired, **counts}))
        if once:
            return
        clock.sleep(interval)


@main.group()
def listen() -> None:
    """Listening: try a query on a text, bring the series and alerts up to date."""


@listen.command("test")
@click.option("--query", "query_text", required=True, help="A listening query (docs/listening-queries.md).")
@click.option(
    "--text-file", type=click.File("r", encoding="utf-8"), required=True, help="The text; - for stdin."
)
@click.option("--author", default="", help="The author's handle, for from:")
@click.option("--lang", default="", help="The text's language, for lang:")
@click.option("--network", default="", help="The network, for network:")
def listen_test(query_text: str, text_file: Any, author: str, lang: str, network: str) -> None:
    """Print {"matches": bool, "terms": [...]}; a query that does not parse exits 2 with its position."""
    from townhall.listening.matcher import ItemView, Matcher
    from townhall.listening.query import QueryError, parse
    from townhall.listening.stage import urls_in

    try:
        node = parse(query_text)
    except QueryError as exc:
        click.echo(json.dumps({"error": f"expected {exc.expected}", "position": exc.position}))
        sys.exit(2)
    text = text_file.read()
    view = ItemView(text=text, author=author, lang=lang, network=network, urls=urls_in(text))
    found = Matcher({0: node}).match(view)
    click.echo(json.dumps({"matches": 0 in found, "terms": found.get(0, [])}, ensure_ascii=False))


@listen.command("run")
def listen_run() -> None:
    """Roll new mentions into the series and judge complete hours for spikes now (a job does it too)."""
    from townhall.listening import alerts, rollups

    taken = rollups.run()
    raised = alerts.run()
    click.echo(json.dumps({"mentions": taken, "alerts": [a.pk for a in raised]}))


@main.command()
@click.option("--network", required=True, help="x, bluesky, mastodon, threads, linkedin, instagram, ...")
@click.option(
    "--text-file", type=click.File("r", encoding="utf-8"), required=True, help="The text; - for stdin."
)
@click.option(
    "--field", default="body", show_default=True, help="youtube: title|description; reddit: title|body."
)
@click.option("--limit", type=int, help="The instance's own limit (Mastodon), instead of the default.")
def validate(network: str, text_file: Any, field: str, limit: int | None) -> None:
    """Print {"length", "limit", "valid", "entities", ...} as the network counts; exit 1 when invalid."""
    from townhall.publishing.networks import validate as check

    try:
        found = check(network, text_file.read(), limit=limit, field=field)
    except ValueError as exc:
        _fail(str(exc), 2)
    click.echo(json.dumps(found.as_dict(), ensure_ascii=False))
    sys.exit(0 if found.valid else 1)
