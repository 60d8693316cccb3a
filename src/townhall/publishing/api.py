"""REST endpoints of publishing: posts and their variants, live preview, approval decisions, the schedule."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.http import HttpRequest
from ninja import Query, Router, Status

from townhall.connectors.models import Channel
from townhall.core.api_base import ERRORS, MAX_ID
from townhall.core.errors import Invalid
from townhall.core.pagination import paginate_newest_first
from townhall.publishing import approvals, compose, schedule
from townhall.publishing.compose import Preview
from townhall.publishing.models import (
    Approval,
    Attempt,
    Post,
    Target,
)
from townhall.publishing.schemas import (
    ApprovalRead,
    AttemptRead,
    DecisionIn,
    DecisionRead,
    EventRead,
    HistoryRead,
    Instant,
    MediaIn,
    OptionsIn,
    PartRead,
    PostCreate,
    PostPage,
    PostRead,
    PostStatusName,
    PostSummary,
    PostUpdate,
    PreviewIn,
    ScheduleIn,
    SettleIn,
    StepProgress,
    TargetRead,
    TargetSummary,
    VariantIn,
    VariantRead,
)
from townhall.workspaces.models import Workspace
from townhall.workspaces.services import access_workspace, record_audit

router = Router(tags=["publishing"])
BASE = "/workspaces/{slug}/publishing"
# Query parameters typed as instants with an offset ("from" is a keyword in Python, hence the aliases).
SCHEDULED_FROM = Query(None, alias="from", description="Scheduled at or after")
SCHEDULED_TO = Query(None, alias="to", description="Scheduled before")


# -- reading -----------------------------------------------------------------------------------------


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def _usernames(user_ids: set[int]) -> dict[int, str]:
    users = get_user_model().objects.filter(pk__in=user_ids)
    return {u.pk: u.get_username() for u in users}


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


def _post_fields(post: Post) -> dict[str, Any]:
    return {
        "id": post.pk,
        "title": post.title,
        "body": post.body,
        "status": post.status,
        "campaign_id": post.campaign_id,
        "campaign": post.campaign.name if post.campaign else None,
        "author": _username(post.author),
        "scheduled_at": post.scheduled_at,
        "timezone": post.timezone,
        "version": post.version,
        "created_at": post.created_at,
        "updated_at": post.updated_at,
    }


def read_post(post: Post) -> PostRead:
    targets = _targets(post)
    return PostRead(
        **_post_fields(post),
        options=post.options,
        media=post.media,
        policy_id=post.policy_id,
        submitted_at=post.submitted_at,
        approved_at=post.approved_at,
        variants=[read_target(targets[p.channel.pk], p) for p in compose.target_previews(post)],
    )


def summarise(post: Post) -> PostSummary:
    return PostSummary(
        **_post_fields(post),
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


# -- access ------------------------------------------------------------------------------------------


def audit(request: HttpRequest, workspace: Workspace, action: str, target: Any, **detail: Any) -> None:
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


def own_channel(request: HttpRequest, slug: str, channel_id: int, permission: str) -> Channel:
    """One of the workspace's accounts that Townhall posts as."""
    workspace = access_workspace(user=request.user, slug=slug, permission=permission)
    return compose.publishable_channels(workspace=workspace, channel_ids=[channel_id])[0]


def _target_read(post: Post, channel_id: int) -> TargetRead:
    target = compose.access_target(post=post, channel_id=channel_id)
    preview = next(p for p in compose.target_previews(post) if p.channel.pk == channel_id)
    return read_target(target, preview)


def later_than(when: datetime, delta: timedelta, field: str) -> datetime:
    try:
        return when + delta
    except OverflowError:
        raise Invalid(f"{field} is too far in the future", field=field) from None


def _options(options: OptionsIn | None) -> dict[str, Any]:
    return options.model_dump(exclude_none=True) if options else {}


def _media(attachments: list[MediaIn] | None) -> list[dict[str, Any]]:
    return [a.model_dump(exclude_none=True) for a in attachments or []]


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
        policy_id=payload.approval_policy_id,
    )
    audit(request, workspace, "post.create", post, channels=list(payload.channel_ids))
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
    audit(request, post.workspace, "post.update", post, fields=sorted(changes))
    return read_post(_reload(post.workspace, post.pk))


@router.delete(f"{BASE}/posts/{{post_id}}", response={204: None, **ERRORS})
def delete_post(request: HttpRequest, slug: str, post_id: int) -> Status[None]:
    """Delete a post that never went out: a draft, or one sent back, expired or cancelled before sending."""
    post = _post(request, slug, post_id, "publishing.write")
    audit(request, post.workspace, "post.delete", post, title=str(post))
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
    audit(
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
    audit(request, post.workspace, "post.submit", post)
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
    audit(request, post.workspace, "post.decide", post, decision=payload.decision, version=approval.version)
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


# -- the schedule ------------------------------------------------------------------------------------


@router.post(f"{BASE}/posts/{{post_id}}/schedule", response={200: PostRead, **ERRORS})
def reschedule(request: HttpRequest, slug: str, post_id: int, payload: ScheduleIn) -> PostRead:
    """Move the post to another time, or {"scheduled_at": null} to publish it at once."""
    post = _post(request, slug, post_id, "publishing.manage")
    schedule.do_reschedule(post=post, actor=request.user, when=payload.scheduled_at)
    when = payload.scheduled_at.isoformat() if payload.scheduled_at else "now"
    audit(request, post.workspace, "post.schedule", post, at=when)
    return read_post(_reload(post.workspace, post.pk))


@router.post(f"{BASE}/posts/{{post_id}}/cancel", response={200: PostRead, **ERRORS})
def cancel_post(request: HttpRequest, slug: str, post_id: int) -> PostRead:
    """Take the post off the schedule; what is already published stays."""
    post = _post(request, slug, post_id, "publishing.manage")
    schedule.do_cancel(post=post, actor=request.user)
    audit(request, post.workspace, "post.cancel", post)
    return read_post(_reload(post.workspace, post.pk))


@router.post(f"{BASE}/posts/{{post_id}}/targets/{{channel_id}}/retry", response={200: TargetRead, **ERRORS})
def retry_target(request: HttpRequest, slug: str, post_id: int, channel_id: int) -> TargetRead:
    """Send a failed variant again (an unknown outcome is looked up first, so nothing is posted twice)."""
    post = _post(request, slug, post_id, "publishing.manage")
    schedule.do_retry(target=compose.access_target(post=post, channel_id=channel_id), actor=request.user)
    audit(request, post.workspace, "post.retry", post, channel=channel_id)
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
    audit(request, post.workspace, "post.settle", post, channel=channel_id, published=payload.published)
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
