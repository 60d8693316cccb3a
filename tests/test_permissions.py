"""Who may do what through the API: every role against every endpoint, outsiders, and revoked tokens."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import ApiClient
from townhall.api import api
from townhall.connectors.models import Channel
from townhall.inbox.models import CannedReply, Conversation, RoutingRule, SlaPolicy, Team
from townhall.items.models import ImportRun, Item
from townhall.listening.models import Alert, ListeningQuery, Topic
from townhall.pipeline import IncomingAuthor, IncomingItem, ingest
from townhall.publishing import approvals, compose
from townhall.publishing.models import ApprovalPolicy, Campaign, Post, QueueSlot, Target
from townhall.webhooks.models import Webhook
from townhall.webhooks.services import do_create as do_create_webhook
from townhall.workspaces import services
from townhall.workspaces.models import Role, Workspace
from townhall.workspaces.permissions import PERMISSIONS, role_allows

ROLES = [r.value for r in Role]


@dataclass
class Endpoint:
    name: str
    method: str
    path: str  # with {slug}, {channel}, {person}, {item}, {run}
    permission: str
    success: int = 200
    body: Any = None
    multipart: bool = False
    tags: set[str] = field(default_factory=set)

    def call(self, api_client: ApiClient, ids: dict[str, Any]) -> Any:
        path = self.path.format(**ids)
        if self.multipart:
            upload = SimpleUploadedFile(
                "one.jsonl", b'{"network": "rss", "id": "u1", "created_at": "2026-01-01T00:00:00Z"}\n'
            )
            return api_client.client.post(f"/api{path}", {"format": "jsonl", "file": upload})
        if self.method in ("post", "put", "patch"):
            body = self.body(ids) if callable(self.body) else self.body
            return getattr(api_client, self.method)(path, body)
        return getattr(api_client, self.method)(path)


@dataclass
class PublishingEndpoint(Endpoint):
    """An endpoint of publishing: its `{channel}` is an account the workspace posts as (not the seeded feed),
    and `prepare` puts the seeded post in the state the endpoint acts on."""

    prepare: Callable[[dict[str, Any]], None] | None = None

    def call(self, api_client: ApiClient, ids: dict[str, Any]) -> Any:
        if self.prepare is not None:
            self.prepare(ids)
        return super().call(api_client, ids | {"channel": ids["own_channel"]})


def in_review_by_every_member(ids: dict[str, Any]) -> None:
    post = Post.objects.get(pk=ids["post"])
    if post.status == "draft":
        approvals.do_submit(post=post, actor=None)
    step = ApprovalPolicy.objects.get(pk=ids["approval_policy"]).steps.get()
    step.approvers.set(ids["workspace"].memberships.values_list("user_id", flat=True))


def outcome_unknown(ids: dict[str, Any]) -> None:
    Target.objects.filter(post_id=ids["post"]).update(state="outcome_unknown")


NEW_ITEM = {"network": "rss", "id": "new-1", "created_at": "2026-01-01T00:00:00Z", "text": "hello"}
ENDPOINTS = [
    Endpoint("workspace.get", "get", "/workspaces/{slug}", "workspace.view"),
    Endpoint("members.list", "get", "/workspaces/{slug}/members", "members.manage"),
    Endpoint(
        "members.set",
        "put",
        "/workspaces/{slug}/members",
        "members.manage",
        body={"username": "zoe", "role": "agent"},
    ),
    Endpoint("audit.list", "get", "/workspaces/{slug}/audit", "audit.view"),
    Endpoint("channels.list", "get", "/workspaces/{slug}/channels", "channels.view"),
    Endpoint(
        "channels.get", "get", "/workspaces/{slug}/channels/{channel}", "channels.view", tags={"object"}
    ),
    Endpoint(
        "channels.create",
        "post",
        "/workspaces/{slug}/channels",
        "channels.manage",
        success=201,
        body={"network": "rss", "handle": "new-blog", "credentials": {"token": "x"}},
    ),
    Endpoint(
        "channels.update",
        "patch",
        "/workspaces/{slug}/channels/{channel}",
        "channels.manage",
        body={"status": "paused"},
        tags={"object"},
    ),
    Endpoint(
        "channels.delete",
        "delete",
        "/workspaces/{slug}/channels/{channel}",
        "channels.manage",
        success=204,
        tags={"object"},
    ),
    Endpoint("connectors.list", "get", "/workspaces/{slug}/connectors", "channels.view"),
    Endpoint(
        "channels.check",
        "post",
        "/workspaces/{slug}/channels/{channel}/check",
        "channels.manage",
        tags={"object"},
    ),
    Endpoint(
        "channels.sync",
        "post",
        "/workspaces/{slug}/channels/{channel}/sync",
        "channels.manage",
        success=202,
        tags={"object"},
    ),
    Endpoint("people.list", "get", "/workspaces/{slug}/people", "people.view"),
    Endpoint("people.get", "get", "/workspaces/{slug}/people/{person}", "people.view", tags={"object"}),
    Endpoint(
        "people.timeline",
        "get",
        "/workspaces/{slug}/people/{person}/timeline",
        "people.view",
        tags={"object"},
    ),
    Endpoint(
        "people.update",
        "patch",
        "/workspaces/{slug}/people/{person}",
        "people.write",
        body={"lifecycle": "lead"},
        tags={"object"},
    ),
    Endpoint("items.list", "get", "/workspaces/{slug}/items", "items.view"),
    Endpoint("items.get", "get", "/workspaces/{slug}/items/{item}", "items.view", tags={"object"}),
    Endpoint("items.thread", "get", "/workspaces/{slug}/items/{item}/thread", "items.view", tags={"object"}),
    Endpoint("items.ingest", "post", "/workspaces/{slug}/items", "items.write", body={"items": [NEW_ITEM]}),
    Endpoint(
        "items.correct",
        "post",
        "/workspaces/{slug}/items/{item}/corrections",
        "items.write",
        body={"field": "sentiment", "labels": ["neutral"]},
        tags={"object"},
    ),
    Endpoint(
        "understanding.retrain", "post", "/workspaces/{slug}/understanding/retrain", "understanding.train"
    ),
    Endpoint("imports.list", "get", "/workspaces/{slug}/imports", "imports.view"),
    Endpoint("imports.get", "get", "/workspaces/{slug}/imports/{run}", "imports.view", tags={"object"}),
    Endpoint(
        "imports.start", "post", "/workspaces/{slug}/imports", "imports.run", success=202, multipart=True
    ),
    *[
        Endpoint(name, method, path, permission, success=success, body=body, tags=tags)
        for name, method, path, permission, success, body, tags in [
            ("conversations.list", "get", "/workspaces/{slug}/conversations", "inbox.view", 200, None, set()),
            (
                "conversations.get",
                "get",
                "/workspaces/{slug}/conversations/{conversation}",
                "inbox.view",
                200,
                None,
                {"object"},
            ),
            (
                "conversations.update",
                "patch",
                "/workspaces/{slug}/conversations/{conversation}",
                "inbox.write",
                200,
                {"priority": "high"},
                {"object"},
            ),
            (
                "conversations.bulk",
                "post",
                "/workspaces/{slug}/conversations/bulk",
                "inbox.write",
                200,
                lambda ids: {"ids": [ids["conversation"]], "priority": "low"},
                {"object"},
            ),
            (
                "conversations.reply",
                "post",
                "/workspaces/{slug}/conversations/{conversation}/replies",
                "inbox.write",
                200,
                {"text": "thanks for writing"},
                {"object"},
            ),
            (
                "conversations.note",
                "post",
                "/workspaces/{slug}/conversations/{conversation}/notes",
                "inbox.write",
                200,
                {"text": "looking"},
                {"object"},
            ),
            (
                "conversations.delegate",
                "post",
                "/workspaces/{slug}/conversations/{conversation}/delegate",
                "inbox.write",
                200,
                lambda ids: {"team": ids["team"], "note": "yours"},
                {"object"},
            ),
            (
                "conversations.merge",
                "post",
                "/workspaces/{slug}/conversations/{conversation}/merge",
                "inbox.write",
                200,
                lambda ids: {"into": ids["conversation2"]},
                {"object"},
            ),
            (
                "conversations.deliveries",
                "get",
                "/workspaces/{slug}/conversations/{conversation}/deliveries",
                "inbox.view",
                200,
                None,
                {"object"},
            ),
            (
                "conversations.canned",
                "get",
                "/workspaces/{slug}/conversations/{conversation}/canned-replies/{canned}",
                "inbox.view",
                200,
                None,
                {"object"},
            ),
            ("notifications.list", "get", "/workspaces/{slug}/notifications", "inbox.view", 200, None, set()),
            (
                "availability.set",
                "put",
                "/workspaces/{slug}/availability",
                "inbox.write",
                200,
                {"availability": "busy"},
                set(),
            ),
            ("teams.list", "get", "/workspaces/{slug}/teams", "inbox.view", 200, None, set()),
            (
                "teams.create",
                "post",
                "/workspaces/{slug}/teams",
                "inbox.manage",
                201,
                {"name": "press"},
                set(),
            ),
            (
                "teams.members",
                "put",
                "/workspaces/{slug}/teams/{team}/members",
                "inbox.manage",
                200,
                [],
                {"object"},
            ),
            ("sla.list", "get", "/workspaces/{slug}/sla-policies", "inbox.view", 200, None, set()),
            (
                "sla.create",
                "post",
                "/workspaces/{slug}/sla-policies",
                "inbox.manage",
                201,
                {"name": "vip", "first_response_minutes": 15},
                set(),
            ),
            (
                "sla.update",
                "put",
                "/workspaces/{slug}/sla-policies/{policy}",
                "inbox.manage",
                200,
                {"name": "standard", "first_response_minutes": 90},
                {"object"},
            ),
            ("rules.list", "get", "/workspaces/{slug}/rules", "inbox.view", 200, None, set()),
            (
                "rules.create",
                "post",
                "/workspaces/{slug}/rules",
                "inbox.manage",
                201,
                {"name": "r", "events": ["item_received"], "actions": [{"type": "add_label", "label": "x"}]},
                set(),
            ),
            (
                "rules.update",
                "patch",
                "/workspaces/{slug}/rules/{rule}",
                "inbox.manage",
                200,
                {"enabled": False},
                {"object"},
            ),
            (
                "rules.delete",
                "delete",
                "/workspaces/{slug}/rules/{rule}",
                "inbox.manage",
                204,
                None,
                {"object"},
            ),
            (
                "rules.order",
                "put",
                "/workspaces/{slug}/rules-order",
                "inbox.manage",
                200,
                lambda ids: {"ids": [ids["rule"]]},
                {"object"},
            ),
            (
                "rules.dry_run",
                "post",
                "/workspaces/{slug}/rules/dry-run",
                "inbox.view",
                200,
                {"days": 3},
                set(),
            ),
            ("canned.list", "get", "/workspaces/{slug}/canned-replies", "inbox.view", 200, None, set()),
            (
                "canned.create",
                "post",
                "/workspaces/{slug}/canned-replies",
                "inbox.manage",
                201,
                {"shortcut": "hi", "title": "Hi", "body": "Hi {{ first_name }}"},
                set(),
            ),
            ("views.list", "get", "/workspaces/{slug}/saved-views", "inbox.view", 200, None, set()),
            (
                "views.create",
                "post",
                "/workspaces/{slug}/saved-views",
                "inbox.view",
                201,
                {"name": "mine", "filters": {"view": "mine"}},
                set(),
            ),
            (
                "inbox_settings.get",
                "get",
                "/workspaces/{slug}/inbox-settings",
                "inbox.view",
                200,
                None,
                set(),
            ),
            (
                "inbox_settings.update",
                "patch",
                "/workspaces/{slug}/inbox-settings",
                "inbox.manage",
                200,
                {"auto_ack_allowed": True},
                set(),
            ),
            ("reports.inbox", "get", "/workspaces/{slug}/reports/inbox", "inbox.view", 200, None, set()),
            (
                "reports.inbox_csv",
                "get",
                "/workspaces/{slug}/reports/inbox.csv",
                "inbox.view",
                200,
                None,
                set(),
            ),
            ("topics.list", "get", "/workspaces/{slug}/listening/topics", "listening.view", 200, None, set()),
            (
                "topics.create",
                "post",
                "/workspaces/{slug}/listening/topics",
                "listening.manage",
                201,
                {"name": "press", "queries": ["launch"]},
                set(),
            ),
            (
                "topics.get",
                "get",
                "/workspaces/{slug}/listening/topics/{topic}",
                "listening.view",
                200,
                None,
                {"object"},
            ),
            (
                "topics.update",
                "patch",
                "/workspaces/{slug}/listening/topics/{topic}",
                "listening.manage",
                200,
                {"description": "ours"},
                {"object"},
            ),
            (
                "topics.delete",
                "delete",
                "/workspaces/{slug}/listening/topics/{topic}",
                "listening.manage",
                204,
                None,
                {"object"},
            ),
            (
                "queries.create",
                "post",
                "/workspaces/{slug}/listening/topics/{topic}/queries",
                "listening.manage",
                201,
                {"text": "launch"},
                {"object"},
            ),
            (
                "queries.get",
                "get",
                "/workspaces/{slug}/listening/queries/{query}",
                "listening.view",
                200,
                None,
                {"object"},
            ),
            (
                "queries.update",
                "patch",
                "/workspaces/{slug}/listening/queries/{query}",
                "listening.manage",
                200,
                {"name": "main"},
                {"object"},
            ),
            (
                "queries.delete",
                "delete",
                "/workspaces/{slug}/listening/queries/{query}",
                "listening.manage",
                204,
                None,
                {"object"},
            ),
            (
                "listening.preview",
                "post",
                "/workspaces/{slug}/listening/preview",
                "listening.view",
                200,
                {"query": "hello"},
                set(),
            ),
            (
                "topics.series",
                "get",
                "/workspaces/{slug}/listening/topics/{topic}/series",
                "listening.view",
                200,
                None,
                {"object"},
            ),
            (
                "topics.mentions",
                "get",
                "/workspaces/{slug}/listening/topics/{topic}/mentions",
                "listening.view",
                200,
                None,
                {"object"},
            ),
            (
                "topics.top_posts",
                "get",
                "/workspaces/{slug}/listening/topics/{topic}/top-posts",
                "listening.view",
                200,
                None,
                {"object"},
            ),
            (
                "topics.top_authors",
                "get",
                "/workspaces/{slug}/listening/topics/{topic}/top-authors",
                "listening.view",
                200,
                None,
                {"object"},
            ),
            (
                "topics.emerging",
                "get",
                "/workspaces/{slug}/listening/topics/{topic}/emerging",
                "listening.view",
                200,
                None,
                {"object"},
            ),
            (
                "listening.share_of_voice",
                "get",
                "/workspaces/{slug}/listening/share-of-voice",
                "listening.view",
                200,
                None,
                set(),
            ),
            (
                "listening.newsjacking",
                "get",
                "/workspaces/{slug}/listening/newsjacking",
                "listening.view",
                200,
                None,
                set(),
            ),
            ("alerts.list", "get", "/workspaces/{slug}/listening/alerts", "listening.view", 200, None, set()),
            (
                "alerts.acknowledge",
                "post",
                "/workspaces/{slug}/listening/alerts/{alert}/acknowledge",
                "listening.manage",
                200,
                {},
                {"object"},
            ),
            ("webhooks.list", "get", "/workspaces/{slug}/webhooks", "webhooks.manage", 200, None, set()),
            (
                "webhooks.create",
                "post",
                "/workspaces/{slug}/webhooks",
                "webhooks.manage",
                201,
                {"url": "https://hooks.example/in"},
                set(),
            ),
            (
                "webhooks.delete",
                "delete",
                "/workspaces/{slug}/webhooks/{webhook}",
                "webhooks.manage",
                204,
                None,
                {"object"},
            ),
            (
                "webhooks.calls",
                "get",
                "/workspaces/{slug}/webhooks/{webhook}/calls",
                "webhooks.manage",
                200,
                None,
                {"object"},
            ),
            (
                "webhooks.ping",
                "post",
                "/workspaces/{slug}/webhooks/{webhook}/ping",
                "webhooks.manage",
                202,
                {},
                {"object"},
            ),
        ]
    ],
    PublishingEndpoint("campaigns.list", "get", "/workspaces/{slug}/publishing/campaigns", "publishing.view"),
    PublishingEndpoint(
        "campaigns.create",
        "post",
        "/workspaces/{slug}/publishing/campaigns",
        "publishing.manage",
        success=201,
        body={"name": "summer"},
    ),
    PublishingEndpoint(
        "campaigns.get",
        "get",
        "/workspaces/{slug}/publishing/campaigns/{campaign}",
        "publishing.view",
        tags={"object"},
    ),
    PublishingEndpoint(
        "campaigns.update",
        "patch",
        "/workspaces/{slug}/publishing/campaigns/{campaign}",
        "publishing.manage",
        body={"description": "spring"},
        tags={"object"},
    ),
    PublishingEndpoint(
        "campaigns.delete",
        "delete",
        "/workspaces/{slug}/publishing/campaigns/{campaign}",
        "publishing.manage",
        success=204,
        tags={"object"},
    ),
    PublishingEndpoint(
        "publishing.preview",
        "post",
        "/workspaces/{slug}/publishing/preview",
        "publishing.view",
        body=lambda ids: {"body": "hello", "channel_ids": [ids["own_channel"]]},
        tags={"object"},
    ),
    PublishingEndpoint("posts.list", "get", "/workspaces/{slug}/publishing/posts", "publishing.view"),
    PublishingEndpoint(
        "posts.create",
        "post",
        "/workspaces/{slug}/publishing/posts",
        "publishing.write",
        success=201,
        body=lambda ids: {"body": "hello", "channel_ids": [ids["own_channel"]]},
        tags={"object"},
    ),
    PublishingEndpoint(
        "posts.get", "get", "/workspaces/{slug}/publishing/posts/{post}", "publishing.view", tags={"object"}
    ),
    PublishingEndpoint(
        "posts.update",
        "patch",
        "/workspaces/{slug}/publishing/posts/{post}",
        "publishing.write",
        body={"title": "spring"},
        tags={"object"},
    ),
    PublishingEndpoint(
        "posts.delete",
        "delete",
        "/workspaces/{slug}/publishing/posts/{post}",
        "publishing.write",
        success=204,
        tags={"object"},
    ),
    PublishingEndpoint(
        "posts.variant",
        "put",
        "/workspaces/{slug}/publishing/posts/{post}/variants/{channel}",
        "publishing.write",
        body={"parts": ["by hand"]},
        tags={"object"},
    ),
    PublishingEndpoint(
        "posts.submit",
        "post",
        "/workspaces/{slug}/publishing/posts/{post}/submit",
        "publishing.write",
        body={},
        tags={"object"},
    ),
    PublishingEndpoint(
        "posts.decide",
        "post",
        "/workspaces/{slug}/publishing/posts/{post}/decisions",
        "publishing.write",
        success=201,
        body={"decision": "approve"},
        tags={"object"},
        prepare=in_review_by_every_member,
    ),
    PublishingEndpoint(
        "posts.history",
        "get",
        "/workspaces/{slug}/publishing/posts/{post}/history",
        "publishing.view",
        tags={"object"},
    ),
    PublishingEndpoint(
        "posts.schedule",
        "post",
        "/workspaces/{slug}/publishing/posts/{post}/schedule",
        "publishing.manage",
        body={"scheduled_at": "2041-01-01T09:00:00Z"},
        tags={"object"},
    ),
    PublishingEndpoint(
        "posts.cancel",
        "post",
        "/workspaces/{slug}/publishing/posts/{post}/cancel",
        "publishing.manage",
        body={},
        tags={"object"},
    ),
    PublishingEndpoint(
        "posts.retry",
        "post",
        "/workspaces/{slug}/publishing/posts/{post}/targets/{channel}/retry",
        "publishing.manage",
        body={},
        tags={"object"},
        prepare=outcome_unknown,
    ),
    PublishingEndpoint(
        "posts.settle",
        "post",
        "/workspaces/{slug}/publishing/posts/{post}/targets/{channel}/settle",
        "publishing.manage",
        body={"published": False},
        tags={"object"},
        prepare=outcome_unknown,
    ),
    PublishingEndpoint(
        "posts.attempts",
        "get",
        "/workspaces/{slug}/publishing/posts/{post}/attempts",
        "publishing.view",
        tags={"object"},
    ),
    PublishingEndpoint(
        "approval_policies.list", "get", "/workspaces/{slug}/publishing/approval-policies", "publishing.view"
    ),
    PublishingEndpoint(
        "approval_policies.create",
        "post",
        "/workspaces/{slug}/publishing/approval-policies",
        "publishing.manage",
        success=201,
        body={"name": "legal", "steps": [{"role": "admin"}]},
    ),
    PublishingEndpoint(
        "approval_policies.update",
        "put",
        "/workspaces/{slug}/publishing/approval-policies/{approval_policy}",
        "publishing.manage",
        body={"name": "review", "steps": [{"role": "admin"}]},
        tags={"object"},
    ),
    PublishingEndpoint(
        "approval_policies.delete",
        "delete",
        "/workspaces/{slug}/publishing/approval-policies/{approval_policy}",
        "publishing.manage",
        success=204,
        tags={"object"},
    ),
    PublishingEndpoint(
        "slots.get",
        "get",
        "/workspaces/{slug}/publishing/channels/{channel}/slots",
        "publishing.view",
        tags={"object"},
    ),
    PublishingEndpoint(
        "slots.set",
        "put",
        "/workspaces/{slug}/publishing/channels/{channel}/slots",
        "publishing.manage",
        body={"slots": [{"weekday": 1, "time": "10:00"}]},
        tags={"object"},
    ),
    PublishingEndpoint(
        "slots.next",
        "get",
        "/workspaces/{slug}/publishing/channels/{channel}/next-slot",
        "publishing.view",
        tags={"object"},
    ),
    PublishingEndpoint(
        "channels.best_times",
        "get",
        "/workspaces/{slug}/publishing/channels/{channel}/best-times",
        "publishing.view",
        tags={"object"},
    ),
    PublishingEndpoint(
        "publishing.calendar", "get", "/workspaces/{slug}/publishing/calendar", "publishing.view"
    ),
    PublishingEndpoint(
        "networks.media", "get", "/workspaces/{slug}/publishing/networks/{network}/media", "publishing.view"
    ),
]
BY_NAME = {e.name: e for e in ENDPOINTS}


def seed(slug: str) -> dict[str, Any]:
    """A workspace with one of everything the endpoints point at; returns the ids for the paths."""
    workspace = services.do_create_workspace(slug=slug)
    when = datetime(2026, 1, 1, tzinfo=UTC)
    ingest(
        workspace.pk,
        [
            IncomingItem(
                network="rss",
                native_id=f"{slug}-1",
                created_at=when,
                text="hello",
                author=IncomingAuthor(native_id=f"{slug}-reader", handle="reader"),
                channel_handle=f"{slug}-blog",
            )
        ],
    )
    item = Item.objects.get(workspace=workspace)
    run = ImportRun.objects.create(workspace=workspace, format="twcs", filename="old.csv", status="done")
    ingest(
        workspace.pk,
        [
            IncomingItem(
                network="rss", native_id=f"{slug}-2", created_at=when, text="another", kind="comment",
                author=IncomingAuthor(native_id=f"{slug}-other", handle="other"),
                channel_handle=f"{slug}-blog",
            )
        ],
    )  # fmt: skip
    first, second = Conversation.objects.filter(workspace=workspace).order_by("pk")
    team = Team.objects.create(workspace=workspace, name="support")
    policy = SlaPolicy.objects.create(workspace=workspace, name="standard", first_response_minutes=60)
    rule = RoutingRule.objects.create(
        workspace=workspace,
        name="label",
        events=["item_received"],
        actions=[{"type": "add_label", "label": "x"}],
    )
    canned = CannedReply.objects.create(
        workspace=workspace, shortcut="thanks", title="Thanks", body="Thanks!"
    )
    topic = Topic.objects.create(workspace=workspace, name="brand")
    query = ListeningQuery.objects.create(workspace=workspace, topic=topic, text="hello")
    alert = Alert.objects.create(
        workspace=workspace,
        topic=topic,
        kind="volume",
        window_start=when,
        window_end=when + timedelta(hours=1),
        observed=40,
        expected=4,
        z=9,
    )
    webhook, _ = do_create_webhook(workspace=workspace, url="https://hooks.example/in", events=[])
    own = Channel.objects.create(workspace=workspace, network="bluesky", handle=f"{slug}.bsky.social")
    QueueSlot.objects.create(channel=own, weekday=0, time=time(9))
    campaign = Campaign.objects.create(workspace=workspace, name="launch")
    approval_policy = approvals.do_save_policy(
        workspace=workspace,
        name="review",
        steps=[approvals.StepIn("Review", role="manager")],
        is_default=True,
    )
    post = compose.do_create_post(
        workspace=workspace, author=None, body="Spring is here", channel_ids=[own.pk]
    )
    return {
        "conversation": first.pk,
        "conversation2": second.pk,
        "team": team.pk,
        "policy": policy.pk,
        "rule": rule.pk,
        "canned": canned.pk,
        "topic": topic.pk,
        "query": query.pk,
        "alert": alert.pk,
        "webhook": webhook.pk,
        "own_channel": own.pk,
        "campaign": campaign.pk,
        "approval_policy": approval_policy.pk,
        "post": post.pk,
        "network": "mastodon",
        "slug": slug,
        "channel": Channel.objects.get(workspace=workspace, network="rss").pk,
        "person": item.person_id,
        "item": item.pk,
        "run": run.pk,
        "workspace": workspace,
    }


@pytest.fixture
def acme(db: None) -> dict[str, Any]:
    services.do_create_user(username="zoe", password="a-long-test-password")
    return seed("acme")


@pytest.fixture
def globex(db: None) -> dict[str, Any]:
    return seed("globex")


@pytest.fixture
def member(make_member: Callable[..., Any], api_as: Callable[[Any], ApiClient]) -> Callable[..., ApiClient]:
    def make(workspace: Workspace, role: str) -> ApiClient:
        return api_as(make_member(workspace, role))

    return make


# --- the table itself ---------------------------------------------------------------------------------------


def test_the_table_covers_every_workspace_endpoint_of_the_api() -> None:
    schema = api.get_openapi_schema()
    operations = {
        (method, re.sub(r"\{(\w+)_id\}", r"{\1}", path.removeprefix("/api")))
        for path, methods in schema["paths"].items()
        for method in methods
        if path.startswith("/api/workspaces/")
    }
    table = {(e.method, e.path) for e in ENDPOINTS}
    assert operations == table, "add new endpoints to ENDPOINTS with the permission they need"
    assert {e.permission for e in ENDPOINTS} == set(PERMISSIONS) - {"workspace.manage"}


def test_the_roles_are_what_the_product_promises() -> None:
    def allowed(role: str) -> set[str]:
        return {p for p in PERMISSIONS if role_allows(role, p)}

    assert allowed("requester") == {"workspace.view"}
    assert allowed("analyst") == {
        "workspace.view",
        "channels.view",
        "items.view",
        "people.view",
        "imports.view",
        "inbox.view",
        "listening.view",
        "publishing.view",
    }
    agent = allowed("agent")
    assert {"items.write", "people.write"} <= agent
    assert not agent & {"channels.manage", "imports.run", "members.manage", "audit.view"}
    assert {"channels.manage", "imports.run"} <= allowed("manager")
    assert "members.manage" not in allowed("manager")
    assert allowed("owner") == allowed("admin") == set(PERMISSIONS)
    assert not role_allows("owner", "no.such.permission")


# --- every role against every endpoint in its own workspace ------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_role_against_endpoint_in_own_workspace(
    acme: dict[str, Any], member: Callable[..., ApiClient], role: str, endpoint: Endpoint
) -> None:
    client = member(acme["workspace"], role)
    response = endpoint.call(client, acme)
    if role_allows(role, endpoint.permission):
        assert response.status_code == endpoint.success, response.content
    else:
        assert response.status_code == 403, response.content
        body = response.json()
        assert role in body["detail"] and endpoint.permission in body["detail"]


WRITES = [e for e in ENDPOINTS if e.method != "get"]


@pytest.mark.parametrize("role", [r for r in ROLES if any(not role_allows(r, e.permission) for e in WRITES)])
def test_refused_writes_change_nothing(
    acme: dict[str, Any], member: Callable[..., ApiClient], role: str
) -> None:
    client = member(acme["workspace"], role)
    refused = [e for e in WRITES if not role_allows(role, e.permission)]
    for endpoint in refused:
        assert endpoint.call(client, acme).status_code == 403
    workspace = acme["workspace"]
    assert Channel.objects.filter(workspace=workspace).count() == 2
    assert Channel.objects.get(pk=acme["channel"]).status == "active"
    assert Item.objects.filter(workspace=workspace).count() == 2
    assert not Team.objects.filter(workspace=workspace, name="press").exists()
    assert RoutingRule.objects.get(workspace=workspace).enabled
    assert Conversation.objects.filter(workspace=workspace, priority="none", merged_into=None).count() == 2
    assert not ImportRun.objects.filter(workspace=workspace, filename="one.jsonl").exists()
    assert workspace.memberships.filter(user__username="zoe").count() == 0
    assert workspace.people.get(pk=acme["person"]).lifecycle == "unknown"
    assert Topic.objects.filter(workspace=workspace).count() == 1
    assert ListeningQuery.objects.get(pk=acme["query"]).name == ""
    assert Webhook.objects.filter(workspace=workspace).count() == 1
    assert (
        Post.objects.filter(workspace=workspace).count() == 1
        and Post.objects.get(pk=acme["post"]).title == ""
    )
    assert Campaign.objects.get(workspace=workspace).description == ""
    assert ApprovalPolicy.objects.get(workspace=workspace).steps.get().role == "manager"
    assert QueueSlot.objects.filter(channel_id=acme["own_channel"]).count() == 1


# --- outsiders learn nothing -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["requester", "owner"])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_another_workspace_is_404_whatever_the_role(
    acme: dict[str, Any],
    globex: dict[str, Any],
    member: Callable[..., ApiClient],
    role: str,
    endpoint: Endpoint,
) -> None:
    client = member(acme["workspace"], role)
    response = endpoint.call(client, globex)
    assert response.status_code == 404, response.content
    assert response.json()["detail"] == "workspace 'globex' does not exist"
    # exactly what a workspace that does not exist answers
    missing = endpoint.call(client, globex | {"slug": "no-such-place"})
    assert missing.status_code == 404


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if "object" in e.tags], ids=lambda e: e.name)
def test_another_workspaces_objects_are_404_through_my_own_workspace(
    acme: dict[str, Any], globex: dict[str, Any], member: Callable[..., ApiClient], endpoint: Endpoint
) -> None:
    client = member(acme["workspace"], "owner")
    theirs = globex | {"slug": "acme"}
    response = endpoint.call(client, theirs)
    assert response.status_code == 404, response.content
    assert "does not exist in this workspace" in response.json()["detail"]


def test_listings_never_include_another_workspaces_rows(
    acme: dict[str, Any], globex: dict[str, Any], member: Callable[..., ApiClient]
) -> None:
    client = member(acme["workspace"], "owner")
    assert [w["slug"] for w in client.get("/workspaces").json()] == ["acme"]
    channels = {c["id"] for c in client.get("/workspaces/acme/channels").json()}
    assert channels == {acme["channel"], acme["own_channel"]}
    assert [p["id"] for p in client.get("/workspaces/acme/publishing/posts").json()["items"]] == [
        acme["post"]
    ]
    people = {p["id"] for p in client.get("/workspaces/acme/people").json()["items"]}
    assert acme["person"] in people and globex["person"] not in people
    assert people == set(acme["workspace"].people.values_list("pk", flat=True))
    items = {i["id"] for i in client.get("/workspaces/acme/items").json()["items"]}
    assert acme["item"] in items and globex["item"] not in items and len(items) == 2
    conversations = {c["id"] for c in client.get("/workspaces/acme/conversations").json()["items"]}
    assert conversations == {acme["conversation"], acme["conversation2"]}
    assert [r["id"] for r in client.get("/workspaces/acme/imports").json()] == [acme["run"]]
    filtered = client.get("/workspaces/acme/items", channel=globex["channel"], person=globex["person"])
    assert filtered.json()["items"] == []


# --- tokens -------------------------------------------------------------------------------------------------


def test_a_revoked_token_stops_working(acme: dict[str, Any], make_member: Callable[..., Any]) -> None:
    user = make_member(acme["workspace"], "owner")
    record, token = services.do_create_token(user=user, name="laptop")
    _, other = services.do_create_token(user=user, name="phone")
    assert ApiClient(token).get("/workspaces/acme").status_code == 200
    services.do_revoke_token(user=user, token_id=record.pk)
    refused = ApiClient(token).get("/workspaces/acme")
    assert refused.status_code == 401
    assert set(refused.json()) == {"detail", "field"}
    assert ApiClient(other).get("/workspaces/acme").status_code == 200, "other tokens keep working"


def test_a_deactivated_users_token_stops_working(
    acme: dict[str, Any], make_member: Callable[..., Any]
) -> None:
    user = make_member(acme["workspace"], "owner")
    _, token = services.do_create_token(user=user, name="laptop")
    user.is_active = False
    user.save()
    assert ApiClient(token).get("/workspaces/acme").status_code == 401


def test_a_removed_member_is_an_outsider(acme: dict[str, Any], make_member: Callable[..., Any]) -> None:
    user = make_member(acme["workspace"], "agent")
    _, token = services.do_create_token(user=user, name="laptop")
    acme["workspace"].memberships.filter(user=user).delete()
    assert ApiClient(token).get("/workspaces/acme/items").status_code == 404
