"""Approvals: a post goes through its policy's steps in order before it may be scheduled.

A step is met when any one (mode "any") or every one (mode "all") of its reviewers approved the post's
current version; its reviewers are the users it lists and everyone holding its role. Nobody approves their
own post, and a request for changes sends the post back to its author with the comment. When a policy sets a
deadline, a post not approved that long before its scheduled time expires unpublished.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from townhall.core.errors import Conflict, Forbidden, Invalid, NotFound
from townhall.core.services import check_choice
from townhall.publishing.compose import UNSUBMITTED, record
from townhall.publishing.models import (
    Approval,
    ApprovalPolicy,
    ApprovalStep,
    Decision,
    Post,
    PostStatus,
    StepMode,
    TargetState,
)
from townhall.workspaces.models import Membership, Role, Workspace

# -- policies ----------------------------------------------------------------------------------------


def policies_of(*, workspace: Workspace) -> QuerySet[ApprovalPolicy]:
    return (
        ApprovalPolicy.objects.filter(workspace=workspace)
        .prefetch_related("steps__approvers")
        .order_by("name")
    )


def access_policy_by_id(*, workspace: Workspace, policy_id: int) -> ApprovalPolicy:
    policy = policies_of(workspace=workspace).filter(pk=policy_id).first()
    if policy is None:
        raise NotFound(f"approval policy {policy_id} does not exist in this workspace")
    return policy


def policy_of(post: Post) -> ApprovalPolicy | None:
    """The post's own policy, else the workspace's default, else none (the post needs no approval)."""
    if post.policy_id is not None:
        return post.policy
    return ApprovalPolicy.objects.filter(workspace_id=post.workspace_id, is_default=True).first()


@dataclass
class StepIn:
    name: str
    mode: str = StepMode.ANY
    role: str = ""
    approver_ids: tuple[int, ...] = ()


@transaction.atomic
def do_save_policy(
    *,
    workspace: Workspace,
    name: str,
    steps: list[StepIn],
    is_default: bool = False,
    deadline_minutes: int = 0,
    policy: ApprovalPolicy | None = None,
) -> ApprovalPolicy:
    """Create or replace a policy and its steps; the default one applies to posts that name none."""
    if not name.strip():
        raise Invalid("a policy needs a name", field="name")
    if not steps:
        raise Invalid("a policy needs at least one step", field="steps")
    if deadline_minutes < 0 or deadline_minutes > 60 * 24 * 30:
        raise Invalid("deadline_minutes must be between 0 and 43,200 (30 days)", field="deadline_minutes")
    clash = ApprovalPolicy.objects.filter(workspace=workspace, name=name.strip())
    if policy is not None:
        clash = clash.exclude(pk=policy.pk)
    if clash.exists():
        raise Conflict(f"an approval policy named {name.strip()!r} already exists", field="name")
    members = set(Membership.objects.filter(workspace=workspace).values_list("user_id", flat=True))
    for number, step in enumerate(steps, 1):
        check_choice(step.mode, field=f"steps[{number}].mode", choices=StepMode.values)
        if step.role:
            check_choice(step.role, field=f"steps[{number}].role", choices=Role.values)
        if not step.role and not step.approver_ids:
            raise Invalid(f"step {number} names no reviewers: give a role or approver_ids", field="steps")
        strangers = [pk for pk in step.approver_ids if pk not in members]
        if strangers:
            raise Invalid(
                f"step {number}: user {strangers[0]} is not a member of this workspace", field="steps"
            )
    if is_default:
        ApprovalPolicy.objects.filter(workspace=workspace, is_default=True).update(is_default=False)
    policy = policy or ApprovalPolicy(workspace=workspace)
    policy.name, policy.is_default, policy.deadline_minutes = name.strip(), is_default, deadline_minutes
    policy.save()
    policy.steps.all().delete()
    for position, step in enumerate(steps):
        row = ApprovalStep.objects.create(
            policy=policy,
            position=position,
            name=step.name.strip() or f"Step {position + 1}",
            mode=step.mode,
            role=step.role,
        )
        row.approvers.set(step.approver_ids)
    return policy


@transaction.atomic
def do_delete_policy(*, policy: ApprovalPolicy) -> None:
    """Delete a policy no post is waiting on; posts that named it follow the default policy."""
    waiting = Post.objects.filter(policy=policy, status=PostStatus.AWAITING_APPROVAL)
    if waiting.exists():
        raise Conflict(
            f"posts are awaiting approval under {policy.name!r}; decide on them or cancel them first"
        )
    policy.delete()


# -- who may decide ----------------------------------------------------------------------------------


def reviewers_of(step: ApprovalStep, workspace_id: int) -> set[int]:
    """The users of a step: those it lists and every member holding its role."""
    users = {u.pk for u in step.approvers.all()}
    if step.role:
        users |= set(
            Membership.objects.filter(workspace_id=workspace_id, role=step.role).values_list(
                "user_id", flat=True
            )
        )
    return users


@dataclass
class StepState:
    step: ApprovalStep
    reviewers: set[int]
    approved_by: set[int]

    @property
    def met(self) -> bool:
        if self.step.mode == StepMode.ALL:
            return bool(self.reviewers) and self.reviewers <= self.approved_by
        return bool(self.approved_by & self.reviewers)

    @property
    def waiting_for(self) -> set[int]:
        return set() if self.met else self.reviewers - self.approved_by


def progress(post: Post) -> list[StepState]:
    """Each step of the post's policy with who approved the current version at it; authors never count."""
    policy = policy_of(post)
    if policy is None:
        return []
    given = Approval.objects.filter(post=post, version=post.version, decision=Decision.APPROVE)
    states = []
    for step in policy.steps.prefetch_related("approvers"):
        reviewers = reviewers_of(step, post.workspace_id) - {post.author_id}
        approved = {a.user_id for a in given if a.step_position == step.position and a.user_id}
        states.append(StepState(step, reviewers, approved))
    return states


def current_step(post: Post) -> StepState | None:
    for state in progress(post):
        if not state.met:
            return state
    return None


def can_decide(post: Post, user: Any) -> bool:
    if post.status != PostStatus.AWAITING_APPROVAL or user.pk == post.author_id:
        return False
    state = current_step(post)
    return state is not None and user.pk in state.waiting_for


# -- the review --------------------------------------------------------------------------------------


def open_review(post: Post, *, actor: Any, reason: str) -> None:
    """Put the post (back) in front of its reviewers for its current version.

    The post keeps the policy it was submitted under: changing the workspace's default later does not
    change who reviews it.
    """
    if post.policy_id is None:
        post.policy = policy_of(post)
        post.save(update_fields=["policy", "updated_at"])
    post.status, post.submitted_at, post.approved_at = PostStatus.AWAITING_APPROVAL, timezone.now(), None
    post.save(update_fields=["status", "submitted_at", "approved_at", "updated_at"])
    post.targets.filter(state__in=[TargetState.DRAFT, TargetState.SCHEDULED, TargetState.CANCELLED]).update(
        state=TargetState.AWAITING_APPROVAL
    )
    record(post, "submitted", actor=actor, version=post.version, reason=reason)


@transaction.atomic
def do_submit(*, post: Post, actor: Any) -> Post:
    """Send the post for approval, or straight to the schedule when no policy applies.

    Every variant must be valid first: a post with a problem on one channel is refused with the problem.
    """
    from townhall.publishing.compose import label_of, target_previews
    from townhall.publishing.schedule import schedule_approved

    post = Post.objects.select_for_update().get(pk=post.pk)
    if post.status not in UNSUBMITTED:
        raise Conflict(f"the post is {post.get_status_display().lower()}; only a draft can be submitted")
    if not post.targets.exists():
        raise Invalid("choose at least one channel to publish to", field="channel_ids")
    for preview in target_previews(post):
        if not preview.valid:
            raise Invalid(
                f"the {label_of(preview.channel)} variant is not ready: {'; '.join(preview.problems)}"
            )
    if post.scheduled_at is not None and post.scheduled_at <= timezone.now() - timedelta(minutes=1):
        raise Invalid("the scheduled time is in the past; pick another or leave it empty to publish now")
    if policy_of(post) is None:
        record(post, "submitted", actor=actor, version=post.version, reason="no approval needed")
        return schedule_approved(post, actor=actor)
    open_review(post, actor=actor, reason="submitted")
    return post


@transaction.atomic
def do_decide(*, post: Post, actor: Any, decision: str, comment: str = "") -> Approval:
    """Approve the post's current version at its current step, or request changes (a comment is required)."""
    from townhall.publishing.schedule import schedule_approved

    check_choice(decision, field="decision", choices=Decision.values)
    post = Post.objects.select_for_update().get(pk=post.pk)
    if post.status != PostStatus.AWAITING_APPROVAL:
        raise Conflict(f"the post is {post.get_status_display().lower()}, not awaiting approval")
    if actor.pk == post.author_id:
        raise Forbidden("you cannot approve or review your own post")
    state = current_step(post)
    if state is None:  # every step met: it should already be scheduled
        raise Conflict("the post has every approval it needs")
    if actor.pk not in state.reviewers:
        raise Forbidden(f"you are not a reviewer of the step {state.step.name!r}")
    if actor.pk in state.approved_by:
        raise Conflict("you already approved this version of the post")
    if decision == Decision.REQUEST_CHANGES and not comment.strip():
        raise Invalid("say what should change", field="comment")
    approval = Approval.objects.create(
        post=post,
        step=state.step,
        step_position=state.step.position,
        user=actor,
        decision=decision,
        comment=comment.strip(),
        version=post.version,
    )
    record(post, decision, actor=actor, step=state.step.name, comment=comment.strip(), version=post.version)
    if decision == Decision.REQUEST_CHANGES:
        post.status = PostStatus.CHANGES_REQUESTED
        post.save(update_fields=["status", "updated_at"])
        post.targets.filter(state=TargetState.AWAITING_APPROVAL).update(state=TargetState.DRAFT)
        _notify(post.author_id, post, f"changes requested on {post}: {comment.strip()}")
        return approval
    if current_step(post) is None:
        post.approved_at = timezone.now()
        post.save(update_fields=["approved_at", "updated_at"])
        record(post, "approved", actor=actor, version=post.version)
        schedule_approved(post, actor=actor)
        _notify(post.author_id, post, f"{post} was approved")
    return approval


def expire_overdue(now: datetime | None = None) -> int:
    """Posts still awaiting approval past their policy's deadline before the scheduled time expire."""
    now = now or timezone.now()
    expired = 0
    waiting = Post.objects.filter(status=PostStatus.AWAITING_APPROVAL, scheduled_at__isnull=False)
    for post in waiting.select_related("policy"):
        policy = policy_of(post)
        if policy is None or post.scheduled_at is None:
            continue
        if post.scheduled_at - timedelta(minutes=policy.deadline_minutes) > now:
            continue
        with transaction.atomic():
            post.status = PostStatus.APPROVAL_EXPIRED
            post.save(update_fields=["status", "updated_at"])
            post.targets.filter(state=TargetState.AWAITING_APPROVAL).update(state=TargetState.DRAFT)
            record(post, "approval_expired", deadline_minutes=policy.deadline_minutes)
            _notify(post.author_id, post, f"{post} was not approved in time and will not be published")
        expired += 1
    return expired


def history(post: Post) -> QuerySet[Any]:
    return post.events.select_related("actor").order_by("created_at", "pk")


def _notify(user_id: int | None, post: Post, text: str) -> None:
    from townhall.inbox.models import Notification

    if user_id is None:
        return
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is not None:
        Notification.objects.create(workspace_id=post.workspace_id, user=user, text=text[:500])
