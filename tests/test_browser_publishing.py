"""An author composes in headless Chromium against the live per-network counts, a manager approves, the post
shows on the calendar, the worker publishes it, and the post's page links to it on every network."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from browser_support import MARKS, PASSWORD
from publishing_fakes import FakeNetwork
from townhall.connectors.models import Channel
from townhall.publishing import approvals, publisher
from townhall.publishing.approvals import StepIn
from townhall.publishing.models import Post, PostStatus
from townhall.workspaces.models import Workspace

COMPOSER_SCREENSHOT = "/tmp/publishing-composer.png"
POST_SCREENSHOT = "/tmp/publishing-post.png"
CALENDAR_SCREENSHOT = "/tmp/publishing-calendar.png"
ZONE = "Europe/Paris"

pytestmark = MARKS


@pytest.fixture
def browser_context(browser: Browser) -> Iterator[Callable[[], Page]]:
    contexts = []

    def new_page() -> Page:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield new_page
    for context in contexts:
        context.close()


@pytest.fixture
def setup(transactional_db: None, workspace: Workspace, make_member: Callable[..., Any]) -> None:
    workspace.timezone = ZONE
    workspace.save()
    make_member(workspace, "agent", username="ada")
    make_member(workspace, "manager", username="mia")
    for network, handle in (
        ("twitter", "acme"),
        ("bluesky", "acme.bsky.social"),
        ("mastodon", "acme@social.example"),
    ):
        Channel.objects.create(workspace=workspace, network=network, handle=handle)
    approvals.do_save_policy(
        workspace=workspace, name="Managers", steps=[StepIn("Review", role="manager")], is_default=True
    )


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_an_author_composes_a_manager_approves_and_the_worker_publishes(
    setup: None, live_server: Any, browser_context: Callable[[], Page]
) -> None:
    page = browser_context()
    sign_in(page, live_server.url, "ada")
    page.goto(f"{live_server.url}/w/acme/items/")
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Publishing").click()
    page.get_by_role("link", name="New post").first.click()
    expect(page.get_by_role("heading", name="New post")).to_be_visible()

    for name in ("X / Twitter · acme", "Bluesky · acme.bsky.social", "Mastodon · acme@social.example"):
        page.get_by_label(name).check()
    box = page.get_by_label("Text", exact=True)
    count_x, count_mastodon = page.get_by_test_id("count-x"), page.get_by_test_id("count-mastodon")

    # The counts follow the typing.
    box.press_sequentially("Launch day", delay=15)
    expect(count_x).to_have_text("10 / 280")
    expect(page.get_by_test_id("count-bluesky")).to_have_text("10 / 300")
    box.press_sequentially(" 🚀 https://acme.com/launch", delay=15)
    # X: the emoji weighs 2 and the link 23, however long its UTM parameters make it.
    expect(count_x).to_have_text("37 / 280")
    expect(count_mastodon).to_have_text("36 / 500")
    bluesky = page.get_by_test_id("variant-bluesky")
    expect(bluesky).to_contain_text("utm_source=bluesky")
    expect(bluesky).to_contain_text("UTM parameters added to 1 link")
    expect(page.get_by_test_id("valid-x")).to_have_text("Ready")

    # Untagged links: the variants follow the option too.
    page.get_by_label("UTM parameters").uncheck()
    expect(bluesky).not_to_contain_text("utm_source")
    page.get_by_label("UTM parameters").check()
    expect(bluesky).to_contain_text("utm_source=bluesky")

    # A few minutes ahead, in the workspace's zone.
    when = (timezone.now() + timedelta(minutes=5)).astimezone(ZoneInfo(ZONE)).replace(second=0, microsecond=0)
    page.get_by_label("At a date and time").check()
    page.get_by_label("Date", exact=True).fill(when.date().isoformat())
    page.get_by_label("Time", exact=True).fill(f"{when:%H:%M}")
    expect(page.locator("#zone-name")).to_have_text(ZONE)
    page.screenshot(path=COMPOSER_SCREENSHOT, full_page=True)
    page.get_by_role("button", name="Submit for approval").click()

    expect(page.locator("#post-status")).to_have_text("Awaiting approval")
    expect(page.locator(".flash")).to_contain_text("Submitted for approval")
    expect(page.locator("#post-when")).to_have_text(re.compile(rf"{when:%H:%M} {ZONE}$"))
    expect(page.locator("#approval")).to_contain_text("Waiting for mia")
    post = Post.objects.get()
    assert post.scheduled_at == when

    # Another user, a manager, finds it in the approvals and approves it.
    reviewer = browser_context()
    sign_in(reviewer, live_server.url, "mia")
    reviewer.goto(f"{live_server.url}/w/acme/publishing/")
    reviewer.get_by_role("navigation", name="Publishing").get_by_role(
        "link", name=re.compile("Approvals")
    ).click()
    reviewer.locator("#yours").get_by_role("link", name=re.compile("Launch day")).click()
    reviewer.get_by_role("button", name="Approve").click()
    expect(reviewer.locator("#post-status")).to_have_text("Scheduled")
    expect(reviewer.locator("#approval")).to_contain_text("Approved by mia")

    # On the calendar, at its local time, for each network.
    reviewer.get_by_role("navigation", name="Publishing").get_by_role("link", name="Calendar").click()
    if when.month != timezone.now().astimezone(ZoneInfo(ZONE)).month:  # scheduled into next month
        reviewer.locator("#next").click()
    for network in ("x", "bluesky", "mastodon"):
        entry = reviewer.get_by_test_id(f"entry-{post.pk}-{network}")
        expect(entry.locator(".at")).to_have_text(f"{when:%H:%M}")
    reviewer.get_by_role("link", name="Week").click()
    expect(reviewer.get_by_test_id(f"entry-{post.pk}-x")).to_be_visible()
    reviewer.screenshot(path=CALENDAR_SCREENSHOT, full_page=True)

    # The worker runs once it is due, through the recording fake.
    net = FakeNetwork()
    assert publisher.run_due(now=when + timedelta(minutes=1), factory=net.connector) == {"published": 3}
    assert len(net.posts) == 3
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED

    page.reload()
    expect(page.locator("#post-status")).to_have_text("Published")
    for network in ("x", "bluesky", "mastodon"):
        expect(page.get_by_test_id(f"state-{network}")).to_have_text("Published")
        expect(page.get_by_test_id(f"link-{network}")).to_have_attribute(
            "href", re.compile(r"^https://\w+\.example/\w+-\d$")
        )
    expect(page.locator("#history")).to_contain_text("published")
    page.screenshot(path=POST_SCREENSHOT, full_page=True)
