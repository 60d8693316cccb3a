"""REST endpoints of publishing: campaigns, posts and variants, approvals, the schedule and the calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status

from townhall.connectors.models import Channel
from townhall.core.api_base import ERRORS, MAX_ID
from townhall.core.errors import Invalid, NotFound
from townhall.core.pagination import paginate_newest_first
from townhall.publishing import approvals, besttime, compose, media, schedule
from townhall.publishing.compose import Preview
from townhall.publishing.models import (
    Approval,
    ApprovalPolicy,
    Attempt,
    Campaign,
    Post,
    Target,
)
from townhall.publishing.schemas import (
    ApprovalRead,
    AttemptRead,
    BestSlotRead,
    BestTimesRead,
    CalendarEntry,
    CalendarRead,
    CampaignCreate,
    CampaignRead,
    CampaignUpdate,
    DecisionIn,
    DecisionRead,
    EventRead,
    HistoryRead,
    Instant,
    MediaIn,
    MediaRulesRead,
    NextSlotRead,
    OptionsIn,
    PartRead,
    PolicyIn,
    PolicyRead,
    PostCreate,
    PostPage,
    PostRead,
    PostStatusName,
    PostSummary,
    PostUpdate,
    PreviewIn,
    ScheduleIn,
    SettleIn,
    SlotRead,
    SlotsIn,
    SlotsRead,
    StepProgress,
    StepRead,
    TargetRead,
    TargetSummary,
    VariantIn,
    VariantRead,
)
from townhall.workspaces.models import Workspace
from townhall.workspaces.services import access_workspace, record_audit, zone_of

router = Router(tags=["publishing"])
BASE = "/workspaces/{slug}/publishing"
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CALENDAR_SPAN = timedelta(days=366)
# Query parameters typed as instants with an offset ("from" is a keyword in Python, hence the aliases).
SCHEDULED_FROM = Query(None, alias="from", description="Scheduled at or after")
SCHEDULED_TO = Query(None, alias="to", description="Scheduled before")
CALENDAR_START = Query(None, description="From (default: this week's Monday, 00:00 local)")
CALENDAR_END = Query(None, description="Until, excluded (default: a week after the start)")


# -- reading -----------------------------------------------------------------------------------------


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def _usernames(user_ids: set[int]) -> dict[int, str]:
    users = get_user_model().objects.filter(pk__in=user_ids)
    return {u.pk: u.get_username() for u in users}


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


def _parts(preview: Preview) -> list[PartRead]:
    return [
        PartRead.model_validate({"text": text, **checked})
        for text, checked in zip(preview.parts, preview.validations, strict=True)
    ]


def read_variant(preview: Preview) -> VariantRead:
    return VariantRead(
        channel_id=preview.channel.pk,
        channel=str(preview.channel),
        network=preview.network,
        parts=_parts(preview),
        first_comment=preview.first_comment,
        notes=list(preview.notes),
        problems=list(preview.problems),
        valid=preview.valid,
        edited=preview.edited,
    )


def read_target(target: Target, preview: Preview) -> TargetRead:
    return TargetRead(
        **read_variant(preview).model_dump(),
        state=target.state,
        scheduled_at=target.scheduled_at,
        published_at=target.published_at,
        url=target.url,
        native_id=target.native_id,
        error=target.error,
        attempts=target.attempts,
    )


def _targets(post: Post) -> dict[int, Target]:
    return {t.channel_id: t for t in post.targets.all()}


def read_post(post: Post) -> PostRead:
    targets = _targets(post)
    return PostRead(
        id=post.pk,
        title=post.title,
        body=post.body,
        status=post.status,
        campaign_id=post.campaign_id,
        campaign=post.campaign.name if post.campaign else None,
        author=_username(post.author),
        scheduled_at=post.scheduled_at,
        timezone=post.timezone,
        options=post.options,
        media=post.media,
        policy_id=post.policy_id,
        version=post.version,
        submitted_at=post.submitted_at,
        approved_at=post.approved_at,
        created_at=post.created_at,
        updated_at=post.updated_at,
        variants=[read_target(targets[p.channel.pk], p) for p in compose.target_previews(post)],
    )


def summarise(post: Post) -> PostSummary:
    return PostSummary(
        id=post.pk,
        title=post.title,
        body=post.body,
        status=post.status,
        campaign_id=post.campaign_id,
        campaign=post.campaign.name if post.campaign else None,
        author=_username(post.author),
        scheduled_at=post.scheduled_at,
        timezone=post.timezone,
        version=post.version,
        created_at=post.created_at,
        updated_at=post.updated_at,
        channels=[
            TargetSummary(
                channel_id=t.channel_id,
                channel=str(t.channel),
                network=t.network,
                state=t.state,
                scheduled_at=t.scheduled_at,
                url=t.url,
                error=t.error,
            )
            for t in post.targets.all()
        ],
    )


def read_approval(approval: Approval) -> ApprovalRead:
    return ApprovalRead(
        id=approval.pk,
        step=approval.step.name if approval.step else f"Step {approval.step_position + 1}",
        step_position=approval.step_position,
        user=_username(approval.user),
        decision=approval.decision,
        comment=approval.comment,
        version=approval.version,
        created_at=approval.created_at,
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


def read_slots(channel: Channel, zone: str) -> SlotsRead:
    return SlotsRead(
        channel_id=channel.pk,
        timezone=zone,
        slots=[
            SlotRead(weekday=s.weekday, day=DAYS[s.weekday], time=s.time.strftime("%H:%M"))
            for s in schedule.slots_of(channel=channel)
        ],
    )


# -- access ------------------------------------------------------------------------------------------


def _audit(request: HttpRequest, workspace: Workspace, action: str, target: Any, **detail: Any) -> None:
    record_audit(actor=request.user, action=action, target=target, workspace=workspace, detail=detail)


def _post(request: HttpRequest, slug: str, post_id: int, permission: str) -> Post:
    workspace = access_workspace(user=request.user, slug=slug, permission=permission)
    return _reload(workspace, post_id)


def _reload(workspace: Workspace, post_id: int) -> Post:
    post = compose.access_post_by_id(workspace=workspace, post_id=post_id)
    # Fetched again after a write: services hand back rows without the campaign and channels joined.
    return (
        Post.objects.select_related("campaign", "author", "workspace")
        .prefetch_related(
            Prefetch("targets", queryset=Target.objects.select_related("channel").order_by("pk"))
        )
        .get(pk=post.pk)
    )


def _own_channel(request: HttpRequest, slug: str, channel_id: int, permission: str) -> Channel:
    """One of the workspace's accounts that Townhall posts as."""
    workspace = access_workspace(user=request.user, slug=slug, permission=permission)
    return compose.publishable_channels(workspace=workspace, channel_ids=[channel_id])[0]


def _target_read(post: Post, channel_id: int) -> TargetRead:
    target = compose.access_target(post=post, channel_id=channel_id)
    preview = next(p for p in compose.target_previews(post) if p.channel.pk == channel_id)
    return read_target(target, preview)


def _later(when: datetime, delta: timedelta, field: str) -> datetime:
    try:
        return when + delta
    except OverflowError:
        raise Invalid(f"{field} is too far in the future", field=field) from None


def _options(options: OptionsIn | None) -> dict[str, Any]:
    return options.model_dump(exclude_none=True) if options else {}


def _media(attachments: list[MediaIn] | None) -> list[dict[str, Any]]:
    return [a.model_dump(exclude_none=True) for a in attachments or []]


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
    _audit(request, workspace, "campaign.create", campaign, name=campaign.name)
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
    _audit(request, workspace, "campaign.update", campaign, fields=sorted(changes))
    return read_campaign(campaign, campaign.posts.count())


@router.delete(f"{BASE}/campaigns/{{campaign_id}}", response={204: None, **ERRORS})
def delete_campaign(request: HttpRequest, slug: str, campaign_id: int) -> Status[None]:
    """Delete a campaign that has no posts."""
    workspace = access_workspace(user=request.user, slug=slug, permission="publishing.manage")
    campaign = compose.access_campaign_by_id(workspace=workspace, campaign_id=campaign_id)
    _audit(request, workspace, "campaign.delete", campaign, name=campaign.name)
    compose.do_delete_campaign(campaign=campaign)
    return Status(204, None)


# -- composing ---------------------------------------------------------------------------------------


@router.post(f"{BASE}/preview", response={200: list[VariantRead], **ERRORS})
def preview(request: HttpRequest, slug: str, payload: PreviewIn) -> list[VariantRead]:
    """The editor's live validation: each channel's variant, its counts and problems; nothing is stored."""
    workspace = access_workspace(user=request.user, slug=slug, permission="publishing.view")
    shown = compose.previews(
        workspace=workspace,
        body=payload.body,
        channel_ids=payload.channel_ids,
        options=_options(payload.options),
        campaign_id=payload.campaign_id,
        media=_media(payload.media),
    )
    return [read_variant(p) for p in shown]


@router.get(f"{BASE}/posts", response={200: PostPage, **ERRORS})
def list_posts(
    request: HttpRequest,
    slug: str,
    status: PostStatusName | None = None,
    campaign: int | None = Query(None, ge=1, le=MAX_ID),
    channel: int | None = Query(None, ge=1, le=MAX_ID),
    scheduled_from: Instant | None = SCHEDULED_FROM,
    scheduled_to: Instant | None = SCHEDULED_TO,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
) -> PostPage:
    """Posts newest first, with where each channel's variant stands."""
    workspace = access_workspace(user=request.user, slug=slug, permission="publishing.view")
    posts = compose.posts_of(workspace=workspace).prefetch_related(
        Prefetch("targets", queryset=Target.objects.select_related("channel").order_by("pk"))
    )
    if status:
        posts = posts.filter(status=status)
    if campaign:
        posts = posts.filter(campaign_id=campaign)
    if channel:
        posts = posts.filter(targets__channel_id=channel)
    if scheduled_from:
        posts = posts.filter(scheduled_at__gte=scheduled_from)
    if scheduled_to:
        posts = posts.filter(scheduled_at__lt=scheduled_to)
    page = paginate_newest_first(posts, field="created_at", cursor=cursor, limit=limit)
    return PostPage(items=[summarise(p) for p in page.items], next_cursor=page.next_cursor)


@router.post(f"{BASE}/posts", response={201: PostRead, **ERRORS})
def create_post(request: HttpRequest, slug: str, payload: PostCreate) -> Status[PostRead]:
    """A draft with one adapted variant per channel; nothing is sent until it is submitted and approved."""
    workspace = access_workspace(user=request.user, slug=slug, permission="publishing.write")
    post = compose.do_create_post(
        workspace=workspace,
        author=request.user,
        body=payload.body,
        channel_ids=payload.channel_ids,
        title=payload.title,
        campaign_id=payload.campaign_id,
        scheduled_at=payload.scheduled_at,
        zone=payload.timezone,
        options=_options(payload.options),
        media=_media(payload.media),
    )
    _audit(request, workspace, "post.create", post, channels=list(payload.channel_ids))
    return Status(201, read_post(_reload(workspace, post.pk)))


@router.get(f"{BASE}/posts/{{post_id}}", response={200: PostRead, **ERRORS})
def get_post(request: HttpRequest, slug: str, post_id: int) -> PostRead:
    """The post with each channel's variant: its parts as the network counts them, notes and problems."""
    return read_post(_post(request, slug, post_id, "publishing.view"))


@router.patch(f"{BASE}/posts/{{post_id}}", response={200: PostRead, **ERRORS})
def update_post(request: HttpRequest, slug: str, post_id: int, payload: PostUpdate) -> PostRead:
    """Edit the post; a change to what would be published sends it back for approval."""
    post = _post(request, slug, post_id, "publishing.write")
    changes = payload.model_dump(exclude_unset=True)
    for name in ("body", "channel_ids", "timezone"):
        if name in changes and changes[name] is None:
            raise Invalid(f"{name} cannot be null", field=name)
    if "options" in changes:
        changes["options"] = _options(payload.options)
    if "media" in changes:
        changes["media"] = _media(payload.media)
    compose.do_update_post(post=post, actor=request.user, changes=changes)
    _audit(request, post.workspace, "post.update", post, fields=sorted(changes))
    return read_post(_reload(post.workspace, post.pk))


@router.delete(f"{BASE}/posts/{{post_id}}", response={204: None, **ERRORS})
def delete_post(request: HttpRequest, slug: str, post_id: int) -> Status[None]:
    """Delete a post that never went out: a draft, or one sent back, expired or cancelled before sending."""
    post = _post(request, slug, post_id, "publishing.write")
    _audit(request, post.workspace, "post.delete", post, title=str(post))
    compose.do_delete_post(post=post)
    return Status(204, None)


@router.put(f"{BASE}/posts/{{post_id}}/variants/{{channel_id}}", response={200: TargetRead, **ERRORS})
def edit_variant(
    request: HttpRequest, slug: str, post_id: int, channel_id: int, payload: VariantIn
) -> TargetRead:
    """Write one channel's variant by hand (its parts), or send {"parts": null} to adapt it again."""
    post = _post(request, slug, post_id, "publishing.write")
    target = compose.access_target(post=post, channel_id=channel_id)
    compose.do_edit_variant(target=target, actor=request.user, parts=payload.parts)
    _audit(
        request,
        post.workspace,
        "post.variant_edit",
        post,
        channel=channel_id,
        by_hand=payload.parts is not None,
    )
    return _target_read(_reload(post.workspace, post.pk), channel_id)


# -- approvals ---------------------------------------------------------------------------------------


@router.post(f"{BASE}/posts/{{post_id}}/submit", response={200: PostRead, **ERRORS})
def submit_post(request: HttpRequest, slug: str, post_id: int) -> PostRead:
    """Send the post to its reviewers, or straight to the schedule when no approval policy applies."""
    post = _post(request, slug, post_id, "publishing.write")
    approvals.do_submit(post=post, actor=request.user)
    _audit(request, post.workspace, "post.submit", post)
    return read_post(_reload(post.workspace, post.pk))


@router.post(f"{BASE}/posts/{{post_id}}/decisions", response={201: DecisionRead, **ERRORS})
def decide(request: HttpRequest, slug: str, post_id: int, payload: DecisionIn) -> Status[DecisionRead]:
    """Approve the post's current version at its current step, or request changes with a comment.

    Only the step's reviewers decide, and never on their own post; the last approval schedules it.
    """
    post = _post(request, slug, post_id, "publishing.write")
    approval = approvals.do_decide(
        post=post, actor=request.user, decision=payload.decision, comment=payload.comment
    )
    _audit(request, post.workspace, "post.decide", post, decision=payload.decision, version=approval.version)
    post.refresh_from_db(fields=["status"])
    approval = Approval.objects.select_related("step", "user").get(pk=approval.pk)
    return Status(201, DecisionRead(**read_approval(approval).model_dump(), post_status=post.status))


@router.get(f"{BASE}/posts/{{post_id}}/history", response={200: HistoryRead, **ERRORS})
def post_history(request: HttpRequest, slug: str, post_id: int) -> HistoryRead:
    """Every event of the post, its reviewers' decisions, and where its approval stands step by step."""
    post = _post(request, slug, post_id, "publishing.view")
    progress = approvals.progress(post)
    names = _usernames({pk for s in progress for pk in s.reviewers | s.approved_by})
    steps = [
        StepProgress(
            position=s.step.position,
            name=s.step.name,
            mode=s.step.mode,
            met=s.met,
            approved_by=sorted(names[pk] for pk in s.approved_by if pk in names),
            waiting_for=sorted(names[pk] for pk in s.waiting_for if pk in names),
        )
        for s in progress
    ]
    decided = post.approvals.select_related("step", "user").order_by("created_at", "pk")
    return HistoryRead(
        post_id=post.pk,
        status=post.status,
        version=post.version,
        steps=steps,
        events=[
            EventRead(
                id=e.pk, kind=e.kind, actor=_username(e.actor), detail=e.detail, created_at=e.created_at
            )
            for e in approvals.history(post)
        ],
        approvals=[read_approval(a) for a in decided],
    )


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
    _audit(request, workspace, "approval_policy.create", policy, name=policy.name)
    return Status(201, read_policy(policy))


@router.put(f"{BASE}/approval-policies/{{approval_policy_id}}", response={200: PolicyRead, **ERRORS})
def replace_policy(request: HttpRequest, slug: str, approval_policy_id: int, payload: PolicyIn) -> PolicyRead:
    workspace = access_workspace(user=request.user, slug=slug, permission="publishing.manage")
    policy = approvals.access_policy_by_id(workspace=workspace, policy_id=approval_policy_id)
    policy = _save_policy(workspace, payload, policy)
    _audit(request, workspace, "approval_policy.update", policy, name=policy.name)
    return read_policy(policy)


@router.delete(f"{BASE}/approval-policies/{{approval_policy_id}}", response={204: None, **ERRORS})
def delete_policy(request: HttpRequest, slug: str, approval_policy_id: int) -> Status[None]:
    """Delete a policy no post is waiting on; posts that named it follow the default policy."""
    workspace = access_workspace(user=request.user, slug=slug, permission="publishing.manage")
    policy = approvals.access_policy_by_id(workspace=workspace, policy_id=approval_policy_id)
    _audit(request, workspace, "approval_policy.delete", policy, name=policy.name)
    approvals.do_delete_policy(policy=policy)
    return Status(204, None)


# -- the schedule ------------------------------------------------------------------------------------


@router.post(f"{BASE}/posts/{{post_id}}/schedule", response={200: PostRead, **ERRORS})
def reschedule(request: HttpRequest, slug: str, post_id: int, payload: ScheduleIn) -> PostRead:
    """Move the post to another time, or {"scheduled_at": null} to publish it at once."""
    post = _post(request, slug, post_id, "publishing.manage")
    schedule.do_reschedule(post=post, actor=request.user, when=payload.scheduled_at)
    when = payload.scheduled_at.isoformat() if payload.scheduled_at else "now"
    _audit(request, post.workspace, "post.schedule", post, at=when)
    return read_post(_reload(post.workspace, post.pk))


@router.post(f"{BASE}/posts/{{post_id}}/cancel", response={200: PostRead, **ERRORS})
def cancel_post(request: HttpRequest, slug: str, post_id: int) -> PostRead:
    """Take the post off the schedule; what is already published stays."""
    post = _post(request, slug, post_id, "publishing.manage")
    schedule.do_cancel(post=post, actor=request.user)
    _audit(request, post.workspace, "post.cancel", post)
    return read_post(_reload(post.workspace, post.pk))


@router.post(f"{BASE}/posts/{{post_id}}/targets/{{channel_id}}/retry", response={200: TargetRead, **ERRORS})
def retry_target(request: HttpRequest, slug: str, post_id: int, channel_id: int) -> TargetRead:
    """Send a failed variant again (an unknown outcome is looked up first, so nothing is posted twice)."""
    post = _post(request, slug, post_id, "publishing.manage")
    schedule.do_retry(target=compose.access_target(post=post, channel_id=channel_id), actor=request.user)
    _audit(request, post.workspace, "post.retry", post, channel=channel_id)
    return _target_read(_reload(post.workspace, post.pk), channel_id)


@router.post(f"{BASE}/posts/{{post_id}}/targets/{{channel_id}}/settle", response={200: TargetRead, **ERRORS})
def settle_target(
    request: HttpRequest, slug: str, post_id: int, channel_id: int, payload: SettleIn
) -> TargetRead:
    """Settle an outcome the network cannot be asked about: the post is there (give its link), or not."""
    post = _post(request, slug, post_id, "publishing.manage")
    target = compose.access_target(post=post, channel_id=channel_id)
    schedule.do_settle(
        target=target,
        actor=request.user,
        published=payload.published,
        url=payload.url,
        native_id=payload.native_id,
    )
    _audit(request, post.workspace, "post.settle", post, channel=channel_id, published=payload.published)
    return _target_read(_reload(post.workspace, post.pk), channel_id)


@router.get(f"{BASE}/posts/{{post_id}}/attempts", response={200: list[AttemptRead], **ERRORS})
def post_attempts(request: HttpRequest, slug: str, post_id: int) -> list[AttemptRead]:
    """Every attempt to send (or look up) each part of each variant, with its idempotency key and outcome."""
    post = _post(request, slug, post_id, "publishing.view")
    rows = Attempt.objects.filter(target__post=post).select_related("target__channel")
    return [
        AttemptRead(
            id=a.pk,
            channel_id=a.target.channel_id,
            channel=str(a.target.channel),
            part=a.part,
            action=a.action,
            outcome=a.outcome,
            idempotency_key=a.idempotency_key,
            worker=a.worker,
            native_id=a.native_id,
            error=a.error,
            started_at=a.started_at,
            finished_at=a.finished_at,
        )
        for a in rows.order_by("started_at", "pk")
    ]


@router.get(f"{BASE}/channels/{{channel_id}}/slots", response={200: SlotsRead, **ERRORS})
def get_slots(request: HttpRequest, slug: str, channel_id: int) -> SlotsRead:
    """The channel's queue: the weekly local times it posts at."""
    channel = _own_channel(request, slug, channel_id, "publishing.view")
    return read_slots(channel, zone_of(workspace=channel.workspace).key)


@router.put(f"{BASE}/channels/{{channel_id}}/slots", response={200: SlotsRead, **ERRORS})
def set_slots(request: HttpRequest, slug: str, channel_id: int, payload: SlotsIn) -> SlotsRead:
    """Replace the channel's queue; times are local to the workspace's zone."""
    channel = _own_channel(request, slug, channel_id, "publishing.manage")
    schedule.do_set_slots(channel=channel, slots=[(s.weekday, s.time) for s in payload.slots])
    _audit(request, channel.workspace, "queue_slots.set", channel, slots=len(payload.slots))
    return read_slots(channel, zone_of(workspace=channel.workspace).key)


@router.get(f"{BASE}/channels/{{channel_id}}/next-slot", response={200: NextSlotRead, **ERRORS})
def next_slot(request: HttpRequest, slug: str, channel_id: int, after: Instant | None = None) -> NextSlotRead:
    """The channel's first queue slot after `after` (now) with nothing scheduled in it."""
    channel = _own_channel(request, slug, channel_id, "publishing.view")
    zone = zone_of(workspace=channel.workspace)
    if after is not None:
        _later(after, timedelta(days=schedule.SLOT_HORIZON_DAYS + 1), "after")
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
    channel = _own_channel(request, slug, channel_id, "publishing.view")
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
    end = end or _later(start, timedelta(days=7), "start")
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
