"""A manager sets up listening in headless Chromium: a topic, a query written against its live preview,
and the topic's dashboard with its chart."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from browser_support import MARKS, PASSWORD
from townhall.listening.models import Alert, AlertKind, Topic
from townhall.pipeline import IncomingItem, ingest
from townhall.pipeline.records import IncomingAuthor
from townhall.workspaces.models import Workspace

EDITOR_SCREENSHOT = "/tmp/listening-editor.png"
TOPIC_SCREENSHOT = "/tmp/listening-topic.png"
ALERTS_SCREENSHOT = "/tmp/listening-alerts.png"
HOME_SCREENSHOT = "/tmp/listening.png"

pytestmark = MARKS


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def setup(transactional_db: None, workspace: Workspace, make_member: Callable[..., Any]) -> None:
    make_member(workspace, "manager", username="mia")
    texts = [
        "Acme refunds take forever",
        "Refunding my Acme order was painless",
        "Acme pay is down again",
        "Globex launched a new phone",
        "Lunch at the Acme café",
    ]
    ingest(
        workspace.pk,
        [
            IncomingItem(
                network="bluesky",
                native_id=str(n),
                created_at=datetime.now(UTC) - timedelta(minutes=90 - n),
                text=text,
                kind="post",
                author=IncomingAuthor(native_id=f"u{n}", handle=f"user{n}", followers=100 * n),
            )
            for n, text in enumerate(texts, start=1)
        ],
    )


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_manager_writes_a_query_against_its_live_preview_and_reads_the_dashboard(
    setup: None, live_server: Any, page: Page
) -> None:
    sign_in(page, live_server.url, "mia")
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Listening").click()
    expect(page.get_by_role("heading", name="Listening", exact=True)).to_be_visible()

    # A topic with a first query: the dashboard shows what its backfill found.
    page.get_by_label("Name").fill("Acme")
    page.get_by_label("Kind").select_option("brand")
    page.get_by_label("First query").fill("acme")
    page.get_by_role("button", name="Create topic").click()
    expect(page.locator("#topic-name")).to_have_text("Acme")
    expect(page.locator("#stat-mentions")).to_have_text("4")

    # The editor's preview follows what is typed.
    page.get_by_role("link", name="Add a query").click()
    box = page.get_by_label("Query", exact=True)
    box.press_sequentially("refund*", delay=20)
    summary = page.locator("#preview-summary")
    expect(summary).to_have_text(re.compile(r"^2 of the last 5 items match"))
    marks = page.locator("#preview-items mark")
    expect(marks).to_have_count(2)
    assert sorted(marks.all_inner_texts()) == ["Refunding", "refunds"]

    # A query that does not parse says where, with a caret under the spot.
    box.press_sequentially(" (", delay=20)
    error = page.locator("#preview #query-error")
    expect(error).to_contain_text("(at position 9)")
    expect(error.locator(".query-caret")).to_have_text("refund* (\n         ^")

    box.fill("refund* OR pay")
    expect(summary).to_have_text(re.compile(r"^3 of the last 5 items match"))
    expect(page.locator("#preview-items mark")).to_have_count(3)
    page.screenshot(path=EDITOR_SCREENSHOT, full_page=True)

    # Ctrl+Enter saves, back on the dashboard with the chart drawn and both queries backfilled.
    box.press("Control+Enter")
    expect(page.locator("#topic-name")).to_have_text("Acme")
    expect(page.locator(".query-row")).to_have_count(2)
    expect(page.locator(".query-row").nth(1)).to_contain_text("refund* OR pay")
    expect(page.locator(".query-row").nth(1).locator(".backfill")).to_have_text("Backfilled")
    expect(page.locator(".query-row").nth(1).locator(".backfill-matched")).to_have_text("3")
    canvas = page.locator("canvas#topic-chart")
    expect(canvas).to_be_visible()
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('topic-chart'))")
    drawn = page.evaluate("() => Chart.getChart(document.getElementById('topic-chart')).data.datasets.length")
    assert drawn >= 3
    expect(page.locator("#top-posts li.post")).to_have_count(4)
    page.screenshot(path=TOPIC_SCREENSHOT, full_page=True)
    topic = Topic.objects.get(name="Acme")
    assert topic.queries.count() == 2

    # A spike explains itself in the feed and is acknowledged in place.
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    Alert.objects.create(
        workspace=topic.workspace, topic=topic, kind=AlertKind.NEGATIVE,
        window_start=end - timedelta(hours=1), window_end=end, observed=12, expected=1.5, z=6.1,
        explanation={
            "ratio": 8.0, "top_terms": [{"term": "down", "count": 9}],
            "top_authors": [{"author": "user3", "count": 3, "reach": 300}],
            "sentiment": {"before": {"positive": 0.6, "neutral": 0.3, "negative": 0.1},
                          "during": {"positive": 0.1, "neutral": 0.2, "negative": 0.7}},
        },
    )  # fmt: skip
    page.get_by_role("navigation", name="Listening").get_by_role("link", name="Alerts").click()
    card = page.locator("article.alert-card")
    expect(card).to_contain_text("Negative-sentiment crisis")
    expect(card.get_by_role("img", name=re.compile("During: 10% positive"))).to_be_visible()
    card.get_by_role("button", name="Acknowledge").click()
    expect(card).to_contain_text("Acknowledged")
    expect(card).to_contain_text("by mia")
    page.screenshot(path=ALERTS_SCREENSHOT, full_page=True)
    page.get_by_label("Unacknowledged only").check()
    expect(page.locator("#alert-list")).to_contain_text("No alerts match these filters.")
    expect(page).to_have_url(re.compile(r"unacknowledged=on"))

    page.get_by_role("navigation", name="Listening").get_by_role("link", name="Topics").click()
    expect(page.locator("tr.topic-row")).to_contain_text("Acme")
    expect(page.locator("tr.topic-row .week")).to_have_text("4")
    page.screenshot(path=HOME_SCREENSHOT, full_page=True)
