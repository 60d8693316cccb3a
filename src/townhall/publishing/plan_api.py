"""REST endpoints of publishing's planning: campaigns, approval policies, queue slots, best times, the
calendar and media rules.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status

from townhall.connectors.models import Channel
from townhall.core.api_base import ERRORS, MAX_ID
from townhall.core.errors import Invalid, NotFound
from townhall.publishing import approvals, besttime, compose, media, schedule
from townhall.publishing.api import BASE, audit, later_than, own_channel
from townhall.publishing.models import (
    ApprovalPolicy,
    Campaign,
)
from townhall.publishing.schemas import (
    BestSlotRead,
    BestTimesRead,
    CalendarEntry,
    CalendarRead,
    CampaignCreate,
    CampaignRead,
    CampaignUpdate,
    Instant,
    MediaRulesRead,
    NextSlotRead,
    PolicyIn,
    PolicyRead,
    PostStatusName,
    SlotRead,
    SlotsIn,
    SlotsRead,
    StepRead,
)
from townhall.workspaces.models import Workspace
from townhall.workspaces.services import access_workspace, zone_of

router = Router(tags=["publishing"])
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CALENDAR_SPAN = timedelta(days=366)
CALENDAR_START = Query(None, description="From (default: this week's Monday, 00:00 local)")
CALENDAR_END = Query(None, description="Until, excluded (default: a week after the start)")


def read_slots(channel: Channel, zone: str) -> SlotsRead:
    return SlotsRead(
        channel_id=channel.pk,
        timezone=zone,
        slots=[
            SlotRead(weekday=s.weekday, day=DAYS[s.weekday], time=s.time.strftime("%H:%M"))
            for s in schedule.slots_of(channel=channel)
        ],
    )


def read_policy(policy: ApprovalPolicy) -> PolicyRead:
    return PolicyRead(
        id=policy.pk,
        name=policy.name,
        is_default=policy.is_default,
        deadline_minutes=policy.deadline_minutes,
        created_at=policy.created_at,
        steps=[
            StepRead(
                position=step.position,
                name=step.name,
                mode=step.mode,
                role=step.role,
                approver_ids=[u.pk for u in step.approvers.all()],
                approvers=[u.get_username() for u in step.approvers.all()],
            )
            for step in policy.steps.all()
        ],
    )


def read_campaign(campaign: Campaign, posts: int) -> CampaignRead:
    return CampaignRead(
        id=campaign.pk,
        name=campaign.name,
        description=campaign.description,
        color=campaign.color,
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        utm_campaign=campaign.utm_campaign,
        posts=posts,
        created_at=campaign.created_at,
    )


# -- campaigns ---------------------------------------------------------------------------------------


@router.get(f"{BASE}/campaigns", response={200: list[CampaignRead], **ERRORS})
def list_campaigns(request: HttpRequest, slug: str) -> list[CampaignRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="publishing.view")
    campaigns = compose.campaigns_of(workspace=workspace).annotate(post_count=Count("posts"))
    return [read_campaign(c, c.post_count) for c in campaigns]


@router.post(f"{BASE}/campaigns", response={201: CampaignRead, **ERRORS})
def create_campaign(request: HttpRequest, slug: str, payload: CampaignCreate) -> Status[CampaignRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="publishing.manage")
    campaign = compose.do_save_campaign(workspace=workspace, **payload.model_dump())
    audit(request, workspace, "campaign.create", campaign, name=campaign.name)
    return Status(201, read_campaign(campaign, 0))


@router.get(f"{BASE}/campaigns/{{campaign_id}}", response={200: CampaignRead, **ERRORS})
def get_campaign(request: HttpRequest, slug: str, campaign_id: int) -> CampaignRead:
    workspace = access_workspace(user=request.user, slug=slug, permission="publishing.view")
    campaign = compose.access_campaign_by_id(workspace=workspace, campaign_id=campaign_id)
    return read_campaign(campaign, campaign.posts.count())


@router.patch(f"{BASE}/campaigns/{{campaign_id}}", response={200: CampaignRead, **ERRORS})
def update_campaign(
    request: HttpRequest, slug: str, campaign_id: int, payload: CampaignUpdate
) -> CampaignRead:
    """Change a campaign; the posts not yet published adapt their links to a new utm_campaign."""
    workspace = access_workspace(user=request.user, slug=slug, permission="publishing.manage")
    campaign = compose.access_campaign_by_id(workspace=workspace, campaign_id=campaign_id)
    changes = payload.model_dump(exclude_unset=True)
    for name in ("name", "description", "color", "utm_campaign"):
        if changes.get(name, "") is None:
            raise Invalid(f"{name} cannot be null", field=name)
    campaign = compose.do_save_campaign(workspace=workspace, campaign=campaign, **changes)
    audit(request, workspace, "campaign.update", campaign, fields=sorted(changes))
    return read_campaign(campaign, campaign.posts.count())


@router.delete(f"{BASE}/campaigns/{{campaign_id}}", response={204: None, **ERRORS})
def delete_campaign(request: HttpRequest, slug: str, campaign_id: int) -> Status[None]:
    """Delete a campaign that has no posts."""
    workspace = access_workspace(user=request.user, slug=slug, permission="publishing.manage")
    campaign = compose.access_campaign_by_id(workspace=workspace, campaign_id=campaign_id)
    audit(request, workspace, "campaign.delete", campaign, name=campaign.name)
    compose.do_delete_campaign(campaign=campaign)
    return Status(204, None)


# -- approval policies ----------------------------------------------------------------------------


@router.get(f"{BASE}/approval-policies", response={200: list[PolicyRead], **ERRORS})
def list_policies(request: HttpRequest, slug: str) -> list[PolicyRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="publishing.view")
    return [read_policy(p) for p in approvals.policies_of(workspace=workspace)]


def _save_policy(workspace: Workspace, payload: PolicyIn, policy: ApprovalPolicy | None) -> ApprovalPolicy:
    steps = [
        approvals.StepIn(
            name=s.name, mode=s.mode, role=s.role, approver_ids=tuple(dict.fromkeys(s.approver_ids))
        )
        for s in payload.steps
    ]
    saved = approvals.do_save_policy(
        workspace=workspace,
        name=payload.name,
        steps=steps,
        is_default=payload.is_default,
        deadline_minutes=payload.deadline_minutes,
        policy=policy,
    )
    return approvals.access_policy_by_id(workspace=workspace, policy_id=saved.pk)


@router.post(f"{BASE}/approval-policies", response={201: PolicyRead, **ERRORS})
def create_policy(request: HttpRequest, slug: str, payload: PolicyIn) -> Status[PolicyRead]:
    """Who approves posts: ordered steps, each a role or named members, any one or all of them."""
    workspace = access_workspace(user=request.user, slug=slug, permission="publishing.manage")
    policy = _save_policy(workspace, payload, None)
    audit(request, workspace, "approval_policy.create", policy, name=policy.name)
    return Status(201, read_policy(policy))


@router.put(f"{BASE}/approval-policies/{{approval_policy_id}}", response={200: PolicyRead, **ERRORS})
def replace_policy(request: HttpRequest, slug: str, approval_policy_id: int, payload: PolicyIn) -> PolicyRead:
    workspace = access_workspace(user=request.user, slug=slug, permission="publishing.manage")
    policy = approvals.access_policy_by_id(workspace=workspace, policy_id=approval_policy_id)
    policy = _save_policy(workspace, payload, policy)
    audit(request, workspace, "approval_policy.update", policy, name=policy.name)
    return read_policy(policy)


@router.delete(f"{BASE}/approval-policies/{{approval_policy_id}}", response={204: None, **ERRORS})
def delete_policy(request: HttpRequest, slug: str, approval_policy_id: int) -> Status[None]:
    """Delete a policy no post is waiting on; posts that named it follow the default policy."""
    workspace = access_workspace(user=request.user, slug=slug, permission="publishing.manage")
    policy = approvals.access_policy_by_id(workspace=workspace, policy_id=approval_policy_id)
    audit(request, workspace, "approval_policy.delete", policy, name=policy.name)
    approvals.do_delete_policy(policy=policy)
    return Status(204, None)


@router.get(f"{BASE}/channels/{{channel_id}}/slots", response={200: SlotsRead, **ERRORS})
def get_slots(request: HttpRequest, slug: str, channel_id: int) -> SlotsRead:
    """The channel's queue: the weekly local times it posts at."""
    channel = own_channel(request, slug, channel_id, "publishing.view")
    return read_slots(channel, zone_of(workspace=channel.workspace).key)


@router.put(f"{BASE}/channels/{{channel_id}}/slots", response={200: SlotsRead, **ERRORS})
def set_slots(request: HttpRequest, slug: str, channel_id: int, payload: SlotsIn) -> SlotsRead:
    """Replace the channel's queue; times are local to the workspace's zone."""
    channel = own_channel(request, slug, channel_id, "publishing.manage")
    schedule.do_set_slots(channel=channel, slots=[(s.weekday, s.time) for s in payload.slots])
    audit(request, channel.workspace, "queue_slots.set", channel, slots=len(payload.slots))
    return read_slots(channel, zone_of(workspace=channel.workspace).key)


@router.get(f"{BASE}/channels/{{channel_id}}/next-slot", response={200: NextSlotRead, **ERRORS})
def next_slot(request: HttpRequest, slug: str, channel_id: int, after: Instant | None = None) -> NextSlotRead:
    """The channel's first queue slot after `after` (now) with nothing scheduled in it."""
    channel = own_channel(request, slug, channel_id, "publishing.view")
    zone = zone_of(workspace=channel.workspace)
    if after is not None:
        later_than(after, timedelta(days=schedule.SLOT_HORIZON_DAYS + 1), "after")
    at = schedule.next_free_slot(channel=channel, zone=zone.key, after=after)
    return NextSlotRead(channel_id=channel.pk, at=at, local=at.astimezone(zone), timezone=zone.key)


@router.get(f"{BASE}/channels/{{channel_id}}/best-times", response={200: BestTimesRead, **ERRORS})
def best_times(
    request: HttpRequest,
    slug: str,
    channel_id: int,
    days: int = Query(180, ge=7, le=730, description="How far back our posts count"),
    top: int = Query(5, ge=1, le=24),
) -> BestTimesRead:
    """The hours of the week (in the workspace's zone) the channel's posts earn most, from our own history."""
    channel = own_channel(request, slug, channel_id, "publishing.view")
    zone = zone_of(workspace=channel.workspace).key
    found = besttime.best_times(channel=channel, tz=zone, now=timezone.now(), days=days, top=top)
    return BestTimesRead(
        channel_id=channel.pk,
        timezone=zone,
        basis=found.basis,
        posts=found.posts,
        prior_posts=found.prior_posts,
        top=[
            BestSlotRead(
                hour_of_week=s.hour_of_week,
                weekday=s.weekday,
                hour=s.hour,
                expected=s.expected,
                low=s.low,
                high=s.high,
                posts=s.posts,
                rate_per_1k=s.rate_per_1k,
            )
            for s in found.top
        ],
        scores=list(found.scores),
    )


@router.get(f"{BASE}/calendar", response={200: CalendarRead, **ERRORS})
def calendar(
    request: HttpRequest,
    slug: str,
    start: Instant | None = CALENDAR_START,
    end: Instant | None = CALENDAR_END,
    channel: int | None = Query(None, ge=1, le=MAX_ID),
    campaign: int | None = Query(None, ge=1, le=MAX_ID),
    status: PostStatusName | None = None,
) -> CalendarRead:
    """What is scheduled or published between two instants, each at its local time in the workspace's zone."""
    workspace = access_workspace(user=request.user, slug=slug, permission="publishing.view")
    zone = zone_of(workspace=workspace)
    if start is None:
        today = timezone.now().astimezone(zone).date()
        monday = datetime.combine(today - timedelta(days=today.weekday()), datetime.min.time(), tzinfo=zone)
        start = monday.astimezone(UTC)
    end = end or later_than(start, timedelta(days=7), "start")
    if end <= start:
        raise Invalid("end must be after start", field="end")
    if end - start > CALENDAR_SPAN:
        raise Invalid("a calendar spans at most 366 days", field="end")
    entries = schedule.calendar(
        workspace=workspace,
        start=start,
        end=end,
        channel_ids=[channel] if channel else None,
        campaign_id=campaign,
        statuses=[status] if status else None,
    )
    return CalendarRead(
        timezone=zone.key,
        start=start,
        end=end,
        entries=[
            CalendarEntry(
                post_id=e.post.pk,
                title=str(e.post),
                text=(e.target.parts[0] if e.target.parts else e.post.body)[:280],
                status=e.post.status,
                state=e.target.state,
                channel_id=e.target.channel_id,
                channel=str(e.target.channel),
                network=e.target.network,
                campaign_id=e.post.campaign_id,
                campaign=e.post.campaign.name if e.post.campaign else None,
                color=e.post.campaign.color if e.post.campaign else None,
                at=e.local.astimezone(UTC),
                local=e.local,
                url=e.target.url,
            )
            for e in entries
        ],
    )


@router.get(f"{BASE}/networks/{{network}}/media", response={200: MediaRulesRead, **ERRORS})
def media_rules(request: HttpRequest, slug: str, network: str) -> dict[str, Any]:
    """What a network accepts as attachments: kinds, types, sizes, counts and alt text."""
    access_workspace(user=request.user, slug=slug, permission="publishing.view")
    try:
        return media.describe(network)
    except ValueError as exc:
        raise NotFound(str(exc), field="network") from None
