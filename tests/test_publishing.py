"""Publishing end to end through the services: compose, approve, schedule, publish exactly once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from publishing_fakes import FakeNetwork
from townhall.connectors.models import Channel
from townhall.core.errors import Conflict, Forbidden, Invalid
from townhall.items.models import Item
from townhall.publishing import approvals, compose, publisher, schedule
from townhall.publishing.approvals import StepIn
from townhall.publishing.models import Attempt, Post, PostStatus, Target, TargetState
from townhall.workspaces.models import Workspace

BODY = "We just shipped dark mode 🌙 Read all about it: https://acme.com/blog/dark-mode #release"


@pytest.fixture
def channels(workspace: Workspace) -> dict[str, Channel]:
    made = {}
    for network, handle in (
        ("twitter", "acme"),
        ("bluesky", "acme.bsky.social"),
        ("mastodon", "acme@social.example"),
    ):
        made[network] = Channel.objects.create(workspace=workspace, network=network, handle=handle)
    return made


@pytest.fixture
def net() -> FakeNetwork:
    return FakeNetwork()


def publish(net: FakeNetwork, *, at: datetime | None = None) -> dict[str, int]:
    return publisher.run_due(now=at or timezone.now() + timedelta(seconds=1), factory=net.connector)


def test_a_post_is_adapted_per_network_approved_by_someone_else_and_published_once(
    workspace: Workspace, channels: dict[str, Channel], make_member: Callable[..., Any], net: FakeNetwork
) -> None:
    author, reviewer = make_member(workspace, "agent"), make_member(workspace, "manager")
    approvals.do_save_policy(
        workspace=workspace, name="Managers", steps=[StepIn("Review", role="manager")], is_default=True
    )
    post = compose.do_create_post(
        workspace=workspace, author=author, body=BODY, channel_ids=[c.pk for c in channels.values()]
    )
    variants = {p.network: p for p in compose.target_previews(post)}
    assert set(variants) == {"x", "bluesky", "mastodon"}
    assert all(v.valid for v in variants.values())
    # X counts the link as 23 and the emoji as 2; the link carries UTM parameters naming the network.
    assert "utm_source=x" in variants["x"].parts[0]
    x = variants["x"].validations[0]
    assert x["length"] == len(variants["x"].parts[0].split("https://")[0]) + 1 + 23 + len(" #release")

    post = approvals.do_submit(post=post, actor=author)
    assert post.status == PostStatus.AWAITING_APPROVAL
    with pytest.raises(Forbidden, match="your own post"):
        approvals.do_decide(post=post, actor=author, decision="approve")
    approvals.do_decide(post=post, actor=reviewer, decision="approve")
    post.refresh_from_db()
    assert post.status == PostStatus.SCHEDULED

    assert publish(net) == {"published": 3}
    assert publish(net) == {}
    assert sorted(net.sent.values()) == [1, 1, 1]
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED
    assert Item.objects.filter(workspace=workspace, direction="outbound").count() == 3
    kinds = [e.kind for e in approvals.history(post)]
    assert kinds[:3] == ["created", "submitted", "approve"] and kinds.count("published") == 3


def test_request_changes_needs_a_comment_and_sends_the_post_back(
    workspace: Workspace, channels: dict[str, Channel], make_member: Callable[..., Any]
) -> None:
    author, reviewer = make_member(workspace, "agent"), make_member(workspace, "manager")
    approvals.do_save_policy(
        workspace=workspace, name="M", steps=[StepIn("Review", role="manager")], is_default=True
    )
    post = compose.do_create_post(
        workspace=workspace, author=author, body="Hello", channel_ids=[channels["bluesky"].pk]
    )
    approvals.do_submit(post=post, actor=author)
    with pytest.raises(Invalid, match="say what should change"):
        approvals.do_decide(post=post, actor=reviewer, decision="request_changes")
    approvals.do_decide(post=post, actor=reviewer, decision="request_changes", comment="Add the link")
    post.refresh_from_db()
    assert post.status == PostStatus.CHANGES_REQUESTED
    compose.do_update_post(post=post, actor=author, changes={"body": "Hello https://acme.com"})
    post = approvals.do_submit(post=post, actor=author)
    assert post.status == PostStatus.AWAITING_APPROVAL and post.version == 2


def test_an_all_of_step_waits_for_every_reviewer_and_an_edit_voids_earlier_approvals(
    workspace: Workspace, channels: dict[str, Channel], make_member: Callable[..., Any]
) -> None:
    author = make_member(workspace, "agent")
    legal, brand = make_member(workspace, "manager"), make_member(workspace, "manager")
    approvals.do_save_policy(
        workspace=workspace,
        name="Launch",
        steps=[StepIn("Legal and brand", mode="all", approver_ids=(legal.pk, brand.pk))],
        is_default=True,
    )
    when = timezone.now() + timedelta(days=2)
    post = compose.do_create_post(
        workspace=workspace,
        author=author,
        body="Launch!",
        channel_ids=[channels["mastodon"].pk],
        scheduled_at=when,
    )
    approvals.do_submit(post=post, actor=author)
    approvals.do_decide(post=post, actor=legal, decision="approve")
    post.refresh_from_db()
    assert post.status == PostStatus.AWAITING_APPROVAL
    assert approvals.current_step(post).waiting_for == {brand.pk}  # type: ignore[union-attr]
    compose.do_update_post(post=post, actor=author, changes={"body": "Launch day!"})
    post.refresh_from_db()
    assert approvals.current_step(post).waiting_for == {legal.pk, brand.pk}  # type: ignore[union-attr]
    approvals.do_decide(post=post, actor=legal, decision="approve")
    approvals.do_decide(post=post, actor=brand, decision="approve")
    post.refresh_from_db()
    assert post.status == PostStatus.SCHEDULED
    assert post.targets.get().scheduled_at == when.replace(microsecond=when.microsecond)


def test_an_approval_not_given_before_the_deadline_expires_and_nothing_is_published(
    workspace: Workspace, channels: dict[str, Channel], make_member: Callable[..., Any], net: FakeNetwork
) -> None:
    author = make_member(workspace, "agent")
    make_member(workspace, "manager")
    approvals.do_save_policy(
        workspace=workspace,
        name="M",
        steps=[StepIn("Review", role="manager")],
        is_default=True,
        deadline_minutes=60,
    )
    when = timezone.now() + timedelta(hours=3)
    post = compose.do_create_post(
        workspace=workspace,
        author=author,
        body="Soon",
        channel_ids=[channels["bluesky"].pk],
        scheduled_at=when,
    )
    approvals.do_submit(post=post, actor=author)
    assert approvals.expire_overdue(now=when - timedelta(hours=1, minutes=1)) == 0
    assert approvals.expire_overdue(now=when - timedelta(minutes=59)) == 1
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVAL_EXPIRED
    assert publish(net, at=when + timedelta(minutes=1)) == {}
    assert not net.posts


def test_a_timed_out_send_is_looked_up_before_any_retry_and_never_posted_twice(
    workspace: Workspace, channels: dict[str, Channel], net: FakeNetwork
) -> None:
    post = compose.do_create_post(
        workspace=workspace, author=None, body="Hi", channel_ids=[channels["bluesky"].pk]
    )
    approvals.do_submit(post=post, actor=None)
    target = post.targets.get()
    net.timeouts.add(target.part_key(0))
    assert publish(net) == {"outcome_unknown": 1}
    target.refresh_from_db()
    assert target.next_attempt_at is not None and "no clear answer" in target.error
    assert publish(net, at=target.next_attempt_at + timedelta(seconds=1)) == {"published": 1}
    assert net.sent[target.part_key(0)] == 1 and net.lookups == [target.part_key(0)]
    outcomes = list(Attempt.objects.filter(target=target).order_by("pk").values_list("action", "outcome"))
    assert outcomes == [("send", "timed_out"), ("lookup", "found")]


def test_a_refusal_fails_with_the_network_message_and_a_retry_sends_it(
    workspace: Workspace, channels: dict[str, Channel], net: FakeNetwork
) -> None:
    post = compose.do_create_post(
        workspace=workspace, author=None, body="Hi", channel_ids=[channels["mastodon"].pk]
    )
    approvals.do_submit(post=post, actor=None)
    target = post.targets.get()
    net.refusals[target.part_key(0)] = "HTTP 422: Validation failed: Text character limit of 500 exceeded"
    assert publish(net) == {"failed": 1}
    post.refresh_from_db()
    target.refresh_from_db()
    assert post.status == PostStatus.FAILED and "character limit of 500" in target.error
    del net.refusals[target.part_key(0)]
    schedule.do_retry(target=target, actor=None)
    assert publish(net) == {"published": 1}
    assert net.lookups == []  # a refusal is a clear answer: nothing to look up


def test_a_worker_that_died_mid_send_is_reconciled_and_a_network_that_cannot_tell_waits_for_a_person(
    workspace: Workspace, channels: dict[str, Channel], net: FakeNetwork
) -> None:
    post = compose.do_create_post(
        workspace=workspace, author=None, body="Hi", channel_ids=[channels["bluesky"].pk]
    )
    approvals.do_submit(post=post, actor=None)
    now = timezone.now() + timedelta(seconds=1)
    [pk] = publisher.claim(now=now)
    target = Target.objects.get(pk=pk)
    # The worker committed its attempt, the network took the post, and the worker died before recording it.
    Attempt.objects.create(target=target, part=0, idempotency_key=target.part_key(0), started_at=now)
    net.posts[target.part_key(0)] = {"native_id": "bsky-1", "text": "Hi", "reply_to": ""}
    net.can_look_up = False
    assert publish(net, at=now + publisher.LEASE + timedelta(seconds=1)) == {"outcome_unknown": 1}
    target.refresh_from_db()
    assert target.next_attempt_at is None and "cannot be asked" in target.error
    schedule.do_settle(
        target=target, actor=None, published=True, url="https://bsky.app/x", native_id="bsky-1"
    )
    target.refresh_from_db()
    assert target.state == TargetState.PUBLISHED and net.sent.total() == 0


def test_a_thread_resumes_after_the_parts_already_published(
    workspace: Workspace, channels: dict[str, Channel], net: FakeNetwork
) -> None:
    body = " ".join(f"Sentence number {n} tells a little more of the story." for n in range(12))
    post = compose.do_create_post(
        workspace=workspace, author=None, body=body, channel_ids=[channels["twitter"].pk]
    )
    target = post.targets.get()
    assert len(target.parts) == 3 and target.parts[0].endswith("1/3")
    approvals.do_submit(post=post, actor=None)
    net.refusals[target.part_key(1)] = "HTTP 403: duplicate content"
    assert publish(net) == {"failed": 1}
    del net.refusals[target.part_key(1)]
    schedule.do_retry(target=target, actor=None)
    assert publish(net) == {"published": 1}
    replies = [p["reply_to"] for p in net.posts.values()]
    assert replies == ["", "twitter-1", "twitter-2"] and net.sent.total() == 3


def test_next_free_slot_skips_taken_slots_and_keeps_local_time_across_dst(
    workspace: Workspace, channels: dict[str, Channel]
) -> None:
    channel = channels["mastodon"]
    schedule.do_set_slots(channel=channel, slots=[(6, time(9, 0)), (6, time(2, 30))])  # Sundays
    after = datetime(2027, 3, 20, 12, 0, tzinfo=UTC)  # the Saturday before Paris springs forward
    first = schedule.next_free_slot(channel=channel, zone="Europe/Paris", after=after)
    # 02:30 does not exist in Paris on 28 March 2027; 09:00 local is 07:00 UTC after the change.
    assert first == datetime(2027, 3, 21, 1, 30, tzinfo=UTC)
    post = compose.do_create_post(
        workspace=workspace, author=None, body="x", channel_ids=[channel.pk], scheduled_at=first
    )
    approvals.do_submit(post=post, actor=None)
    assert schedule.next_free_slot(channel=channel, zone="Europe/Paris", after=after) == datetime(
        2027, 3, 21, 8, 0, tzinfo=UTC
    )
    later = schedule.next_free_slot(
        channel=channel, zone="Europe/Paris", after=datetime(2027, 3, 27, tzinfo=UTC)
    )
    assert later == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)


def test_published_posts_cannot_change_and_bad_input_says_what_is_wrong(
    workspace: Workspace, channels: dict[str, Channel], net: FakeNetwork
) -> None:
    with pytest.raises(Invalid, match="needs some text"):
        compose.do_create_post(workspace=workspace, author=None, body=" ", channel_ids=[])
    with pytest.raises(Invalid, match="unknown option 'colour'"):
        compose.do_create_post(
            workspace=workspace, author=None, body="x", channel_ids=[], options={"colour": 1}
        )
    rss = Channel.objects.create(workspace=workspace, network="rss", handle="https://blog.example/feed")
    with pytest.raises(Invalid, match="cannot publish to"):
        compose.do_create_post(workspace=workspace, author=None, body="x", channel_ids=[rss.pk])
    post = compose.do_create_post(
        workspace=workspace, author=None, body="x", channel_ids=[channels["bluesky"].pk]
    )
    approvals.do_submit(post=post, actor=None)
    publish(net)
    with pytest.raises(Conflict, match="can no longer change"):
        compose.do_update_post(post=Post.objects.get(pk=post.pk), actor=None, changes={"body": "y"})


def test_cli_publish_run_sends_what_is_due_and_says_what_happened(
    workspace: Workspace, channels: dict[str, Channel]
) -> None:
    from click.testing import CliRunner

    from townhall.cli import main

    post = compose.do_create_post(
        workspace=workspace,
        author=None,
        body="Hi",
        channel_ids=[channels["bluesky"].pk],
        scheduled_at=timezone.now() + timedelta(hours=1),
    )
    approvals.do_submit(post=post, actor=None)
    Target.objects.update(scheduled_at=timezone.now())
    result = CliRunner().invoke(main, ["publish", "run", "--once"], catch_exceptions=False)
    # The channel has no credentials: the post fails with the connector's own words, nothing is guessed.
    assert result.exit_code == 0 and '"failed": 1' in result.output
    target = post.targets.get()
    assert target.state == TargetState.FAILED and target.error


def test_the_demo_workspace_has_posts_at_every_stage(
    workspace: Workspace, make_member: Callable[..., Any]
) -> None:
    from townhall.publishing.demo import do_seed_demo

    owner = make_member(workspace, "owner")
    do_seed_demo(workspace=workspace, owner=owner)
    do_seed_demo(workspace=workspace, owner=owner)  # a second run adds nothing
    statuses = sorted(Post.objects.filter(workspace=workspace).values_list("status", flat=True))
    assert statuses == ["awaiting_approval", "awaiting_approval", "draft", "scheduled"]
    assert all(t.parts for t in Target.objects.filter(post__workspace=workspace))


def test_a_post_with_media_is_refused_where_the_connector_cannot_attach_it(
    workspace: Workspace, channels: dict[str, Channel]
) -> None:
    photo = {"mime_type": "image/png", "size": 20_000, "filename": "launch.png", "alt_text": "The new app"}
    post = compose.do_create_post(
        workspace=workspace, author=None, body="Look!", channel_ids=[channels["bluesky"].pk], media=[photo]
    )
    [variant] = compose.target_previews(post)
    assert "cannot attach media through Townhall" in " ".join(variant.problems)
    with pytest.raises(Invalid, match="cannot attach media"):
        approvals.do_submit(post=post, actor=None)


def test_hashtags_moved_to_the_first_comment_are_commented_on_the_post(
    workspace: Workspace, channels: dict[str, Channel], net: FakeNetwork
) -> None:
    post = compose.do_create_post(
        workspace=workspace,
        author=None,
        body="New colours for spring.\n\n#spring #colour #design",
        channel_ids=[channels["mastodon"].pk],
        options={"hashtags": "first_comment"},
    )
    target = post.targets.get()
    assert target.parts == ["New colours for spring."] and target.first_comment == "#spring #colour #design"
    approvals.do_submit(post=post, actor=None)
    assert publish(net) == {"published": 1}
    sent = list(net.posts.values())
    assert [p["text"] for p in sent] == ["New colours for spring.", "#spring #colour #design"]
    assert sent[1]["reply_to"] == sent[0]["native_id"]


def test_an_answer_recorded_just_before_a_worker_died_is_used_without_asking_or_sending_again(
    workspace: Workspace, channels: dict[str, Channel], net: FakeNetwork
) -> None:
    post = compose.do_create_post(
        workspace=workspace, author=None, body="Hi", channel_ids=[channels["bluesky"].pk]
    )
    approvals.do_submit(post=post, actor=None)
    now = timezone.now() + timedelta(seconds=1)
    [pk] = publisher.claim(now=now)
    target = Target.objects.get(pk=pk)
    # The network answered and the attempt recorded it; the worker died before the target did.
    Attempt.objects.create(
        target=target,
        part=0,
        idempotency_key=target.part_key(0),
        outcome="published",
        native_id="at://did:plc:acme/app.bsky.feed.post/3k",
        url="https://bsky.app/profile/acme/post/3k",
        started_at=now,
    )
    assert publish(net, at=now + publisher.LEASE + timedelta(seconds=1)) == {"published": 1}
    target.refresh_from_db()
    assert target.url == "https://bsky.app/profile/acme/post/3k"
    assert net.sent.total() == 0 and net.lookups == []


def test_a_worker_whose_lease_ran_out_stops_and_the_next_one_does_not_send_again(
    workspace: Workspace, channels: dict[str, Channel], net: FakeNetwork
) -> None:
    post = compose.do_create_post(
        workspace=workspace, author=None, body="Hi", channel_ids=[channels["bluesky"].pk]
    )
    approvals.do_submit(post=post, actor=None)
    later = timezone.now() + publisher.LEASE + timedelta(minutes=1)
    # While the first worker waits for the network, its lease runs out and another worker claims the target.
    net.while_sending = lambda: publisher.claim(now=later) and None
    assert publish(net) == {"publishing": 1}
    net.while_sending = None
    target = Target.objects.get(post=post)
    assert target.state == TargetState.PUBLISHING and target.published_parts == []
    # The second worker finds the first one's recorded answer: nothing goes out twice.
    assert publisher.publish_target(target.pk, factory=net.connector, worker="second") == "published"
    assert net.sent[target.part_key(0)] == 1


def test_a_post_can_name_its_policy_and_keeps_the_one_it_was_submitted_under(
    workspace: Workspace, channels: dict[str, Channel], make_member: Callable[..., Any]
) -> None:
    author, legal, manager = (
        make_member(workspace, "agent"),
        make_member(workspace, "agent"),
        make_member(workspace, "manager"),
    )
    approvals.do_save_policy(
        workspace=workspace, name="Managers", steps=[StepIn("Review", role="manager")], is_default=True
    )
    legal_review = approvals.do_save_policy(
        workspace=workspace, name="Legal", steps=[StepIn("Legal", approver_ids=(legal.pk,))]
    )
    named = compose.do_create_post(
        workspace=workspace,
        author=author,
        body="Terms change",
        channel_ids=[channels["bluesky"].pk],
        policy_id=legal_review.pk,
    )
    usual = compose.do_create_post(
        workspace=workspace, author=author, body="Hello", channel_ids=[channels["bluesky"].pk]
    )
    approvals.do_submit(post=named, actor=author)
    approvals.do_submit(post=usual, actor=author)
    # The default changes after submission: the post under review keeps its reviewers.
    approvals.do_save_policy(
        workspace=workspace, name="Nobody", steps=[StepIn("x", role="owner")], is_default=True
    )
    with pytest.raises(Forbidden, match="not a reviewer"):
        approvals.do_decide(post=named, actor=manager, decision="approve")
    approvals.do_decide(post=named, actor=legal, decision="approve")
    approvals.do_decide(post=usual, actor=manager, decision="approve")
    assert {p.status for p in Post.objects.filter(pk__in=[named.pk, usual.pk])} == {PostStatus.SCHEDULED}
