"""The demo workspace's publishing: its own accounts, a campaign, queue slots, an approval policy and posts
at every stage (a draft, one awaiting approval, scheduled ones on the calendar).

The demo accounts have no credentials: the calendar and the composer work, and a post that comes due fails
with the network's "no credentials" message instead of pretending to publish.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from django.utils import timezone

from townhall.connectors.models import Channel, ChannelStatus
from townhall.publishing import approvals, compose, schedule
from townhall.publishing.approvals import StepIn
from townhall.publishing.models import Campaign, Post
from townhall.workspaces.models import Workspace

ACCOUNTS = (("twitter", "Delta"), ("bluesky", "delta.bsky.social"), ("mastodon", "delta@mastodon.social"))
POSTS = (
    (
        "Winter schedule",
        "Our winter schedule is live ❄️ 40 new routes, from Atlanta to Reykjavík. Plan your "
        "trip: https://www.delta.com/winter #TravelTuesday",
        2,
    ),
    (
        "Winter schedule",
        "Snow on the forecast? Check your flight status and rebook for free in the app: "
        "https://www.delta.com/status",
        4,
    ),
    ("", "Thank you to the crews who got 12,000 travellers home this weekend 💙", 6),
)


def do_seed_demo(*, workspace: Workspace, owner: Any) -> None:
    if Post.objects.filter(workspace=workspace).exists():
        return
    channels = []
    for network, handle in ACCOUNTS:
        channel, _ = Channel.objects.get_or_create(
            workspace=workspace,
            network=network,
            handle=handle,
            defaults={"is_ours": True, "status": ChannelStatus.PAUSED, "settings": {"paused": True}},
        )
        schedule.do_set_slots(channel=channel, slots=[(day, time(9, 0)) for day in range(5)])
        channels.append(channel.pk)
    campaign, _ = Campaign.objects.get_or_create(
        workspace=workspace, name="Winter schedule", defaults={"utm_campaign": "winter-schedule"}
    )
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    posts = [
        compose.do_create_post(
            workspace=workspace,
            author=owner,
            body=body,
            channel_ids=channels,
            campaign_id=campaign.pk if campaign_name else None,
            scheduled_at=start + timedelta(days=days, hours=2),
        )
        for campaign_name, body, days in POSTS
    ]
    approvals.do_submit(post=posts[2], actor=owner)  # submitted before there was a policy: scheduled
    approvals.do_save_policy(
        workspace=workspace,
        name="Managers review",
        steps=[StepIn("Social lead", role="manager")],
        is_default=True,
    )
    for post in posts[:2]:
        approvals.do_submit(post=post, actor=owner)  # awaits a manager's review
    compose.do_create_post(
        workspace=workspace,
        author=owner,
        body="Draft: which destination should we add next summer? Reply with your pick 🌍",
        channel_ids=channels,
    )
