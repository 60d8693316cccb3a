"""The publishing pages as authors, reviewers, managers and analysts see them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from publishing_fakes import FakeNetwork
from townhall.connectors.models import Channel
from townhall.publishing import approvals, compose, publisher, schedule
from townhall.publishing.approvals import StepIn
from townhall.publishing.models import Campaign, Post, PostStatus, QueueSlot, TargetState
from townhall.workspaces.models import Workspace

Member = Callable[..., Any]
BODY = "Launch day 🚀 https://acme.com/launch"


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def by_testid(page: str, name: str) -> str:
    """The text of the element carrying data-testid=`name`."""
    found = re.search(rf'data-testid="{re.escape(name)}"[^>]*>([^<]*)<', page)
    assert found is not None, f"no element {name!r}"
    return found.group(1).strip()


@pytest.fixture
def channels(workspace: Workspace) -> dict[str, Channel]:
    return {
        network: Channel.objects.create(workspace=workspace, network=network, handle=handle)
        for network, handle in (
            ("twitter", "acme"),
            ("bluesky", "acme.bsky.social"),
            ("mastodon", "acme@social.example"),
        )
    }


@pytest.fixture
def author(workspace: Workspace, make_member: Member) -> Any:
    return make_member(workspace, "agent", username="ada")


@pytest.fixture
def manager(workspace: Workspace, make_member: Member) -> Any:
    return make_member(workspace, "manager", username="mia")


@pytest.fixture
def analyst(workspace: Workspace, make_member: Member) -> Any:
    return make_member(workspace, "analyst", username="ari")


@pytest.fixture
def policy(workspace: Workspace) -> None:
    approvals.do_save_policy(
        workspace=workspace, name="Managers", steps=[StepIn("Review", role="manager")], is_default=True
    )


def composed(channels: dict[str, Channel], **extra: Any) -> dict[str, Any]:
    """What the composer posts: the text, its channels, the options' checkboxes ticked."""
    return {
        "body": BODY,
        "channels": [c.pk for c in channels.values()],
        "campaign": "",
        "timing": "now",
        "hashtags": "keep",
        "thread": "on",
        "utm": "on",
        **extra,
    }


def local_tomorrow(workspace: Workspace, hour: int, minute: int) -> datetime:
    zone = ZoneInfo(workspace.timezone)
    day = (timezone.now().astimezone(zone) + timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def test_the_composer_previews_each_channel_variant_with_its_count_as_the_network_counts(
    workspace: Workspace, channels: dict[str, Channel], author: Any
) -> None:
    client = signed_in(author)
    page = client.get("/w/acme/publishing/posts/new/")
    assert page.status_code == 200
    assert 'class="active" aria-current="page">Publishing</a>' in text(page)
    assert "X / Twitter · acme" in text(page) and "Choose a channel to see its variant." in text(page)
    assert 'hx-trigger="input changed delay:300ms, change"' in text(page)

    fragment = client.post("/w/acme/publishing/preview/", composed(channels), HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    html = text(fragment)
    assert "<html" not in html
    # X: 11 characters, the emoji weighs 2, a space, the link 23 whatever its UTM parameters.
    assert by_testid(html, "count-x") == "37 / 280"
    # Mastodon counts graphemes and every link as 23.
    assert by_testid(html, "count-mastodon") == "36 / 500"
    # Bluesky counts the whole tagged link, in graphemes.
    bluesky = by_testid(html, "count-bluesky")
    assert bluesky.endswith("/ 300") and int(bluesky.split()[0]) > 36
    assert "utm_source=x" in html and "UTM parameters added to 1 link" in html
    assert by_testid(html, "valid-x") == "Ready"
    assert "Media: up to 4 images, or 1 GIF, or 1 video, not mixed." in html

    # Without UTM tags, and too long for one post on X: a thread, each part counted.
    long_body = "Launch day. " + "Read the notes. " * 25
    html = text(
        client.post(
            "/w/acme/publishing/preview/",
            {**composed(channels), "body": long_body, "utm": ""},
            HTTP_HX_REQUEST="true",
        )
    )
    assert "Split into 2 posts" in html and by_testid(html, "count-x-2").endswith("/ 280")
    assert "utm_source" not in html
    html = text(
        client.post(
            "/w/acme/publishing/preview/",
            {**composed(channels), "body": long_body, "thread": ""},
            HTTP_HX_REQUEST="true",
        )
    )
    assert "Shortened by 142 characters" in html and 'data-testid="count-x-2"' not in html
    # A text a network refuses says why, on that network's card only.
    html = text(
        client.post(
            "/w/acme/publishing/preview/",
            {**composed(channels), "body": "Launch \ufffe day"},
            HTTP_HX_REQUEST="true",
        )
    )
    assert by_testid(html, "valid-x") == "Not ready" and by_testid(html, "valid-mastodon") == "Ready"
    assert "X does not accept U+FFFE in a post" in html.split('data-testid="problems-x"')[1]


def test_an_analyst_sees_the_calendar_but_cannot_compose(
    workspace: Workspace, channels: dict[str, Channel], analyst: Any
) -> None:
    client = signed_in(analyst)
    calendar = client.get("/w/acme/publishing/")
    assert calendar.status_code == 200
    assert 'id="new-post"' not in text(calendar)
    assert client.get("/w/acme/publishing/posts/new/").status_code == 403
    assert client.post("/w/acme/publishing/posts/new/", composed(channels)).status_code == 403
    assert client.post("/w/acme/publishing/preview/", composed(channels)).status_code == 403
    assert client.get("/w/acme/publishing/approvals/").status_code == 200
    post = compose.do_create_post(
        workspace=workspace, author=None, body=BODY, channel_ids=[channels["twitter"].pk]
    )
    page = client.get(f"/w/acme/publishing/posts/{post.pk}/")
    assert page.status_code == 200 and by_testid(text(page), "count-x") == "37 / 280"
    assert 'id="edit-post"' not in text(page) and "Edit this variant by hand" not in text(page)
    assert client.get(f"/w/acme/publishing/posts/{post.pk}/edit/").status_code == 403
    assert client.post(f"/w/acme/publishing/posts/{post.pk}/submit/").status_code == 403
    assert client.get("/w/acme/publishing/queues/").status_code == 403
    assert client.post("/w/acme/publishing/campaigns/new/", {"name": "Spring"}).status_code == 403
    assert Post.objects.get() == post


def test_a_stranger_gets_a_404(
    workspace: Workspace, channels: dict[str, Channel], make_member: Member
) -> None:
    other = Workspace.objects.create(slug="globex", name="Globex")
    outsider = make_member(other, "owner")
    assert signed_in(outsider).get("/w/acme/publishing/").status_code == 404


def test_a_draft_is_saved_then_edited_and_only_real_changes_make_a_new_version(
    workspace: Workspace, channels: dict[str, Channel], author: Any
) -> None:
    client = signed_in(author)
    saved = client.post("/w/acme/publishing/posts/new/", {**composed(channels), "action": "draft"})
    post = Post.objects.get()
    assert saved.status_code == 302 and saved["Location"] == f"/w/acme/publishing/posts/{post.pk}/"
    assert post.status == PostStatus.DRAFT and post.author == author and post.targets.count() == 3

    page = text(client.get(saved["Location"]))
    assert "Draft saved." in page
    assert by_testid(page, "count-x") == "37 / 280" and by_testid(page, "state-x") == "Draft"
    assert 'id="submit-post"' in page and 'id="edit-post"' in page

    edit = client.get(f"/w/acme/publishing/posts/{post.pk}/edit/")
    assert edit.status_code == 200 and f"{BODY}</textarea>" in text(edit)
    # Saving the form as it is changes nothing.
    client.post(f"/w/acme/publishing/posts/{post.pk}/edit/", {**composed(channels), "action": "draft"})
    post.refresh_from_db()
    assert post.version == 1
    client.post(
        f"/w/acme/publishing/posts/{post.pk}/edit/",
        {
            **composed(channels),
            "body": "Launch day!",
            "channels": [channels["bluesky"].pk],
            "action": "draft",
        },
    )
    post.refresh_from_db()
    assert post.body == "Launch day!" and post.version == 2
    assert list(post.targets.values_list("network", flat=True)) == ["bluesky"]


def test_the_composer_refuses_what_cannot_be_saved_and_keeps_what_was_typed(
    workspace: Workspace, channels: dict[str, Channel], author: Any
) -> None:
    client = signed_in(author)
    refused = client.post(
        "/w/acme/publishing/posts/new/",
        {**composed(channels), "channels": [], "timing": "at", "date": "2020-01-01", "time": "09:00"},
    )
    assert refused.status_code == 422
    page = text(refused)
    assert "This field is required." in page and "that time is in the past" in page
    assert f"{BODY}</textarea>" in page
    # A variant with a problem: the submission is refused with it, and nothing is saved.
    refused = client.post(
        "/w/acme/publishing/posts/new/",
        {**composed(channels), "body": "Launch \ufffe day", "action": "submit"},
    )
    assert refused.status_code == 422
    refusal = text(refused)
    assert "the X / Twitter @acme variant is not ready" in refusal
    assert "X does not accept U+FFFE in a post" in refusal
    assert not Post.objects.exists()


def test_submit_and_approve_through_the_forms(
    workspace: Workspace, channels: dict[str, Channel], author: Any, manager: Any, policy: None
) -> None:
    when = local_tomorrow(workspace, 9, 30)
    submitted = signed_in(author).post(
        "/w/acme/publishing/posts/new/",
        {
            **composed(channels),
            "timing": "at",
            "date": when.date().isoformat(),
            "time": "09:30",
            "action": "submit",
        },
    )
    post = Post.objects.get()
    assert submitted.status_code == 302
    assert post.status == PostStatus.AWAITING_APPROVAL and post.scheduled_at == when

    # The author cannot decide on their own post; the queue shows it waiting for the manager.
    author_client = signed_in(author)
    queue = text(author_client.get("/w/acme/publishing/approvals/"))
    assert 'id="nothing-yours"' in queue and "waiting for mia" in queue
    assert 'id="approve"' not in text(author_client.get(f"/w/acme/publishing/posts/{post.pk}/"))
    assert (
        author_client.post(f"/w/acme/publishing/posts/{post.pk}/decide/", {"decision": "approve"}).status_code
        == 403
    )

    reviewer = signed_in(manager)
    queue = text(reviewer.get("/w/acme/publishing/approvals/"))
    assert f'<tr data-post-id="{post.pk}">' in queue.split('id="yours"')[1]
    page = text(reviewer.get(f"/w/acme/publishing/posts/{post.pk}/"))
    assert 'id="approve"' in page and "Waiting for mia" in page

    refused = reviewer.post(f"/w/acme/publishing/posts/{post.pk}/decide/", {"decision": "request_changes"})
    assert refused.status_code == 422 and "say what should change" in text(refused)

    approved = reviewer.post(
        f"/w/acme/publishing/posts/{post.pk}/decide/", {"decision": "approve", "comment": ""}
    )
    assert approved.status_code == 302
    post.refresh_from_db()
    assert post.status == PostStatus.SCHEDULED
    page = text(reviewer.get(approved["Location"]))
    zone = workspace.timezone
    assert f"Approved: the post is scheduled for {when:%a} {when.day} {when:%b %Y}, 09:30 {zone}." in page
    assert "Approved by mia" in page and by_testid(page, "state-x") == "Scheduled"
    history = re.findall(r'<li data-kind="([a-z_]+)">', page)
    assert history == ["created", "submitted", "approve", "approved", "scheduled"]


def test_changes_requested_send_the_post_back_with_the_comment(
    workspace: Workspace, channels: dict[str, Channel], author: Any, manager: Any, policy: None
) -> None:
    post = compose.do_create_post(
        workspace=workspace, author=author, body=BODY, channel_ids=[channels["bluesky"].pk]
    )
    assert signed_in(author).post(f"/w/acme/publishing/posts/{post.pk}/submit/").status_code == 302
    signed_in(manager).post(
        f"/w/acme/publishing/posts/{post.pk}/decide/",
        {"decision": "request_changes", "comment": "Add the date"},
    )
    post.refresh_from_db()
    assert post.status == PostStatus.CHANGES_REQUESTED
    page = text(signed_in(author).get(f"/w/acme/publishing/posts/{post.pk}/"))
    assert "<blockquote>Add the date</blockquote>" in page and 'id="submit-post"' in page


def test_the_calendar_places_entries_at_their_local_time_in_every_view(
    workspace: Workspace, channels: dict[str, Channel], author: Any, analyst: Any
) -> None:
    workspace.timezone = "America/New_York"
    workspace.save()
    campaign = compose.do_save_campaign(workspace=workspace, name="Spring", color="#e11d48")
    when = local_tomorrow(workspace, 9, 30)
    post = compose.do_create_post(
        workspace=workspace,
        author=author,
        body=BODY,
        title="Spring launch",
        channel_ids=[channels["twitter"].pk],
        campaign_id=campaign.pk,
        scheduled_at=when,
    )
    client = signed_in(analyst)
    for view in ("month", "week", "list"):
        page = text(client.get(f"/w/acme/publishing/?view={view}&on={when.date().isoformat()}"))
        entry = re.search(
            rf'<li class="entry" style="--c: #e11d48"[^>]*data-testid="entry-{post.pk}-x".*?</li>', page, re.S
        )
        assert entry is not None, view
        assert '<span class="at">09:30</span>' in entry.group() and "Spring launch" in entry.group()
        assert f'href="/w/acme/publishing/posts/{post.pk}/"' in entry.group()
        assert "Times are in America/New_York." in page
    week = text(client.get(f"/w/acme/publishing/?view=week&on={when.date().isoformat()}"))
    cell = re.search(
        rf'<td data-date="{when.date().isoformat()}" data-hour="(\d+)"[^>]*>\s*<ul class="entries"><li', week
    )
    assert cell is not None and cell.group(1) == "9"

    # Filters: another campaign, or a status it does not have, hide it.
    other = compose.do_save_campaign(workspace=workspace, name="Autumn")
    on = when.date().isoformat()
    assert f"entry-{post.pk}-x" not in text(client.get(f"/w/acme/publishing/?on={on}&campaign={other.pk}"))
    assert f"entry-{post.pk}-x" not in text(client.get(f"/w/acme/publishing/?on={on}&status=published"))
    assert f"entry-{post.pk}-x" in text(
        client.get(f"/w/acme/publishing/?on={on}&status=draft&channel={channels['twitter'].pk}")
    )
    # The previous and next links move by a month.
    month = text(client.get(f"/w/acme/publishing/?view=month&on={on}"))
    following = (when.date().replace(day=1) + timedelta(days=32)).replace(day=1)
    assert f'href="?view=month&on={following.isoformat()}" id="next"' in month


def test_the_calendar_shows_the_best_times_of_a_channel(
    workspace: Workspace, channels: dict[str, Channel], analyst: Any
) -> None:
    from townhall.items.models import Direction, Item, Kind

    zone = ZoneInfo(workspace.timezone)
    start = timezone.now().astimezone(zone) - timedelta(days=60)
    for n in range(40):
        at = (start + timedelta(days=n)).replace(hour=9 if n % 2 else 15, minute=5)
        Item.objects.create(
            workspace=workspace,
            channel=channels["bluesky"],
            network="bluesky",
            native_id=str(n),
            direction=Direction.OUTBOUND,
            kind=Kind.POST,
            created_at=at,
            text="hello",
            likes=50 if at.hour == 9 else 1,
        )
    page = text(signed_in(analyst).get(f"/w/acme/publishing/?view=week&channel={channels['bluesky'].pk}"))
    box = page.split('id="best-times"')[1].split("</section>")[0]
    assert "for Bluesky · acme.bsky.social" in box
    assert re.search(r"<strong>\w+day 09:00\u201310:00</strong>", box)
    assert 'class="best"' in page


def test_a_failed_target_shows_the_network_message_and_a_manager_retries_it(
    workspace: Workspace, channels: dict[str, Channel], author: Any, manager: Any
) -> None:
    post = compose.do_create_post(
        workspace=workspace, author=author, body=BODY, channel_ids=[channels["mastodon"].pk]
    )
    approvals.do_submit(post=post, actor=author)  # no policy: scheduled at once
    target = post.targets.get()
    net = FakeNetwork()
    net.refusals[target.part_key(0)] = "Validation failed: Text character limit of 500 exceeded"
    publisher.run_due(now=timezone.now() + timedelta(seconds=1), factory=net.connector)

    page = text(signed_in(author).get(f"/w/acme/publishing/posts/{post.pk}/"))
    assert by_testid(page, "state-mastodon") == "Failed"
    assert "Text character limit of 500 exceeded" in by_testid(page, "error-mastodon")
    assert "Retry</button>" not in page  # the schedule is the managers'

    client = signed_in(manager)
    assert "Retry</button>" in text(client.get(f"/w/acme/publishing/posts/{post.pk}/"))
    client.post(f"/w/acme/publishing/posts/{post.pk}/variants/{channels['mastodon'].pk}/retry/")
    net.refusals.clear()
    publisher.run_due(now=timezone.now() + timedelta(seconds=1), factory=net.connector)
    page = text(client.get(f"/w/acme/publishing/posts/{post.pk}/"))
    assert by_testid(page, "state-mastodon") == "Published"
    assert re.search(r'<a href="https://mastodon.example/mastodon-\d+"', page)
    assert re.search(r'<span class="badge state-published" id="post-status">Published</span>', page)


def test_an_unknown_outcome_is_settled_by_hand_with_the_link(
    workspace: Workspace, channels: dict[str, Channel], author: Any, manager: Any
) -> None:
    post = compose.do_create_post(
        workspace=workspace, author=author, body=BODY, channel_ids=[channels["bluesky"].pk]
    )
    approvals.do_submit(post=post, actor=author)
    target = post.targets.get()
    net = FakeNetwork()
    net.can_look_up = False
    net.timeouts.add(target.part_key(0))
    publisher.run_due(now=timezone.now() + timedelta(seconds=1), factory=net.connector)
    target.refresh_from_db()
    assert target.state == TargetState.OUTCOME_UNKNOWN

    client = signed_in(manager)
    page = text(client.get(f"/w/acme/publishing/posts/{post.pk}/"))
    assert by_testid(page, "state-bluesky") == "Outcome unknown" and "Mark published</button>" in page
    url = "https://bsky.app/profile/acme.bsky.social/post/3kabc"
    client.post(
        f"/w/acme/publishing/posts/{post.pk}/variants/{channels['bluesky'].pk}/settle/",
        {"action": "published", "url": url},
    )
    target.refresh_from_db()
    assert target.state == TargetState.PUBLISHED and target.url == url
    page = text(client.get(f"/w/acme/publishing/posts/{post.pk}/"))
    assert f'<a href="{url}"' in page and "settled by hand" in page


def test_a_variant_is_written_by_hand_then_adapted_again(
    workspace: Workspace, channels: dict[str, Channel], author: Any
) -> None:
    post = compose.do_create_post(
        workspace=workspace, author=author, body=BODY, channel_ids=[channels["twitter"].pk]
    )
    client = signed_in(author)
    url = f"/w/acme/publishing/posts/{post.pk}/variants/{channels['twitter'].pk}/"
    client.post(url, {"part": ["Our launch, in one line", ""]})
    target = post.targets.get()
    assert target.edited and target.parts == ["Our launch, in one line"]
    page = text(client.get(f"/w/acme/publishing/posts/{post.pk}/"))
    assert by_testid(page, "count-x") == "23 / 280" and "by hand" in page and "Re-adapt from the post" in page
    client.post(url, {"action": "readapt"})
    target.refresh_from_db()
    assert not target.edited and "utm_source=x" in target.parts[0]


def test_managers_create_campaigns_and_queue_slots_that_the_composer_uses(
    workspace: Workspace, channels: dict[str, Channel], manager: Any, author: Any
) -> None:
    client = signed_in(manager)
    created = client.post(
        "/w/acme/publishing/campaigns/new/", {"name": "Spring", "color": "#16a34a", "utm_campaign": ""}
    )
    assert created.status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.color, campaign.utm_campaign) == ("#16a34a", "spring")
    duplicate = client.post("/w/acme/publishing/campaigns/new/", {"name": "Spring", "color": "#16a34a"})
    assert duplicate.status_code == 422 and "already exists" in text(duplicate)
    assert "Spring</a>" in text(signed_in(author).get("/w/acme/publishing/campaigns/"))

    x = channels["twitter"]
    saved = client.post(f"/w/acme/publishing/queues/{x.pk}/", {"day0": "09:00, 17:30", "day4": "12:15"})
    assert saved.status_code == 302
    assert [(s.weekday, f"{s.time:%H:%M}") for s in QueueSlot.objects.filter(channel=x)] == [
        (0, "09:00"),
        (0, "17:30"),
        (4, "12:15"),
    ]
    bad = client.post(f"/w/acme/publishing/queues/{x.pk}/", {"day0": "9am"})
    assert bad.status_code == 422 and "is not a time like 09:00" in text(bad)
    assert "Mon 09:00" in text(client.get("/w/acme/publishing/queues/"))

    expected = schedule.next_free_slot(channel=x, zone=workspace.timezone)
    signed_in(author).post(
        "/w/acme/publishing/posts/new/",
        {
            **composed({"twitter": x}),
            "campaign": campaign.pk,
            "timing": "slot",
            "slot_channel": x.pk,
            "action": "draft",
        },
    )
    post = Post.objects.get()
    assert post.scheduled_at == expected and post.campaign == campaign
    assert "utm_campaign=spring" in post.targets.get().parts[0]
