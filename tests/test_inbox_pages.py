"""The inbox pages as agents and managers see them: the list, a conversation, the set-up and the report."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from townhall.enrich.models import Enrichment
from townhall.inbox import config
from townhall.inbox.models import CannedReply, Conversation, Notification, RoutingRule, SavedView, Team
from townhall.items.models import Direction, Item
from townhall.leads.models import Lead
from townhall.people.models import Person
from townhall.pipeline import IncomingItem, ingest
from townhall.pipeline.records import IncomingAuthor
from townhall.workspaces import services
from townhall.workspaces.models import Workspace

Member = Callable[..., Any]


def _tweet(native: str, text: str, *, author: str, minutes_ago: int = 30, parent: str = "") -> IncomingItem:
    return IncomingItem(
        network="twitter",
        native_id=native,
        created_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
        text=text,
        kind="reply" if parent else "mention",
        direction="inbound",
        author=IncomingAuthor(native_id=author, handle=author, display_name=f"Dana {author}", followers=1200),
        channel_handle="acme",
        parent_native_id=parent,
    )


def _conversation(
    workspace: Workspace, native: str, text: str, *, author: str, **understood: Any
) -> Conversation:
    """A conversation from one inbound tweet; `understood` is what the understanding stage would have read."""
    ingest(workspace.pk, [_tweet(native, text, author=author)])
    item = Item.objects.get(workspace=workspace, native_id=native)
    conversation = Conversation.objects.get(entries__item=item)
    lifecycle = understood.pop("lifecycle", None)
    if lifecycle:
        Person.objects.filter(pk=conversation.person_id).update(lifecycle=lifecycle)
    if understood:
        intent = understood.get("intent", "")
        Conversation.objects.filter(pk=conversation.pk).update(
            sentiment=understood.get("sentiment", ""),
            primary_intent=intent,
            intent_tags=f",{intent}," if intent else "",
        )
        Enrichment.objects.create(
            item=item, workspace=workspace, path="fast", sentiment=understood.get("sentiment", "unknown"),
            intents=[{"label": intent, "p": 0.9}] if intent else [], primary_intent=intent or "other",
        )  # fmt: skip
    conversation.refresh_from_db()
    return conversation


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def agent(workspace: Workspace, make_member: Member) -> Any:
    return make_member(workspace, "agent", username="ana")


@pytest.fixture
def angry(workspace: Workspace) -> Conversation:
    return _conversation(
        workspace, "1", "@acme my parcel is late AGAIN", author="cust1",
        sentiment="negative", intent="complaint", lifecycle="customer",
    )  # fmt: skip


@pytest.fixture
def curious(workspace: Workspace) -> Conversation:
    return _conversation(
        workspace, "2", "@acme do you ship to Norway?", author="cust2", sentiment="neutral", intent="question"
    )


def test_the_list_shows_views_filters_and_what_each_conversation_needs(
    workspace: Workspace, agent: Any, angry: Conversation, curious: Conversation
) -> None:
    page = signed_in(agent).get("/w/acme/inbox/")
    assert page.status_code == 200
    body = page.content.decode()
    for view in ("Mine", "Unassigned", "My teams", "SLA at risk", "All open"):
        assert f">{view}<" in body
    assert body.count('class="conversation-row"') == 2
    assert "@acme my parcel is late AGAIN" in body
    assert "Dana cust1" in body and 'class="badge stage customer"' in body
    assert '<span class="chip sentiment negative">negative</span>' in body
    assert '<span class="chip intent">Complaint</span>' in body
    assert "waiting 30 min" in body
    assert 'id="bulk-form"' in body and 'name="ids"' in body
    assert "Save this view" in body
    assert 'class="active" aria-current="page">Inbox</a>' in body
    assert "townhall/inbox.js" in body and 'id="shortcut-help"' in body


def test_filters_narrow_the_list_and_htmx_gets_the_results_only(
    workspace: Workspace, agent: Any, angry: Conversation, curious: Conversation
) -> None:
    client = signed_in(agent)
    only_negative = client.get("/w/acme/inbox/", {"sentiment": "negative", "buying_stage": "customer"})
    assert [row.conversation.pk for row in only_negative.context["rows"]] == [angry.pk]
    fragment = client.get("/w/acme/inbox/", {"intent": "question"}, HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert body.lstrip().startswith('<div id="results"') and "<html" not in body
    assert "do you ship to Norway?" in body and "parcel is late" not in body
    prospects = client.get("/w/acme/inbox/", {"buying_stage": "prospect"})
    assert [row.conversation.pk for row in prospects.context["rows"]] == [curious.pk]


def test_a_saved_view_lists_only_its_conversations(
    workspace: Workspace, agent: Any, angry: Conversation, curious: Conversation
) -> None:
    view = config.do_save_view(
        workspace=workspace, owner=agent, name="Negative complaints from customers", shared=True,
        filters={"sentiment": "negative", "intent": "complaint", "buying_stage": "customer"},
    )  # fmt: skip
    client = signed_in(agent)
    listed = client.get("/w/acme/inbox/")
    assert "Negative complaints from customers" in listed.content.decode()
    page = client.get("/w/acme/inbox/", {"saved": view.pk})
    assert [row.conversation.pk for row in page.context["rows"]] == [angry.pk]
    assert (
        '<h2 class="view-title" id="view-title">Negative complaints from customers</h2>'
        in page.content.decode()
    )
    assert client.get("/w/acme/inbox/", {"saved": 999999}).status_code == 404


def test_saving_the_current_filters_as_a_view(workspace: Workspace, agent: Any, angry: Conversation) -> None:
    response = signed_in(agent).post(
        "/w/acme/inbox/views/",
        {"name": "Sad customers", "shared": "on", "sentiment": "negative", "buying_stage": "customer",
         "status": "open", "view": "all", "intent": ""},
    )  # fmt: skip
    view = SavedView.objects.get(name="Sad customers")
    assert view.filters == {"sentiment": "negative", "buying_stage": "customer"} and view.shared
    assert response.status_code == 302 and response["Location"].endswith(f"?saved={view.pk}")


def test_load_more_continues_the_list(
    workspace: Workspace, agent: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from townhall.inbox import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for n in range(3):
        _conversation(workspace, f"m{n}", f"@acme question {n}", author=f"c{n}")
    client = signed_in(agent)
    first = client.get("/w/acme/inbox/")
    assert "Showing 2 conversations" in first.content.decode() and "Load more" in first.content.decode()
    more = client.get(
        "/w/acme/inbox/", {"cursor": first.context["page"].next_cursor, "shown": 2}, HTTP_HX_REQUEST="true"
    )
    body = more.content.decode()
    assert body.lstrip().startswith("<tr") and body.count('class="conversation-row"') == 1
    assert "Showing 3 conversations" in body and "end of results" in body


def test_the_conversation_page_shows_thread_person_and_log(
    workspace: Workspace, agent: Any, angry: Conversation
) -> None:
    ingest(
        workspace.pk, [_tweet("1b", "@acme and nobody answers", author="cust1", minutes_ago=20, parent="1")]
    )
    older = _conversation(workspace, "0", "@acme where is my refund", author="cust1")
    Lead.objects.create(workspace=workspace, person_id=angry.person_id, stage="qualified", score=42)
    response = signed_in(agent).get(f"/w/acme/inbox/{angry.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    thread = [m["item"].text for m in response.context["items"]]
    assert thread == ["@acme my parcel is late AGAIN", "@acme and nobody answers"]
    assert '<span class="chip sentiment negative"' in body
    assert "Dana cust1" in body and "@cust1" in body and "1,200 followers" in body
    assert 'title="Buying stage">customer</span>' in body
    assert "1 negative" in body  # lifetime sentiment of their items
    assert "Qualified" in body  # their lead
    assert f"/w/acme/inbox/{older.pk}/" in body  # their other conversation
    assert f"/w/acme/people/{angry.person_id}/" in body
    assert "started the conversation" in body
    for form in (
        'id="reply-form"',
        'id="note-form"',
        'id="delegate-form"',
        'id="resolve-form"',
        'id="merge-form"',
    ):
        assert form in body
    assert body.count("csrfmiddlewaretoken") >= 6
    assert "0 / 280" in body


def test_replying_through_the_page_shows_the_reply_in_the_thread(
    workspace: Workspace, agent: Any, angry: Conversation
) -> None:
    client = signed_in(agent)
    response = client.post(f"/w/acme/inbox/{angry.pk}/reply/", {"text": "@cust1 so sorry, checking now"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "@cust1 so sorry, checking now" in page and "Our reply" in page and "sent by ana" in page
    angry.refresh_from_db()
    assert angry.first_response_at is not None and angry.assignee == agent
    swapped = client.post(f"/w/acme/inbox/{angry.pk}/reply/", {"text": "found it"}, HTTP_HX_REQUEST="true")
    assert swapped.status_code == 200
    assert (
        swapped.content.decode().startswith('<div id="conversation"')
        and "found it" in swapped.content.decode()
    )


def test_a_reply_the_network_refuses_shows_why_and_keeps_the_text(
    workspace: Workspace, agent: Any, angry: Conversation
) -> None:
    client = signed_in(agent)
    response = client.post(f"/w/acme/inbox/{angry.pk}/reply/", {"text": "x" * 281}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    body = response.content.decode()
    assert "281 characters as twitter counts them; the limit is 280" in body
    assert "x" * 281 in body and "281 / 280" in body
    assert not Item.objects.filter(direction=Direction.OUTBOUND).exists()
    empty = client.post(f"/w/acme/inbox/{angry.pk}/reply/", {"text": "   "})
    assert empty.status_code == 422 and "a reply needs some text" in empty.content.decode()


def test_reply_length_and_canned_replies_for_the_composer(
    workspace: Workspace, agent: Any, angry: Conversation
) -> None:
    canned = CannedReply.objects.create(
        workspace=workspace,
        shortcut="sorry",
        title="Apology",
        body="Hi {{ first_name }}, {{ agent_name }} here.",
    )
    client = signed_in(agent)
    length = client.post(f"/w/acme/inbox/{angry.pk}/reply/length/", {"text": "hello https://example.com/x"})
    assert length.content.decode().strip().endswith(">29 / 280</span>")
    page = client.get(f"/w/acme/inbox/{angry.pk}/").content.decode()
    assert "Apology (/sorry)" in page
    rendered = client.get(f"/w/acme/inbox/{angry.pk}/canned/{canned.pk}/").json()
    assert rendered["text"] == "Hi Dana, ana here."


def test_notes_mention_and_delegating_hands_off_with_a_note(
    workspace: Workspace, agent: Any, make_member: Member, angry: Conversation
) -> None:
    bo = make_member(workspace, "agent", username="bo")
    sales = config.do_create_team(workspace=workspace, name="sales")
    config.do_set_team_members(team=sales, members=[(bo.pk, 0)])
    client = signed_in(agent)
    noted = client.post(f"/w/acme/inbox/{angry.pk}/note/", {"text": "@bo this one wants a discount"})
    assert noted.status_code == 302
    assert Notification.objects.filter(user=bo, conversation=angry).count() == 1
    delegated = client.post(
        f"/w/acme/inbox/{angry.pk}/delegate/", {"team": sales.pk, "assignee": "", "note": "wants a quote"}
    )
    assert delegated.status_code == 302
    page = client.get(f"/w/acme/inbox/{angry.pk}/").content.decode()
    assert "handed the conversation to team sales · bo" in page
    assert "wants a quote" in page and "this one wants a discount" in page
    assert '<strong id="conversation-team">sales</strong>' in page
    nobody = client.post(f"/w/acme/inbox/{angry.pk}/delegate/", {"team": "", "assignee": "", "note": "?"})
    assert nobody.status_code == 422 and "delegate to a team or a person" in nobody.content.decode()


def test_status_priority_labels_and_csat_through_the_controls(
    workspace: Workspace, agent: Any, angry: Conversation
) -> None:
    client = signed_in(agent)
    url = f"/w/acme/inbox/{angry.pk}/update/"
    early = client.post(url, {"csat": "4"})
    assert early.status_code == 422 and "taken once the conversation is resolved" in early.content.decode()
    assert (
        client.post(url, {"priority": "urgent", "status": "open", "assignee": "", "team": ""}).status_code
        == 302
    )
    assert client.post(url, {"add_label": "shipping"}).status_code == 302
    snooze = client.post(url, {"status": "snoozed"})
    assert (
        snooze.status_code == 422 and "snoozing needs snoozed_until in the future" in snooze.content.decode()
    )
    assert client.post(url, {"status": "resolved"}).status_code == 302
    assert client.post(url, {"csat": "4"}).status_code == 302
    angry.refresh_from_db()
    assert (angry.status, angry.priority, angry.csat) == ("resolved", "urgent", 4)
    assert [label.name for label in angry.labels.all()] == ["shipping"]
    page = client.get(f"/w/acme/inbox/{angry.pk}/").content.decode()
    assert 'id="conversation-status">Resolved</span>' in page and 'id="reopen-form"' in page
    kinds = [e.kind for e in angry.events.all()]
    assert kinds.count("priority") == 1 and "csat" in kinds  # unchanged fields are not logged
    client.post(url, {"remove_label": "shipping"})
    assert not angry.labels.exists()


def test_bulk_actions_change_every_ticked_conversation(
    workspace: Workspace, agent: Any, angry: Conversation, curious: Conversation
) -> None:
    client = signed_in(agent)
    ids = [angry.pk, curious.pk]
    response = client.post(
        "/w/acme/inbox/bulk/",
        {"ids": ids, "action": "priority", "priority": "high", "next": "/w/acme/inbox/?view=all"},
    )
    assert response.status_code == 302 and response["Location"] == "/w/acme/inbox/?view=all"
    assert set(Conversation.objects.filter(pk__in=ids).values_list("priority", flat=True)) == {"high"}
    client.post("/w/acme/inbox/bulk/", {"ids": ids, "action": "assign_me"})
    client.post("/w/acme/inbox/bulk/", {"ids": [angry.pk], "action": "label", "label": "late"})
    client.post("/w/acme/inbox/bulk/", {"ids": [curious.pk], "action": "resolve"})
    angry.refresh_from_db()
    curious.refresh_from_db()
    assert angry.assignee == agent and curious.assignee == agent
    assert [label.name for label in angry.labels.all()] == ["late"] and curious.status == "resolved"
    mine = client.get("/w/acme/inbox/", {"view": "mine"})
    assert [row.conversation.pk for row in mine.context["rows"]] == [angry.pk]
    nothing = client.post("/w/acme/inbox/bulk/", {"action": "resolve"}, follow=True)
    assert "Tick at least one conversation first." in nothing.content.decode()
    missing = client.post("/w/acme/inbox/bulk/", {"ids": [999999], "action": "resolve"}, follow=True)
    assert "conversation 999999 does not exist in this workspace" in missing.content.decode()


def test_merging_goes_to_the_target_and_a_bad_target_is_explained(
    workspace: Workspace, agent: Any, angry: Conversation, curious: Conversation
) -> None:
    client = signed_in(agent)
    bad = client.post(f"/w/acme/inbox/{angry.pk}/merge/", {"into": 999999})
    assert bad.status_code == 422
    assert "conversation 999999 does not exist in this workspace" in bad.content.decode()
    merged = client.post(f"/w/acme/inbox/{angry.pk}/merge/", {"into": curious.pk})
    assert merged.status_code == 302 and merged["Location"] == f"/w/acme/inbox/{curious.pk}/"
    assert "parcel is late AGAIN" in client.get(merged["Location"]).content.decode()
    old = client.get(f"/w/acme/inbox/{angry.pk}/").content.decode()
    assert "This conversation was merged into" in old and 'id="reply-form"' not in old


def test_managers_pages_render_and_agents_are_refused(
    workspace: Workspace, agent: Any, make_member: Member, angry: Conversation
) -> None:
    manager = signed_in(make_member(workspace, "manager"))
    for url, text in (
        ("/w/acme/inbox/rules/", "New rule"),
        ("/w/acme/inbox/teams/", "New team"),
        ("/w/acme/inbox/canned/", "New canned reply"),
        ("/w/acme/inbox/report/", "Inbox report"),
    ):
        response = manager.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode()
    client = signed_in(agent)
    for url in ("/w/acme/inbox/rules/", "/w/acme/inbox/teams/", "/w/acme/inbox/canned/"):
        assert client.get(url).status_code == 403, url
    assert client.post("/w/acme/inbox/rules/new/", {"name": "x"}).status_code == 403
    assert client.get("/w/acme/inbox/report/").status_code == 200
    assert "/w/acme/inbox/rules/" not in client.get("/w/acme/inbox/").content.decode()


def test_an_analyst_reads_but_cannot_act(
    workspace: Workspace, make_member: Member, angry: Conversation
) -> None:
    client = signed_in(make_member(workspace, "analyst"))
    page = client.get(f"/w/acme/inbox/{angry.pk}/").content.decode()
    assert "parcel is late" in page and 'id="reply-form"' not in page
    assert client.post(f"/w/acme/inbox/{angry.pk}/reply/", {"text": "hi"}).status_code == 403


def test_an_outsider_gets_404_everywhere(
    workspace: Workspace, make_member: Member, angry: Conversation
) -> None:
    other = services.do_create_workspace(slug="globex", name="Globex")
    client = signed_in(make_member(other, "owner"))
    for url in (
        "/w/acme/inbox/", f"/w/acme/inbox/{angry.pk}/", "/w/acme/inbox/rules/", "/w/acme/inbox/teams/",
        "/w/acme/inbox/canned/", "/w/acme/inbox/report/", "/w/acme/inbox/report.csv",
    ):  # fmt: skip
        assert client.get(url).status_code == 404, url
    assert client.post(f"/w/acme/inbox/{angry.pk}/reply/", {"text": "hi"}).status_code == 404
    assert client.get(f"/w/globex/inbox/{angry.pk}/").status_code == 404  # their own workspace: not theirs


def test_a_bad_rule_shows_the_error_with_its_path_and_stores_nothing(
    workspace: Workspace, make_member: Member
) -> None:
    client = signed_in(make_member(workspace, "manager"))
    not_json = client.post(
        "/w/acme/inbox/rules/new/",
        {"name": "VIP", "events": ["item_received"], "conditions": "{field: 1}", "actions": "[]"},
    )
    assert not_json.status_code == 422
    assert "conditions is not valid JSON" in not_json.content.decode()
    wrong = client.post(
        "/w/acme/inbox/rules/new/",
        {
            "name": "Angry first",
            "events": ["item_received"],
            "conditions": '{"all": [{"field": "sentiment", "op": "gt", "value": "negative"}]}',
            "actions": '[{"type": "set_priority", "priority": "high"}]',
        },
    )
    assert wrong.status_code == 422
    body = wrong.content.decode()
    assert "conditions.all[0].op: op for choice field sentiment must be one of eq, ne, in, not_in" in body
    assert "Angry first" in body  # the form keeps what was typed
    no_actions = client.post(
        "/w/acme/inbox/rules/new/",
        {"name": "x", "events": ["item_received"], "conditions": "{}", "actions": '[{"type": "explode"}]'},
    )
    assert "actions[0].type: action type must be one of" in no_actions.content.decode()
    assert not RoutingRule.objects.exists()


def test_a_rule_is_created_listed_toggled_and_dry_run(
    workspace: Workspace, make_member: Member, angry: Conversation, curious: Conversation
) -> None:
    client = signed_in(make_member(workspace, "manager"))
    rule = {
        "name": "Angry first",
        "events": ["item_received"],
        "conditions": '{"all": [{"field": "text", "op": "contains", "value": "parcel"}]}',
        "actions": '[{"type": "set_priority", "priority": "high"}]',
    }
    dry = client.post("/w/acme/inbox/rules/dry-run/", rule)
    assert dry.status_code == 200
    assert 'id="dry-run-matched">1</strong> of 2 inbound items' in dry.content.decode()
    assert not RoutingRule.objects.exists()
    created = client.post("/w/acme/inbox/rules/new/", rule, follow=True)
    body = created.content.decode()
    assert "text contains &quot;parcel&quot;" in body and "Set priority" in body and "Enabled" in body
    stored = RoutingRule.objects.get()
    client.post(f"/w/acme/inbox/rules/{stored.pk}/toggle/")
    stored.refresh_from_db()
    assert not stored.enabled


def test_teams_and_members_with_capacity(workspace: Workspace, make_member: Member, agent: Any) -> None:
    client = signed_in(make_member(workspace, "manager"))
    assert client.post("/w/acme/inbox/teams/new/", {"name": "sales"}).status_code == 302
    clash = client.post("/w/acme/inbox/teams/new/", {"name": "sales"})
    assert (
        clash.status_code == 422 and "a team named &#x27;sales&#x27; already exists" in clash.content.decode()
    )
    team = Team.objects.get(name="sales")
    client.post(
        f"/w/acme/inbox/teams/{team.pk}/members/", {"member": [agent.pk], f"capacity_{agent.pk}": "5"}
    )
    assert list(team.members.values_list("user_id", "capacity")) == [(agent.pk, 5)]
    bad = client.post(
        f"/w/acme/inbox/teams/{team.pk}/members/",
        {"member": [agent.pk], f"capacity_{agent.pk}": "-1"},
        follow=True,
    )
    assert "capacity is a whole number" in bad.content.decode()
    assert list(team.members.values_list("capacity", flat=True)) == [5]


def test_canned_replies_are_created_and_listed(workspace: Workspace, make_member: Member) -> None:
    client = signed_in(make_member(workspace, "manager"))
    canned = {"shortcut": "thanks", "title": "Thanks", "body": "Thanks {{ first_name }}!"}
    response = client.post("/w/acme/inbox/canned/new/", canned, follow=True)
    assert "/thanks" in response.content.decode() and CannedReply.objects.count() == 1
    again = client.post("/w/acme/inbox/canned/new/", {"shortcut": "thanks", "title": "Again", "body": "x"})
    assert again.status_code == 422 and "already exists" in again.content.decode()


def test_the_report_counts_answers_and_resolutions_and_downloads_as_csv(
    workspace: Workspace, agent: Any, angry: Conversation, curious: Conversation
) -> None:
    client = signed_in(agent)
    before = client.get("/w/acme/inbox/report/").context["report"]
    assert (before["conversations"], before["answered"], before["resolved"]) == (2, 0, 0)
    client.post(f"/w/acme/inbox/{angry.pk}/reply/", {"text": "on it"})
    client.post(f"/w/acme/inbox/{curious.pk}/update/", {"status": "resolved"})
    page = client.get("/w/acme/inbox/report/")
    body = page.content.decode()
    assert 'id="stat-answered">1</div>' in body and 'id="stat-resolved">1</div>' in body
    assert "By sentiment" in body and "Per agent" in body and "ana" in body
    today = datetime.now(UTC).date()
    dated = client.get(
        "/w/acme/inbox/report/", {"since": today - timedelta(days=1), "until": today + timedelta(days=1)}
    )
    assert dated.context["report"]["conversations"] == 2
    backwards = client.get("/w/acme/inbox/report/", {"since": today, "until": today - timedelta(days=3)})
    assert (
        backwards.status_code == 422
        and "The end date is before the start date." in backwards.content.decode()
    )
    download = client.get("/w/acme/inbox/report.csv")
    assert download["Content-Type"] == "text/csv"
    assert download["Content-Disposition"] == 'attachment; filename="acme-inbox.csv"'
    rows = list(csv.DictReader(download.content.decode().splitlines()))
    assert sorted(int(r["conversation"]) for r in rows) == sorted([angry.pk, curious.pk])
