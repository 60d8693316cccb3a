"""An agent's working session in the inbox, driven in headless Chromium: a saved view, a reply, a hand-off,
a resolution by keyboard, and the report that counts them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from browser_support import MARKS, PASSWORD
from townhall.inbox import config
from townhall.inbox.models import CannedReply, Conversation
from townhall.items.models import Item
from townhall.people.models import Person
from townhall.pipeline import IncomingItem, ingest
from townhall.pipeline.records import IncomingAuthor
from townhall.workspaces.models import Workspace

SCREENSHOT = "/tmp/inbox.png"
CONVERSATION_SCREENSHOT = "/tmp/inbox-conversation.png"

pytestmark = MARKS


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


def conversation(
    workspace: Workspace,
    native: str,
    text: str,
    *,
    minutes_ago: int,
    sentiment: str,
    intent: str,
    lifecycle: str,
) -> Conversation:
    """One inbound tweet from its own customer, read as the understanding stage would have read it."""
    ingest(
        workspace.pk,
        [
            IncomingItem(
                network="twitter",
                native_id=native,
                created_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
                text=text,
                kind="mention",
                direction="inbound",
                author=IncomingAuthor(
                    native_id=f"u{native}", handle=f"user{native}", display_name=f"Dana {native}"
                ),
                channel_handle="acme",
            )
        ],
    )
    found = Conversation.objects.get(entries__item=Item.objects.get(workspace=workspace, native_id=native))
    Person.objects.filter(pk=found.person_id).update(lifecycle=lifecycle)
    Conversation.objects.filter(pk=found.pk).update(
        sentiment=sentiment, primary_intent=intent, intent_tags=f",{intent},"
    )
    return found


@pytest.fixture
def inbox(transactional_db: None, workspace: Workspace, make_member: Callable[..., Any]) -> dict[str, Any]:
    agent = make_member(workspace, "agent", username="ana")
    bo = make_member(workspace, "agent", username="bo")
    sales = config.do_create_team(workspace=workspace, name="sales")
    config.do_set_team_members(team=sales, members=[(bo.pk, 0)])
    complaints = ["@acme my parcel is late again", "@acme you charged me twice", "@acme the app logs me out"]
    customer = {"sentiment": "negative", "intent": "complaint", "lifecycle": "customer"}
    angry = [
        conversation(workspace, str(n), text, minutes_ago=40 - n, **customer)
        for n, text in enumerate(complaints, start=1)
    ]
    conversation(workspace, "10", "@acme do you ship to Norway?", minutes_ago=5, sentiment="neutral",
                 intent="question", lifecycle="prospect")  # fmt: skip
    conversation(workspace, "11", "@acme your ad is annoying", minutes_ago=6, sentiment="negative",
                 intent="complaint", lifecycle="unknown")  # fmt: skip
    view = config.do_save_view(
        workspace=workspace, owner=agent, name="Negative complaints from customers", shared=True,
        filters={"sentiment": "negative", "intent": "complaint", "buying_stage": "customer"},
    )  # fmt: skip
    CannedReply.objects.create(
        workspace=workspace, shortcut="sorry", title="Apology",
        body="Hi {{ first_name }}, sorry about this. {{ agent_name }} from {{ brand }} is on it.",
    )  # fmt: skip
    return {"agent": agent, "angry": angry, "view": view}


def rows(page: Page) -> Any:
    return page.locator("tr.conversation-row")


def test_an_agent_works_a_saved_view_replies_delegates_resolves_and_reads_the_report(
    inbox: dict[str, Any], live_server: Any, open_page: Callable[[], Page]
) -> None:
    first, second, third = inbox["angry"]
    page = open_page()
    sign_in(page, live_server.url, "ana")
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Inbox").click()
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
    expect(rows(page)).to_have_count(5)

    # The saved view lists only the three negative complaints from customers.
    page.get_by_role("navigation", name="Views").get_by_role(
        "link", name=re.compile("Negative complaints")
    ).click()
    expect(page).to_have_url(re.compile(rf"saved={inbox['view'].pk}"))
    expect(page.locator("#view-title")).to_have_text("Negative complaints from customers")
    expect(rows(page)).to_have_count(3)
    shown = rows(page).evaluate_all("rs => rs.map(r => Number(r.dataset.conversationId))")
    assert sorted(shown) == sorted(c.pk for c in (first, second, third))
    for row in rows(page).all():
        expect(row.locator(".chip.sentiment")).to_have_text("negative")
        expect(row.locator(".chip.intent")).to_have_text("Complaint")
        expect(row.locator(".badge.stage")).to_have_text("customer")
    # j / k move the selection.
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(rows(page).nth(0)).to_have_class(re.compile(r"\bselected\b"))
    page.screenshot(path=SCREENSHOT, full_page=False)

    # Open the first, insert the canned reply and send it: it shows in the thread.
    page.locator(f"tr[data-conversation-id='{first.pk}'] a.subject").click()
    expect(page.locator("h1.conversation-subject")).to_have_text("@acme my parcel is late again")
    page.locator("#canned-picker").select_option(label="Apology (/sorry)")
    reply_box = page.locator("#reply-text")
    expect(reply_box).to_have_value("Hi Dana, sorry about this. ana from Acme is on it.")
    expect(page.locator("#reply-length")).to_have_text("50 / 280")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("li.message.outbound")).to_contain_text("Hi Dana, sorry about this.")
    expect(page.locator("li.message.outbound")).to_contain_text("sent by ana")
    expect(page.locator("#reply-text")).to_have_value("")
    expect(page.locator("#conversation-assignee")).to_have_text("ana")
    page.screenshot(path=CONVERSATION_SCREENSHOT, full_page=True)

    # Back to the view; open the second with the keyboard and hand it to sales with a note.
    page.go_back()
    expect(rows(page)).to_have_count(3)
    page.reload()
    order = rows(page).evaluate_all("rs => rs.map(r => Number(r.dataset.conversationId))")
    for _ in range(order.index(second.pk) + 1):
        page.keyboard.press("j")
    expect(page.locator(f"tr[data-conversation-id='{second.pk}']")).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("Enter")
    expect(page.locator("h1.conversation-subject")).to_have_text("@acme you charged me twice")
    page.locator("#id_delegate_team").select_option(label="sales")
    page.locator("#id_delegate_note").fill("Double charge: needs a refund from billing")
    page.get_by_role("button", name="Hand off").click()
    handoff = page.locator("li.log-entry[data-kind=delegated]")
    expect(handoff).to_contain_text("ana handed the conversation to team sales · bo")
    expect(handoff).to_contain_text("Double charge: needs a refund from billing")
    expect(page.locator("#conversation-team")).to_have_text("sales")

    # The third: a refused form says why in place, the help lists the shortcuts, and `e` resolves it.
    page.goto(f"{live_server.url}/w/acme/inbox/{third.pk}/")
    page.locator("#reply-text").fill("x" * 281)
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#reply-form .alert.error")).to_contain_text("the limit is 280")
    expect(page.locator("#reply-length")).to_have_text("281 / 280")
    page.locator("#reply-text").fill("")
    page.locator("#reply-text").press("Escape")
    page.keyboard.press("?")
    expect(page.locator("#shortcut-help")).to_be_visible()
    expect(page.locator("#shortcut-help")).to_contain_text("Resolve the conversation")
    page.keyboard.press("Escape")
    expect(page.locator("#shortcut-help")).to_be_hidden()
    page.keyboard.press("e")
    expect(page.locator("#conversation-status")).to_have_text("Resolved")
    expect(page.locator("li.log-entry[data-kind=status]")).to_contain_text("set the status to resolved")
    # `r` and `n` put the cursor in the reply and note boxes; typing there is not a shortcut.
    page.keyboard.press("n")
    expect(page.locator("#note-text")).to_be_focused()
    page.keyboard.type("e")
    expect(page.locator("#conversation-status")).to_have_text("Resolved")
    expect(page.locator("#note-text")).to_have_value("e")

    # The report counts the answer and the resolution.
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Inbox").click()
    page.get_by_role("navigation", name="Inbox").get_by_role("link", name="Report").click()
    expect(page.get_by_role("heading", name="Inbox report")).to_be_visible()
    expect(page.locator("#stat-conversations")).to_have_text("5")
    expect(page.locator("#stat-answered")).to_have_text("1")
    expect(page.locator("#stat-resolved")).to_have_text("1")
    expect(page.locator("#table-teams")).to_contain_text("sales")
    expect(page.locator("#report-csv")).to_have_attribute("href", "/w/acme/inbox/report.csv")
