"""The listening pages as managers and analysts see them: topics, the dashboard, the query editor, alerts."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from townhall.items.models import Item
from townhall.listening import rollups, services
from townhall.listening.display import caret, highlight
from townhall.listening.models import Alert, AlertKind, BackfillStatus, ListeningQuery, Topic, TopicKind
from townhall.people.models import Identity
from townhall.pipeline import IncomingItem, ingest
from townhall.pipeline.records import IncomingAuthor
from townhall.workspaces import services as workspaces
from townhall.workspaces.models import Workspace

Member = Callable[..., Any]
Capture = Callable[..., Any]


def _post(
    native: str, text: str, *, author: str, minutes_ago: int = 30, followers: int = 100
) -> IncomingItem:
    return IncomingItem(
        network="bluesky",
        native_id=native,
        created_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
        text=text,
        kind="post",
        direction="inbound",
        author=IncomingAuthor(
            native_id=author, handle=author, display_name=author.title(), followers=followers
        ),
    )


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def body(response: Any) -> str:
    return str(response.content.decode())


@pytest.fixture
def manager(workspace: Workspace, make_member: Member) -> Any:
    return make_member(workspace, "manager", username="mia")


@pytest.fixture
def analyst(workspace: Workspace, make_member: Member) -> Any:
    return make_member(workspace, "analyst", username="ari")


@pytest.fixture
def history(workspace: Workspace) -> None:
    """Items stored before any topic existed: a backfill is what finds them."""
    ingest(
        workspace.pk,
        [
            _post("1", "Acme refunds took three weeks, not happy", author="dana", followers=5000),
            _post("2", "Loving the new Acme café in town", author="eli", followers=200),
            _post("3", "Nothing to do with anything", author="fay"),
            _post("4", "Globex is cheaper than acme these days", author="gus", followers=900),
        ],
    )


def _topic(
    workspace: Workspace, capture: Capture, name: str, query: str, kind: str = TopicKind.BRAND
) -> Topic:
    with capture(execute=True):
        return services.do_create_topic(workspace=workspace, name=name, kind=kind, queries=[query])


def test_a_manager_creates_a_topic_whose_query_is_backfilled_over_history(
    workspace: Workspace, manager: Any, history: None, django_capture_on_commit_callbacks: Capture
) -> None:
    client = signed_in(manager)
    home = client.get("/w/acme/listening/")
    assert home.status_code == 200
    assert 'class="active" aria-current="page">Listening</a>' in body(home)
    assert 'id="topic-form"' in body(home) and "No topics yet." in body(home)

    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/w/acme/listening/topics/new/", {"name": "Acme", "kind": "brand", "query": "acme -globex"}
        )
    topic = Topic.objects.get(workspace=workspace, name="Acme")
    assert created.status_code == 302 and created["Location"] == f"/w/acme/listening/topics/{topic.pk}/"
    query = topic.queries.get()
    assert (query.text, query.backfill_status, query.backfill_matched) == ("acme -globex", "done", 2)

    listed = body(client.get("/w/acme/listening/"))
    row = re.search(rf'<tr class="topic-row" data-topic-id="{topic.pk}">.*?</tr>', listed, re.S)
    assert row is not None
    assert ">Acme</a>" in row.group() and ">Brand</span>" in row.group()
    assert '<td class="num week">2</td>' in row.group()
    assert '<span class="badge done">1 done</span>' in row.group()


def test_a_query_that_does_not_parse_is_refused_with_its_position_and_a_caret(
    workspace: Workspace, manager: Any
) -> None:
    client = signed_in(manager)
    refused = client.post(
        "/w/acme/listening/topics/new/", {"name": "Acme", "kind": "brand", "query": "acme (refund"}
    )
    assert refused.status_code == 422
    page = body(refused)
    assert "the query does not parse: expected &quot;)&quot; (at position 12)" in page
    assert '<code>acme (refund\n            <span class="caret">^</span></code>' in page
    assert not Topic.objects.filter(workspace=workspace).exists()
    # What was typed is kept for fixing.
    assert "acme (refund</textarea>" in page and 'value="Acme"' in page


def test_a_duplicate_topic_name_is_shown_on_the_name_field(
    workspace: Workspace, manager: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    _topic(workspace, django_capture_on_commit_callbacks, "Acme", "acme")
    refused = signed_in(manager).post(
        "/w/acme/listening/topics/new/", {"name": "Acme", "kind": "brand", "query": "x"}
    )
    assert refused.status_code == 422
    assert "a topic named &#x27;Acme&#x27; already exists" in body(refused)


def test_the_live_preview_counts_matches_and_marks_the_matched_words(
    workspace: Workspace, manager: Any, history: None
) -> None:
    client = signed_in(manager)
    shown = client.post(
        "/w/acme/listening/preview/", {"text": "(refund* OR cafe) acme"}, HTTP_HX_REQUEST="true"
    )
    assert shown.status_code == 200
    page = body(shown)
    assert "<html" not in page
    assert "<strong>2</strong> of the last 4 items match." in page
    assert "<mark>Acme</mark> <mark>refunds</mark> took three weeks" in page
    assert "Loving the new <mark>Acme</mark> <mark>café</mark> in town" in page
    assert "Globex" not in page
    item = Item.objects.get(workspace=workspace, native_id="1")
    assert f'href="/w/acme/items/{item.pk}/"' in page

    broken = body(client.post("/w/acme/listening/preview/", {"text": "acme OR"}))
    assert "(at position 7)" in broken and 'role="alert"' in broken
    assert '<code>acme OR\n       <span class="caret">^</span></code>' in broken
    assert "Type a query" in body(client.post("/w/acme/listening/preview/", {"text": "  "}))


def test_highlighting_handles_phrases_near_accents_and_markup() -> None:
    text = "<b>ACME Pay</b> is broken again, said Zoë about acmepay"
    marked = highlight(text, ['"acme pay" NEAR/3 broken', "zoe"])
    assert marked == (
        "&lt;b&gt;<mark>ACME</mark> <mark>Pay</mark>&lt;/b&gt; is <mark>broken</mark> again, "
        "said <mark>Zoë</mark> about acmepay"
    )
    assert highlight("我喜欢苹果手机", ["苹果"]) == "<mark>我喜欢苹果手机</mark>"
    assert highlight("#Café time", ["#cafe"]) == "<mark>#Café</mark> time"
    assert highlight("cafe time", ["#cafe"]) == "cafe time"


def test_the_caret_points_into_the_line_of_a_long_query() -> None:
    found = caret("acme\n\t(refund", "expected ) (at position 13)")
    assert found == {
        "message": "expected ) (at position 13)",
        "position": 13,
        "line": "\t(refund",
        "pad": "\t" + " " * 7,
    }
    assert caret("acme", "the query is empty") == {"message": "the query is empty"}


def test_the_topic_dashboard_counts_what_its_queries_matched(
    workspace: Workspace, manager: Any, history: None, django_capture_on_commit_callbacks: Capture
) -> None:
    topic = _topic(workspace, django_capture_on_commit_callbacks, "Acme", "acme")
    ingest(
        workspace.pk,
        [
            _post("10", "acme support answered in minutes", author="dana", minutes_ago=10, followers=5000),
            _post("11", "unrelated chatter", author="hal", minutes_ago=10),
        ],
    )
    rollups.run()
    client = signed_in(manager)
    page = client.get(f"/w/acme/listening/topics/{topic.pk}/")
    assert page.status_code == 200
    html = body(page)
    assert '<div class="value" id="stat-mentions">4</div>' in html
    assert '<div class="value" id="stat-authors">3</div>' in html
    assert '<div class="value" id="stat-reach">11,100</div>' in html
    assert 'id="topic-chart" role="img"' in html and 'id="topic-data"' in html
    assert "vendor/chart.umd.js" in html and "townhall/listening.js" in html
    chart = page.context["chart"]
    assert chart["granularity"] == "hour" and len(chart["labels"]) == 24 * 7 + 1
    assert (
        sum(chart["positive"]) + sum(chart["neutral"]) + sum(chart["negative"]) + sum(chart["unscored"]) == 4
    )
    # Top posts link to their thread, the first by reach; top authors to the person.
    posts = page.context["top_posts"]
    assert posts[0]["author"] == "dana" and posts[0]["reach"] == 5000
    assert f'href="/w/acme/items/{posts[0]["item_id"]}/"' in html
    dana = Identity.objects.get(workspace=workspace, handle="dana")
    assert f'<a href="/w/acme/people/{dana.person_id}/">@dana</a></td><td class="num">2</td>' in html
    # The queries list with its backfill, and the manager's tools.
    assert 'data-backfill="done"' in html and '<td class="num backfill-matched">3</td>' in html
    assert 'hx-trigger="every 2s"' not in html
    assert 'id="topic-settings"' in html and 'id="add-query"' in html

    daily = client.get(f"/w/acme/listening/topics/{topic.pk}/", {"range": "90d"})
    assert daily.context["chart"]["granularity"] == "day" and len(daily.context["chart"]["labels"]) == 91
    assert 'aria-current="true">90 days</a>' in body(daily)
    assert client.get(f"/w/acme/listening/topics/{topic.pk}/", {"range": "5y"}).context["range"] == "7d"


def test_rising_terms_show_on_the_dashboard_and_as_newsjacking_ideas(
    workspace: Workspace, analyst: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    usual = [
        _post(f"b{n}", "acme support was fine", author=f"old{n}", minutes_ago=60 * (30 + n))
        for n in range(20)
    ]
    rising = [
        _post(f"r{n}", f"acme outage again #{n}", author=f"new{n}", minutes_ago=20 + n) for n in range(8)
    ]
    ingest(workspace.pk, usual + rising)
    topic = _topic(workspace, django_capture_on_commit_callbacks, "Acme", "acme")
    client = signed_in(analyst)
    dashboard = client.get(f"/w/acme/listening/topics/{topic.pk}/")
    emerging = dashboard.context["emerging"]
    term = emerging[0]["term"]
    assert "outage" in term and "support" not in {e["term"] for e in emerging}
    html = body(dashboard)
    assert f'<strong class="term">{term}</strong> <span class="muted small">8 now · 0 before' in html
    assert html.count("acme outage again #") >= 3
    home = client.get("/w/acme/listening/")
    ideas = home.context["suggestions"]
    assert ideas and "outage" in ideas[0]["term"]
    term = ideas[0]["term"]
    idea = rf'<strong class="term">{term}</strong>\s*<span class="muted small">with <a [^>]+>Acme</a>'
    assert re.search(idea, body(home))


def test_the_queries_list_polls_while_a_backfill_runs_and_reloads_when_done(
    workspace: Workspace, analyst: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    topic = _topic(workspace, django_capture_on_commit_callbacks, "Acme", "acme")
    ListeningQuery.objects.filter(topic=topic).update(
        backfill_status=BackfillStatus.RUNNING, backfill_matched=40
    )
    client = signed_in(analyst)
    page = body(client.get(f"/w/acme/listening/topics/{topic.pk}/"))
    poll = f'hx-get="/w/acme/listening/topics/{topic.pk}/queries/?polled=1" hx-trigger="every 2s"'
    assert poll in page and "Backfilling…" in page and '<td class="num backfill-matched">40</td>' in page

    url = f"/w/acme/listening/topics/{topic.pk}/queries/?polled=1"
    still = client.get(url, HTTP_HX_REQUEST="true")
    assert poll in body(still) and "HX-Refresh" not in still
    ListeningQuery.objects.filter(topic=topic).update(
        backfill_status=BackfillStatus.DONE, backfill_matched=52
    )
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"
    assert "every 2s" not in body(done) and '<td class="num backfill-matched">52</td>' in body(done)


def test_the_query_editor_adds_edits_and_removes_queries(
    workspace: Workspace, manager: Any, history: None, django_capture_on_commit_callbacks: Capture
) -> None:
    topic = _topic(workspace, django_capture_on_commit_callbacks, "Acme", "acme refund*")
    client = signed_in(manager)
    editor = body(client.get(f"/w/acme/listening/topics/{topic.pk}/queries/new/"))
    assert 'hx-post="/w/acme/listening/preview/" hx-trigger="input changed delay:400ms"' in editor
    assert "Query syntax" in editor and "docs/listening-queries.md" in editor

    refused = client.post(f"/w/acme/listening/topics/{topic.pk}/queries/new/", {"text": '"acme pay'})
    assert refused.status_code == 422 and "(at position 9)" in body(refused)
    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(
            f"/w/acme/listening/topics/{topic.pk}/queries/new/", {"name": "café", "text": "cafe"}
        )
    assert saved.status_code == 302 and saved["Location"] == f"/w/acme/listening/topics/{topic.pk}/"
    cafe = topic.queries.get(name="café")
    assert (cafe.backfill_status, cafe.backfill_matched) == ("done", 1)

    edit = client.get(f"/w/acme/listening/queries/{cafe.pk}/")
    assert ">cafe</textarea>" in body(edit)
    # The editor opens with the preview of the saved text.
    assert "<strong>1</strong> of the last 4 items matches." in body(edit) and "<mark>café</mark>" in body(
        edit
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/w/acme/listening/queries/{cafe.pk}/", {"name": "globex", "text": "globex"})
    cafe.refresh_from_db()
    assert (cafe.name, cafe.text, cafe.version, cafe.backfill_matched) == ("globex", "globex", 2, 1)

    with django_capture_on_commit_callbacks(execute=True):
        removed = client.post(f"/w/acme/listening/queries/{cafe.pk}/delete/")
    assert removed.status_code == 302
    assert list(topic.queries.values_list("text", flat=True)) == ["acme refund*"]


def test_a_manager_changes_a_topics_settings_and_deletes_it(
    workspace: Workspace, manager: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    topic = _topic(workspace, django_capture_on_commit_callbacks, "Acme", "acme")
    _topic(workspace, django_capture_on_commit_callbacks, "Globex", "globex", kind=TopicKind.COMPETITOR)
    client = signed_in(manager)
    url = f"/w/acme/listening/topics/{topic.pk}/settings/"
    clash = client.post(url, {"settings-name": "Globex", "settings-kind": "brand", "settings-active": "on"})
    assert clash.status_code == 422 and "a topic named &#x27;Globex&#x27; already exists" in body(clash)
    saved = client.post(
        url, {"settings-name": "Acme Corp", "settings-kind": "campaign", "settings-active": "on"}
    )
    assert saved.status_code == 302
    topic.refresh_from_db()
    assert (topic.name, topic.kind, topic.active, topic.alerts) == ("Acme Corp", "campaign", True, False)
    assert "no alerts" in body(client.get(f"/w/acme/listening/topics/{topic.pk}/"))
    client.post(f"/w/acme/listening/topics/{topic.pk}/delete/")
    assert list(Topic.objects.filter(workspace=workspace).values_list("name", flat=True)) == ["Globex"]


def test_share_of_voice_compares_brand_and_competitor_topics(
    workspace: Workspace, analyst: Any, history: None, django_capture_on_commit_callbacks: Capture
) -> None:
    _topic(workspace, django_capture_on_commit_callbacks, "Acme", "acme")
    _topic(workspace, django_capture_on_commit_callbacks, "Globex", "globex", kind=TopicKind.COMPETITOR)
    _topic(workspace, django_capture_on_commit_callbacks, "Weather", "weather", kind=TopicKind.INDUSTRY)
    page = signed_in(analyst).get("/w/acme/listening/")
    html = body(page)
    assert 'id="sov-chart" role="img"' in html and 'id="sov-data"' in html
    table = re.search(r'<table class="table" id="sov-table">.*?</table>', html, re.S)
    assert table is not None
    assert re.search(
        r"Acme <span[^>]*>brand</span></td><td class=\"num\">3</td><td class=\"num\">75%</td>", table.group()
    )
    assert re.search(
        r"Globex <span[^>]*>competitor</span></td><td class=\"num\">1</td><td class=\"num\">25%</td>",
        table.group(),
    )
    assert "Weather" not in table.group()
    assert [t["name"] for t in page.context["sov_chart"]["topics"]] == ["Acme", "Globex"]


def _alert(topic: Topic, *, kind: str = AlertKind.VOLUME, hours_ago: int = 1, **explanation: Any) -> Alert:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours_ago - 1)
    return Alert.objects.create(
        workspace=topic.workspace, topic=topic, kind=kind, window_start=end - timedelta(hours=1),
        window_end=end, observed=48, expected=6.2, z=5.4, explanation=explanation,
    )  # fmt: skip


def test_the_alert_feed_explains_each_spike_and_is_filtered_and_acknowledged(
    workspace: Workspace, manager: Any, analyst: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    acme = _topic(workspace, django_capture_on_commit_callbacks, "Acme", "acme")
    globex = _topic(
        workspace, django_capture_on_commit_callbacks, "Globex", "globex", kind=TopicKind.COMPETITOR
    )
    crisis = _alert(
        acme,
        kind=AlertKind.NEGATIVE,
        ratio=7.7,
        top_terms=[{"term": "outage", "count": 31}, {"term": "#acmedown", "count": 12}],
        top_authors=[{"author": "dana", "count": 4, "reach": 5000}],
        top_posts=[{"item_id": None, "text": "acme is down again", "author": "dana", "reach": 5000}],
        sentiment={
            "before": {"positive": 0.5, "neutral": 0.3, "negative": 0.2},
            "during": {"positive": 0.1, "neutral": 0.1, "negative": 0.8},
        },
    )
    bare = _alert(globex, hours_ago=3, top_terms="not a list", sentiment={"before": "?"})

    client = signed_in(analyst)
    feed = client.get("/w/acme/listening/alerts/")
    assert feed.status_code == 200
    html = body(feed)
    card = re.search(rf'<article class="card alert-card" id="alert-{crisis.pk}".*?</article>', html, re.S)
    assert card is not None
    text = card.group()
    assert "Negative-sentiment crisis" in text and ">Acme</a>" in text
    assert '<strong class="observed">48</strong> negative mentions' in text
    assert (
        "<strong>6.2</strong> expected" in text
        and "<strong>\u00d77.7</strong>" in text
        and "<strong>5.4</strong>" in text
    )
    assert "outage" in text and "#acmedown" in text and "@dana · 4 · reach 5000" in text
    assert 'aria-label="Before: 50% positive, 30% neutral, 20% negative"' in text
    assert 'class="seg negative" style="width: 80.0%"' in text
    assert "acme is down again" in text
    # An alert whose evidence is missing or malformed still shows what it has.
    other = re.search(rf'<article class="card alert-card" id="alert-{bare.pk}".*?</article>', html, re.S)
    assert other is not None and "Volume spike" in other.group() and "\u00d77.7" in other.group()
    assert "Top terms" not in other.group() and "Sentiment" not in other.group()
    # An analyst reads alerts but cannot acknowledge them.
    assert "Acknowledge</button>" not in html
    assert client.post(f"/w/acme/listening/alerts/{crisis.pk}/acknowledge/").status_code == 403

    only_globex = client.get("/w/acme/listening/alerts/", {"topic": globex.pk}, HTTP_HX_REQUEST="true")
    assert body(only_globex).lstrip().startswith('<div id="alert-list"')
    assert [c["alert"].pk for c in only_globex.context["alert_cards"]] == [bare.pk]

    manager_client = signed_in(manager)
    acked = manager_client.post(f"/w/acme/listening/alerts/{crisis.pk}/acknowledge/", HTTP_HX_REQUEST="true")
    assert acked.status_code == 200
    assert (
        body(acked)
        .lstrip()
        .startswith(f'<article class="card alert-card acknowledged" id="alert-{crisis.pk}"')
    )
    assert "Acknowledged</span>" in body(acked) and "by mia" in body(acked)
    crisis.refresh_from_db()
    assert crisis.acknowledged_by == manager and crisis.acknowledged_at is not None
    unacked = manager_client.get("/w/acme/listening/alerts/", {"unacknowledged": "on"})
    assert [c["alert"].pk for c in unacked.context["alert_cards"]] == [bare.pk]

    # The latest alerts show on the listening home and on the topic's dashboard.
    assert f'id="alert-{crisis.pk}"' in body(manager_client.get("/w/acme/listening/"))
    topic_page = body(manager_client.get(f"/w/acme/listening/topics/{acme.pk}/"))
    assert f'id="alert-{crisis.pk}"' in topic_page and f'id="alert-{bare.pk}"' not in topic_page


def test_an_analyst_reads_but_cannot_change_anything(
    workspace: Workspace, analyst: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    topic = _topic(workspace, django_capture_on_commit_callbacks, "Acme", "acme")
    query = topic.queries.get()
    client = signed_in(analyst)
    home = body(client.get("/w/acme/listening/"))
    assert ">Acme</a>" in home and 'id="topic-form"' not in home
    dashboard = client.get(f"/w/acme/listening/topics/{topic.pk}/")
    assert dashboard.status_code == 200
    assert 'id="topic-settings"' not in body(dashboard) and "/queries/new/" not in body(dashboard)
    assert client.post("/w/acme/listening/preview/", {"text": "acme"}).status_code == 200
    refused = [
        client.post("/w/acme/listening/topics/new/", {"name": "X", "kind": "brand", "query": "x"}),
        client.get(f"/w/acme/listening/topics/{topic.pk}/queries/new/"),
        client.get(f"/w/acme/listening/queries/{query.pk}/"),
        client.post(f"/w/acme/listening/queries/{query.pk}/delete/"),
        client.post(
            f"/w/acme/listening/topics/{topic.pk}/settings/", {"settings-name": "Y", "settings-kind": "brand"}
        ),
        client.post(f"/w/acme/listening/topics/{topic.pk}/delete/"),
    ]
    assert [r.status_code for r in refused] == [403] * 6
    assert Topic.objects.filter(workspace=workspace).count() == 1 and topic.queries.count() == 1


def test_outsiders_and_other_workspaces_topics_are_not_found(
    workspace: Workspace, manager: Any, make_member: Member, django_capture_on_commit_callbacks: Capture
) -> None:
    topic = _topic(workspace, django_capture_on_commit_callbacks, "Acme", "acme")
    other = workspaces.do_create_workspace(slug="other", name="Other")
    outsider = make_member(other, "owner", username="olga")
    client = signed_in(outsider)
    assert client.get("/w/acme/listening/").status_code == 404
    assert client.get(f"/w/acme/listening/topics/{topic.pk}/").status_code == 404
    assert client.get("/w/acme/listening/alerts/").status_code == 404
    # A topic of another workspace is not found through one's own.
    assert client.get(f"/w/other/listening/topics/{topic.pk}/").status_code == 404
    assert client.get(f"/w/other/listening/queries/{topic.queries.get().pk}/").status_code == 404
    assert Client().get("/w/acme/listening/").status_code == 302
