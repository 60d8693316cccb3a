"""The web UI driven in headless Chromium: sign in, filter items, read a thread, open a person."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from browser_support import MARKS, PASSWORD
from conftest import DEMO_CSV
from townhall.items.models import Item
from townhall.items.services import do_import_file, thread_of
from townhall.people.models import Activity, Person
from townhall.workspaces import services
from townhall.workspaces.models import Workspace

SCREENSHOT = "/tmp/items.png"

pytestmark = MARKS


@pytest.fixture
def demo(transactional_db: None, workspace: Workspace) -> Workspace:
    do_import_file(workspace=workspace, path=DEMO_CSV, fmt="twcs")
    return workspace


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[[], Page]]:
    contexts = []

    def make() -> Page:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def item_rows(page: Page) -> Any:
    return page.locator("tr.item-row")


def test_a_member_reads_items_threads_and_people(
    demo: Workspace, make_member: Callable[..., Any], live_server: Any, open_page: Callable[[], Page]
) -> None:
    user = make_member(demo, "manager")
    page = open_page()

    sign_in(page, live_server.url, user.username)
    # One workspace: signing in lands on its items.
    expect(page).to_have_url(f"{live_server.url}/w/acme/items/")
    expect(page.get_by_role("heading", name="Items", exact=True)).to_be_visible()
    expect(item_rows(page)).to_have_count(50)
    expect(page.locator(".more-row")).to_contain_text("Showing 50 items")
    assert page.evaluate("() => Chart.getChart(document.getElementById('volume-chart')) !== undefined")
    page.screenshot(path=SCREENSHOT, full_page=False)

    # Load more appends the next page under the first.
    first_ids = item_rows(page).evaluate_all("rows => rows.map(r => r.dataset.itemId)")
    page.get_by_role("button", name="Load more").click()
    expect(item_rows(page)).to_have_count(100)
    all_ids = item_rows(page).evaluate_all("rows => rows.map(r => r.dataset.itemId)")
    assert all_ids[:50] == first_ids
    assert len(set(all_ids)) == 100

    # Only the brand's replies.
    page.locator("select[name=direction]").select_option("outbound")
    expect(page).to_have_url(re.compile(r"direction=outbound"))
    expect(page.locator("tr.item-row[data-direction=inbound]")).to_have_count(0)
    expect(item_rows(page)).to_have_count(50)
    assert "q=" not in page.url

    # Text search (typing, no submit) narrows to the matching items, of both directions again.
    page.locator("select[name=direction]").select_option("")
    page.locator("input[name=q]").press_sequentially("private secured link", delay=20)
    expected = Item.objects.filter(workspace=demo, text__icontains="private secured link").count()
    assert 0 < expected < 50
    expect(item_rows(page)).to_have_count(expected)
    for text in item_rows(page).locator("td.text").all_inner_texts():
        assert "private secured link" in text.lower()
    expect(page).to_have_url(re.compile(r"q=private"))

    # The thread of the first demo conversation, oldest first, brand replies set apart.
    item = Item.objects.get(workspace=demo, native_id="1")
    page.locator(f"tr.item-row[data-item-id='{item.pk}'] a", has_text="Thread").click()
    expect(page.get_by_role("heading", name="Thread")).to_be_visible()
    messages = page.locator("li.message")
    thread = thread_of(item=item)
    expect(messages).to_have_count(len(thread))
    shown_ids = messages.evaluate_all("items => items.map(i => Number(i.dataset.itemId))")
    assert shown_ids == [m.pk for m in thread]
    times = messages.locator("time").evaluate_all("ts => ts.map(t => t.getAttribute('datetime'))")
    assert times == sorted(times)
    assert [m.direction for m in thread].count("outbound") >= 2
    outbound = messages.locator(".bubble").nth([m.direction for m in thread].index("outbound"))
    inbound = messages.locator(".bubble").nth([m.direction for m in thread].index("inbound"))
    assert outbound.evaluate("b => getComputedStyle(b).backgroundColor") != inbound.evaluate(
        "b => getComputedStyle(b).backgroundColor"
    )
    expect(page.locator(f"#item-{item.pk}")).to_have_class(re.compile(r"\bcurrent\b"))
    expect(page.locator("li.message.outbound").first).to_contain_text("@sprintcare")

    # The customer's person page: their account and their timeline.
    page.locator("li.message.inbound .message-head a").first.click()
    expect(page.get_by_role("heading", name="115712")).to_be_visible()
    expect(page.locator("table.identities")).to_contain_text("@115712")
    expect(page.locator("table.identities")).to_contain_text("Twitter")
    person = Person.objects.get(workspace=demo, identities__handle="115712")
    expect(page.locator("li.activity")).to_have_count(min(50, Activity.objects.filter(person=person).count()))
    expect(page.locator(".timeline")).to_contain_text("is the worst customer service")
    expect(page.locator(".timeline")).to_contain_text("Mentioned us")
    page.locator(".timeline a", has_text="Open thread").first.click()
    expect(page.get_by_role("heading", name="Thread")).to_be_visible()


def test_a_member_of_another_workspace_gets_not_found(
    demo: Workspace, make_member: Callable[..., Any], live_server: Any, open_page: Callable[[], Page]
) -> None:
    outsider = make_member(services.do_create_workspace(slug="globex", name="Globex"), "owner")
    item = Item.objects.filter(workspace=demo).first()
    assert item is not None
    page = open_page()
    sign_in(page, live_server.url, outsider.username)
    expect(page).to_have_url(f"{live_server.url}/w/globex/items/")
    expect(page.locator(".switcher summary")).to_have_text("Globex")

    for path in ["/w/acme/items/", f"/w/acme/items/{item.pk}/", "/w/acme/people/", "/w/acme/imports/"]:
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None
        assert response.status == 404, path
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
