"""Routing rules end to end: items arrive through the pipeline, rules made through the API act on them.

Understanding fields are set directly on the incoming items (as the enrich stage would), so every scenario
states exactly what the item was read as.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from conftest import ApiClient
from townhall.inbox import tasks
from townhall.inbox.models import Conversation, Delivery, Event, InboxSettings, Notification, RoutingRule
from townhall.items.models import Direction, Item
from townhall.leads.models import Lead
from townhall.people.models import Identity, Person
from townhall.pipeline import IncomingItem, ingest
from townhall.pipeline.records import IncomingAuthor
from townhall.workspaces.models import Workspace

NOW = datetime.now(UTC)


def read_as(
    sentiment: str = "neutral",
    intents: tuple[str, ...] = ("other",),
    *,
    spam: float = 0.01,
    toxicity: str = "none",
    language: str = "en",
) -> dict[str, Any]:
    return {
        "path": "fast",
        "language": language,
        "language_confidence": 0.99,
        "sentiment": sentiment,
        "sentiment_score": -0.8 if sentiment == "negative" else 0.1,
        "sentiment_confidence": 0.9,
        "intents": [{"label": i, "p": 0.9} for i in intents],
        "primary_intent": intents[0],
        "spam_probability": spam,
        "toxicity": toxicity,
        "toxicity_probability": 0.9 if toxicity != "none" else 0.02,
        "entities": {},
    }


class Traffic:
    """Sends items into the workspace as a network would, one at a time."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.n = 0

    def person(
        self,
        handle: str,
        *,
        lifecycle: str = "unknown",
        vip: bool = False,
        followers: int = 10,
        verified: bool = False,
    ) -> Person:
        person = Person.objects.create(
            workspace=self.workspace, display_name=handle, lifecycle=lifecycle, vip=vip
        )
        Identity.objects.create(
            workspace=self.workspace,
            person=person,
            network="twitter",
            native_id=handle,
            handle=handle,
            followers=followers,
            verified=verified,
        )
        return person

    def send(
        self,
        text: str,
        *,
        author: str = "dana",
        read: dict[str, Any] | None = None,
        kind: str = "mention",
        network: str = "twitter",
        minutes_ago: float = 1,
        parent: str = "",
        channel: str = "acme",
    ) -> Conversation:
        self.n += 1
        native = f"t{self.n}"
        ingest(
            self.workspace.pk,
            [
                IncomingItem(
                    network=network,
                    native_id=native,
                    created_at=NOW - timedelta(minutes=minutes_ago),
                    text=text,
                    kind="reply" if parent else kind,
                    author=IncomingAuthor(native_id=author, handle=author),
                    channel_handle=channel,
                    parent_native_id=parent,
                    enrichment=read or read_as(),
                )
            ],
        )
        item = Item.objects.get(workspace=self.workspace, native_id=native)
        return Conversation.objects.get(entries__item=item)


@pytest.fixture
def traffic(workspace: Workspace) -> Traffic:
    return Traffic(workspace)


@pytest.fixture
def teams(workspace: Workspace, owner_api: ApiClient, make_member: Callable[..., Any]) -> dict[str, Any]:
    people = {name: make_member(workspace, "agent", username=name) for name in ("sue", "sam", "sal", "sid")}
    support = owner_api.post(
        "/workspaces/acme/teams",
        {
            "name": "support",
            "members": [{"user": people["sue"].pk}, {"user": people["sam"].pk, "capacity": 1}],
        },
    ).json()
    sales = owner_api.post(
        "/workspaces/acme/teams",
        {"name": "sales", "members": [{"user": people["sal"].pk}, {"user": people["sid"].pk}]},
    ).json()
    return {"support": support["id"], "sales": sales["id"], **people}


def rule(
    api: ApiClient, name: str, conditions: dict[str, Any], actions: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    body = {
        "name": name,
        "events": extra.pop("events", ["item_received"]),
        "conditions": conditions,
        "actions": actions,
        **extra,
    }
    response = api.post("/workspaces/acme/rules", body)
    assert response.status_code == 201, response.content
    return response.json()


def leaf(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


NEGATIVE_COMPLAINT = {"all": [leaf("sentiment", "eq", "negative"), leaf("intents", "has", "complaint")]}


@pytest.fixture
def stage_rules(owner_api: ApiClient, teams: dict[str, Any]) -> None:
    """The traffic director's core: buying stage by disposition by intent."""
    rule(
        owner_api,
        "unhappy customers to support",
        {"all": [NEGATIVE_COMPLAINT, leaf("buying_stage", "eq", "customer")]},
        [
            {"type": "assign_team", "team": teams["support"], "strategy": "round_robin"},
            {"type": "set_priority", "priority": "high"},
        ],
        stop=True,
    )
    rule(
        owner_api,
        "unhappy prospects to sales",
        {"all": [NEGATIVE_COMPLAINT, leaf("buying_stage", "eq", "prospect")]},
        [
            {"type": "assign_team", "team": teams["sales"], "strategy": "least_loaded"},
            {"type": "set_priority", "priority": "medium"},
        ],
        stop=True,
    )


COMPLAINT = "your app deleted my invoices again, this is unacceptable"


def test_a_negative_complaint_from_a_customer_goes_to_support_as_high(
    traffic: Traffic, stage_rules: None, teams: dict[str, Any]
) -> None:
    traffic.person("dana", lifecycle="customer")
    c = traffic.send(COMPLAINT, read=read_as("negative", ("complaint",)))
    assert (c.team_id, c.priority) == (teams["support"], "high")
    assert c.assignee_id in (teams["sue"].pk, teams["sam"].pk)


def test_the_same_text_from_a_prospect_goes_to_sales(
    traffic: Traffic, stage_rules: None, teams: dict[str, Any]
) -> None:
    traffic.person("dana", lifecycle="prospect")
    c = traffic.send(COMPLAINT, read=read_as("negative", ("complaint",)))
    assert (c.team_id, c.priority) == (teams["sales"], "medium")


def test_an_unknown_author_counts_as_a_prospect(
    traffic: Traffic, stage_rules: None, teams: dict[str, Any]
) -> None:
    c = traffic.send(COMPLAINT, author="stranger", read=read_as("negative", ("complaint",)))
    assert c.team_id == teams["sales"]


def test_a_positive_post_from_a_customer_is_left_alone(traffic: Traffic, stage_rules: None) -> None:
    traffic.person("dana", lifecycle="customer")
    c = traffic.send("love the new release", read=read_as("positive", ("praise",)))
    assert (c.team_id, c.priority) == (None, "none")


def test_a_purchase_question_from_a_prospect_creates_a_lead(traffic: Traffic, owner_api: ApiClient) -> None:
    rule(
        owner_api,
        "buying signals",
        {"all": [leaf("intents", "has", "purchase_intent"), leaf("buying_stage", "eq", "prospect")]},
        [{"type": "create_lead"}, {"type": "add_label", "label": "lead"}],
    )
    person = traffic.person("dana", lifecycle="prospect")
    c = traffic.send(
        "how much is the team plan for 20 seats?", read=read_as("neutral", ("question", "purchase_intent"))
    )
    lead = Lead.objects.get(person=person)
    assert lead.stage == "new" and lead.source["conversation"] == c.pk
    person.refresh_from_db()
    assert person.lifecycle == "lead"
    traffic.send("and is there an annual discount?", read=read_as("neutral", ("purchase_intent",)))
    lead.refresh_from_db()
    assert lead.signals == 2  # one lead per person, each signal counted


def test_a_customer_asking_to_buy_more_creates_no_lead(traffic: Traffic, owner_api: ApiClient) -> None:
    rule(
        owner_api,
        "buying signals",
        {"all": [leaf("intents", "has", "purchase_intent"), leaf("buying_stage", "eq", "prospect")]},
        [{"type": "create_lead"}],
    )
    traffic.person("dana", lifecycle="customer")
    traffic.send("can I add seats?", read=read_as("neutral", ("purchase_intent",)))
    assert not Lead.objects.exists()


def test_a_spam_comment_is_hidden_and_marked_no_action(traffic: Traffic, owner_api: ApiClient) -> None:
    rule(
        owner_api,
        "spam",
        {"all": [leaf("spam", "gte", 0.9)]},
        [{"type": "hide"}, {"type": "no_action"}],
        stop=True,
    )
    c = traffic.send("free followers at cheap-likes.example", read=read_as(spam=0.97), kind="comment")
    assert c.no_action and c.status == "resolved"
    hide = Delivery.objects.get(conversation=c, kind="hide")
    assert hide.status == "recorded" and "no connector" in hide.error
    assert Event.objects.filter(conversation=c, kind="moderated").exists()
    listed = owner_api.get("/workspaces/acme/conversations").json()["items"]
    assert c.pk not in [x["id"] for x in listed]  # out of the queue


def test_an_sla_breach_escalates(traffic: Traffic, owner_api: ApiClient, teams: dict[str, Any]) -> None:
    policy = owner_api.post(
        "/workspaces/acme/sla-policies", {"name": "social 1h", "first_response_minutes": 60}
    ).json()
    rule(owner_api, "everyone gets the SLA", {}, [{"type": "apply_sla", "policy": policy["id"]}])
    rule(
        owner_api,
        "breach escalates",
        {},
        [{"type": "escalate", "team": teams["sales"], "priority": "urgent", "note": "first response missed"}],
        events=["sla_breached"],
    )
    c = traffic.send("hello? anyone?", minutes_ago=5)
    assert c.first_response_due == c.first_inbound_at + timedelta(minutes=60)
    assert tasks.tick(NOW)["sla_breached"] == 0
    fired = tasks.tick(NOW + timedelta(minutes=56))
    assert fired["sla_breached"] == 1
    c.refresh_from_db()
    assert (c.team_id, c.priority) == (teams["sales"], "urgent")
    assert c.assignee_id in (teams["sal"].pk, teams["sid"].pk)
    log = [(e.kind, e.text) for e in Event.objects.filter(conversation=c).order_by("id")]
    assert ("escalated", "first response missed") in log
    assert tasks.tick(NOW + timedelta(minutes=57))["sla_breached"] == 0  # once per clock
    assert Notification.objects.filter(user_id=c.assignee_id, text__startswith="Escalated").exists()


def test_an_approaching_sla_warns_before_the_breach(
    traffic: Traffic, owner_api: ApiClient, workspace: Workspace
) -> None:
    policy = owner_api.post(
        "/workspaces/acme/sla-policies", {"name": "fast", "first_response_minutes": 30}
    ).json()
    rule(owner_api, "sla", {}, [{"type": "apply_sla", "policy": policy["id"]}])
    rule(owner_api, "warn", {}, [{"type": "add_label", "label": "sla-risk"}], events=["sla_approaching"])
    c = traffic.send("question", minutes_ago=1)
    assert tasks.tick(NOW + timedelta(minutes=10))["sla_approaching"] == 0
    assert tasks.tick(NOW + timedelta(minutes=20))["sla_approaching"] == 1
    assert [label.name for label in c.labels.all()] == ["sla-risk"]
    at_risk = owner_api.get("/workspaces/acme/conversations", view="sla_at_risk").json()["items"]
    assert at_risk == [] or at_risk[0]["id"] == c.pk


def test_a_rule_that_would_loop_is_stopped(traffic: Traffic, owner_api: ApiClient) -> None:
    rule(
        owner_api,
        "ping",
        {"all": [leaf("labels", "has_none", ["ping"])]},
        [{"type": "add_label", "label": "ping"}, {"type": "remove_label", "label": "pong"}],
        events=["item_received", "conversation_updated"],
    )
    rule(
        owner_api,
        "pong",
        {"all": [leaf("labels", "has", "ping")]},
        [{"type": "remove_label", "label": "ping"}, {"type": "add_label", "label": "pong"}],
        events=["conversation_updated"],
    )
    c = traffic.send("hi")
    stopped = Event.objects.filter(conversation=c, kind="rule_loop_stopped")
    assert stopped.exists()
    assert "would run again" in stopped.first().text  # type: ignore[union-attr]
    assert RoutingRule.objects.get(name="ping").fired <= 2


def test_stop_after_this_rule_skips_later_rules(traffic: Traffic, owner_api: ApiClient) -> None:
    rule(owner_api, "first", {}, [{"type": "add_label", "label": "a"}], stop=True)
    rule(owner_api, "second", {}, [{"type": "add_label", "label": "b"}])
    c = traffic.send("hi")
    assert [label.name for label in c.labels.all()] == ["a"]


def test_a_disabled_rule_does_nothing(traffic: Traffic, owner_api: ApiClient) -> None:
    made = rule(owner_api, "off", {}, [{"type": "add_label", "label": "x"}])
    owner_api.patch(f"/workspaces/acme/rules/{made['id']}", {"enabled": False})
    assert traffic.send("hi").labels.count() == 0


@pytest.mark.parametrize(
    ("condition", "text", "matched"),
    [
        (leaf("text", "contains", ["refund", "chargeback"]), "I want a REFUND now", True),
        (leaf("text", "contains", "refund"), "great product", False),
        (leaf("text", "regex", r"\border\s*#?\d{5,}"), "where is order #123456?", True),
        (leaf("text", "not_contains", "thanks"), "thanks a lot", False),
    ],
)
def test_text_conditions(
    traffic: Traffic, owner_api: ApiClient, condition: dict[str, Any], text: str, matched: bool
) -> None:
    rule(owner_api, "text", condition, [{"type": "add_label", "label": "hit"}])
    assert traffic.send(text).labels.filter(name="hit").exists() is matched


def test_network_channel_and_kind_conditions(traffic: Traffic, owner_api: ApiClient) -> None:
    rule(
        owner_api,
        "dms first",
        {"all": [leaf("kind", "eq", "dm")]},
        [{"type": "set_priority", "priority": "high"}],
    )
    rule(
        owner_api,
        "mastodon",
        {"all": [leaf("network", "eq", "mastodon")]},
        [{"type": "add_label", "label": "fedi"}],
    )
    assert traffic.send("psst", kind="dm").priority == "high"
    fedi = traffic.send("toot", network="mastodon", author="m1")
    assert fedi.labels.filter(name="fedi").exists() and fedi.priority == "none"
    channel = fedi.channel_id
    rule(
        owner_api,
        "that channel",
        {"all": [leaf("channel", "eq", channel)]},
        [{"type": "add_label", "label": "ch"}],
    )
    assert traffic.send("again", network="mastodon", author="m2").labels.filter(name="ch").exists()


def test_language_condition(traffic: Traffic, owner_api: ApiClient) -> None:
    rule(
        owner_api,
        "french desk",
        {"all": [leaf("language", "in", ["fr"])]},
        [{"type": "add_label", "label": "fr"}],
    )
    assert traffic.send("bonjour", read=read_as(language="fr")).labels.filter(name="fr").exists()
    assert not traffic.send("hello", author="x2").labels.exists()


def test_hate_notifies_the_team_in_app(traffic: Traffic, owner_api: ApiClient, teams: dict[str, Any]) -> None:
    rule(
        owner_api,
        "hate",
        {"all": [leaf("toxicity", "eq", "hate")]},
        [
            {
                "type": "notify",
                "via": "in_app",
                "users": [teams["sue"].pk],
                "message": "hate speech in the inbox",
            },
            {"type": "set_priority", "priority": "urgent"},
        ],
    )
    c = traffic.send("...", read=read_as("negative", ("abuse",), toxicity="hate"))
    assert c.priority == "urgent"
    assert Notification.objects.get(user=teams["sue"]).text == "hate speech in the inbox"


def test_influential_and_verified_authors(traffic: Traffic, owner_api: ApiClient) -> None:
    rule(
        owner_api,
        "influencers",
        {"any": [leaf("followers", "gte", 10000), leaf("verified", "is", True)]},
        [{"type": "add_label", "label": "influencer"}],
    )
    traffic.person("big", followers=250_000)
    traffic.person("blue", verified=True)
    traffic.person("small", followers=40)
    assert traffic.send("hi", author="big").labels.filter(name="influencer").exists()
    assert traffic.send("hi", author="blue").labels.filter(name="influencer").exists()
    assert not traffic.send("hi", author="small").labels.exists()


def test_vip_list_goes_first(traffic: Traffic, owner_api: ApiClient) -> None:
    rule(
        owner_api, "vip", {"all": [leaf("vip", "is", True)]}, [{"type": "set_priority", "priority": "urgent"}]
    )
    traffic.person("ceo", vip=True)
    assert traffic.send("call me", author="ceo").priority == "urgent"


def test_repeat_contacts_and_past_satisfaction(traffic: Traffic, owner_api: ApiClient) -> None:
    rule(
        owner_api,
        "repeat",
        {"all": [leaf("open_conversations", "gte", 2)]},
        [{"type": "add_label", "label": "repeat"}],
    )
    rule(
        owner_api,
        "unhappy before",
        {"all": [leaf("past_csat", "lte", 2)]},
        [{"type": "set_priority", "priority": "high"}],
    )
    first = traffic.send("one")
    second = traffic.send("two")
    assert not first.labels.exists() and second.labels.filter(name="repeat").exists()
    first.status, first.csat = "resolved", 1
    first.save()
    assert traffic.send("three").priority == "high"


def test_lead_score_condition(traffic: Traffic, owner_api: ApiClient, workspace: Workspace) -> None:
    rule(
        owner_api,
        "hot leads",
        {"all": [leaf("lead_score", "gte", 50)]},
        [{"type": "add_label", "label": "hot"}],
    )
    person = traffic.person("dana", lifecycle="lead")
    Lead.objects.create(workspace=workspace, person=person, score=72)
    assert traffic.send("ping").labels.filter(name="hot").exists()


def test_auto_acknowledgement_only_where_allowed_and_out_of_hours(
    traffic: Traffic, owner_api: ApiClient, workspace: Workspace
) -> None:
    # Closed all week except a Sunday minute nobody will hit: every test instant is out of hours.
    owner_api.patch("/workspaces/acme/inbox-settings", {"business_hours": {"sun": [["03:00", "03:01"]]}})
    rule(
        owner_api,
        "after hours",
        {"all": [leaf("business_hours", "is", False)]},
        [{"type": "auto_ack", "template": "Hi {{ first_name }}, we're back at 9am and will answer then."}],
    )
    quiet = traffic.send("anyone there?")
    assert Event.objects.get(conversation=quiet, kind="auto_ack_skipped").text.startswith(
        "this workspace does not allow"
    )
    InboxSettings.objects.filter(workspace=workspace).update(auto_ack_allowed=True)
    traffic.person("ron")
    answered = traffic.send("hello?", author="ron")
    reply = Item.objects.get(conversation_entry__conversation=answered, direction=Direction.OUTBOUND)
    assert reply.text == "Hi ron, we're back at 9am and will answer then."
    answered.refresh_from_db()
    assert answered.first_response_at is not None
    old = traffic.send("from an old import", author="old", minutes_ago=60 * 48)
    assert (
        Event.objects.get(conversation=old, kind="auto_ack_skipped").text
        == "the item is history, not live traffic"
    )


def test_round_robin_skips_offline_and_full_agents(
    traffic: Traffic, owner_api: ApiClient, teams: dict[str, Any], api_as: Callable[[Any], ApiClient]
) -> None:
    rule(
        owner_api,
        "support",
        {},
        [{"type": "assign_team", "team": teams["support"], "strategy": "round_robin"}],
    )
    got = [traffic.send(f"q{n}", author=f"a{n}").assignee_id for n in range(3)]
    # sam has capacity 1: after one conversation every new one goes to sue
    assert got == [teams["sue"].pk, teams["sam"].pk, teams["sue"].pk]
    api_as(teams["sue"]).put("/workspaces/acme/availability", {"availability": "offline"})
    assert traffic.send("q4", author="a4").assignee_id is None  # nobody available: left in the team queue


def test_least_loaded_picks_the_agent_with_fewest_open(
    traffic: Traffic, owner_api: ApiClient, teams: dict[str, Any]
) -> None:
    rule(
        owner_api, "sales", {}, [{"type": "assign_team", "team": teams["sales"], "strategy": "least_loaded"}]
    )
    first = traffic.send("a", author="p1")
    second = traffic.send("b", author="p2")
    assert {first.assignee_id, second.assignee_id} == {teams["sal"].pk, teams["sid"].pk}
    owner_api.patch(f"/workspaces/acme/conversations/{first.pk}", {"status": "resolved"})
    assert traffic.send("c", author="p3").assignee_id == first.assignee_id


def test_no_reply_rules_fire_once_per_wait(traffic: Traffic, owner_api: ApiClient) -> None:
    rule(
        owner_api,
        "waiting 30",
        {},
        [{"type": "add_label", "label": "waiting"}],
        events=["no_reply"],
        minutes=30,
    )
    rule(
        owner_api,
        "waiting 120",
        {},
        [{"type": "set_priority", "priority": "high"}],
        events=["no_reply"],
        minutes=120,
    )
    c = traffic.send("hello", minutes_ago=1)
    assert tasks.tick(NOW + timedelta(minutes=10))["no_reply"] == 0
    assert tasks.tick(NOW + timedelta(minutes=40))["no_reply"] == 1
    assert tasks.tick(NOW + timedelta(minutes=50))["no_reply"] == 0
    assert tasks.tick(NOW + timedelta(minutes=130))["no_reply"] == 1
    c.refresh_from_db()
    assert c.priority == "high" and c.labels.filter(name="waiting").exists()


def test_a_customer_replying_after_resolution_reopens_and_triggers_rules(
    traffic: Traffic, owner_api: ApiClient
) -> None:
    rule(
        owner_api,
        "came back",
        {},
        [{"type": "set_priority", "priority": "high"}],
        events=["replied_after_resolution"],
    )
    c = traffic.send("my card was charged twice", minutes_ago=30)
    owner_api.patch(f"/workspaces/acme/conversations/{c.pk}", {"status": "resolved"})
    again = traffic.send("it happened again", minutes_ago=0.5, parent="t1")
    assert again.pk == c.pk
    assert (again.status, again.priority) == ("open", "high")


def test_webhooks_are_sent_live_and_skipped_for_history(traffic: Traffic, owner_api: ApiClient) -> None:
    rule(
        owner_api,
        "tell the CRM",
        {"all": [leaf("intents", "has", "churn_risk")]},
        [
            {
                "type": "notify",
                "via": "webhook",
                "url": "https://crm.example.com/hooks/townhall",
                "message": "churn",
            }
        ],
    )
    live = traffic.send("cancelling my plan", read=read_as("negative", ("churn_risk",)))
    old = traffic.send(
        "cancelling", author="old", read=read_as("negative", ("churn_risk",)), minutes_ago=60 * 72
    )
    assert Delivery.objects.get(conversation=old).status == "skipped"
    delivery = Delivery.objects.get(conversation=live)
    assert delivery.status == "queued"
    seen = []

    def crm(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503) if len(seen) == 1 else httpx.Response(204)

    client = httpx.Client(transport=httpx.MockTransport(crm))
    assert tasks.send_delivery(delivery.pk, client=client).status == "failed"  # type: ignore[union-attr]
    client = httpx.Client(transport=httpx.MockTransport(crm))
    assert tasks.send_delivery(delivery.pk, client=client).status == "sent"  # type: ignore[union-attr]
    body = seen[-1].read()
    assert b'"message": "churn"' in body or b'"message":"churn"' in body


def test_multi_label_intents_match_each_label(traffic: Traffic, owner_api: ApiClient) -> None:
    rule(
        owner_api,
        "churn",
        {"all": [leaf("intents", "has_all", ["complaint", "churn_risk"])]},
        [{"type": "add_label", "label": "save-the-customer"}],
    )
    c = traffic.send(
        "this is broken and I'm switching", read=read_as("negative", ("complaint", "churn_risk"))
    )
    assert c.labels.filter(name="save-the-customer").exists()
    assert (
        owner_api.get("/workspaces/acme/conversations", intent="churn_risk").json()["items"][0]["id"] == c.pk
    )


def test_invalid_rules_are_refused_with_the_place_of_the_mistake(
    owner_api: ApiClient, teams: dict[str, Any]
) -> None:
    bad_op = owner_api.post(
        "/workspaces/acme/rules",
        {
            "name": "x",
            "events": ["item_received"],
            "conditions": {"all": [leaf("sentiment", "gt", "negative")]},
            "actions": [{"type": "no_action"}],
        },
    )
    assert bad_op.status_code == 422 and bad_op.json()["field"] == "conditions.all[0].op"
    other_team = owner_api.post(
        "/workspaces/acme/rules",
        {
            "name": "x",
            "events": ["item_received"],
            "conditions": {},
            "actions": [{"type": "assign_team", "team": 999999, "strategy": "none"}],
        },
    )
    assert other_team.status_code == 422 and other_team.json()["field"] == "actions[0].team"
    assert not RoutingRule.objects.exists()


def test_dry_run_shows_what_a_rule_would_have_done_and_changes_nothing(
    traffic: Traffic, owner_api: ApiClient
) -> None:
    traffic.send("refund please", read=read_as("negative", ("billing_refund",)))
    traffic.send("nice", author="b", read=read_as("positive", ("praise",)))
    result = owner_api.post(
        "/workspaces/acme/rules/dry-run",
        {
            "conditions": {"all": [leaf("sentiment", "eq", "negative")]},
            "actions": [{"type": "set_priority", "priority": "high"}],
            "days": 7,
        },
    ).json()
    assert (result["items"], result["matched"], result["would"]) == (2, 1, ["set_priority"])
    assert result["examples"][0]["text"] == "refund please"
    assert result["description"] == 'sentiment is "negative"' or "sentiment" in result["description"]
    assert not Conversation.objects.filter(priority="high").exists()


def test_rules_can_be_reordered(owner_api: ApiClient) -> None:
    a = rule(owner_api, "a", {}, [{"type": "add_label", "label": "a"}])
    b = rule(owner_api, "b", {}, [{"type": "add_label", "label": "b"}])
    ordered = owner_api.put("/workspaces/acme/rules-order", {"ids": [b["id"], a["id"]]}).json()
    assert [r["name"] for r in ordered] == ["b", "a"]
    assert owner_api.put("/workspaces/acme/rules-order", {"ids": [b["id"]]}).status_code == 422
