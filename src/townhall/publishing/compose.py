"""Composing: campaigns, a post written once, and its variant for each channel, adapted and validated.

A variant is adapted from the post's body whenever the body, the options or the campaign change, unless
someone edited it by hand; an edited variant is validated as written. Any change to what would be published
bumps the post's version, so approvals given to an earlier version no longer count.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify

from townhall.connectors.models import Channel
from townhall.core.errors import Conflict, Invalid, NotFound
from townhall.core.validation import as_utc
from townhall.publishing import media as media_rules
from townhall.publishing.adapt import CannotAdapt, UtmParams, Variant, adapt
from townhall.publishing.fitting import resolve
from townhall.publishing.models import Attempt, Campaign, Post, PostEvent, PostStatus, Target, TargetState
from townhall.publishing.networks import validate
from townhall.workspaces.models import Workspace
from townhall.workspaces.services import check_timezone

MAX_BODY = 40_000
HASHTAG_PLACES = ("keep", "end", "first_comment")
# Options a post may set; anything else is refused, so a typo does not silently do nothing.
OPTION_DEFAULTS: dict[str, Any] = {"hashtags": "keep", "thread": True, "numbering": True, "utm": True}
# While a target is in one of these states its content may change; after, it is on its way or out.
EDITABLE = {TargetState.DRAFT, TargetState.AWAITING_APPROVAL, TargetState.SCHEDULED, TargetState.CANCELLED}
# Not (or no longer) submitted: nothing was handed to a network, so the post may be submitted, given its
# reviewers, or deleted.
UNSUBMITTED = frozenset(
    {PostStatus.DRAFT, PostStatus.CHANGES_REQUESTED, PostStatus.APPROVAL_EXPIRED, PostStatus.CANCELLED}
)
# Once approved, moving the post is a manager's decision on the schedule, not an edit.
MOVABLE_BY_EDIT = UNSUBMITTED | {PostStatus.AWAITING_APPROVAL}


# -- campaigns ---------------------------------------------------------------------------------------


def campaigns_of(*, workspace: Workspace) -> QuerySet[Campaign]:
    return Campaign.objects.filter(workspace=workspace).order_by("-starts_on", "name")


def access_campaign_by_id(*, workspace: Workspace, campaign_id: int) -> Campaign:
    campaign = Campaign.objects.filter(workspace=workspace, pk=campaign_id).first()
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist in this workspace")
    return campaign


def check_campaign(*, workspace: Workspace, name: str, exclude: int | None = None) -> None:
    if not name.strip():
        raise Invalid("a campaign needs a name", field="name")
    clash = Campaign.objects.filter(workspace=workspace, name=name.strip())
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise Conflict(f"a campaign named {name.strip()!r} already exists", field="name")


def do_save_campaign(*, workspace: Workspace, campaign: Campaign | None = None, **values: Any) -> Campaign:
    """Create a campaign, or change `campaign`; `values` are its fields (name, description, color, dates)."""
    campaign = campaign or Campaign(workspace=workspace)
    for name, value in values.items():
        setattr(campaign, name, value.strip() if isinstance(value, str) else value)
    check_campaign(workspace=workspace, name=campaign.name, exclude=campaign.pk)
    if campaign.starts_on and campaign.ends_on and campaign.ends_on < campaign.starts_on:
        raise Invalid("the campaign ends before it starts", field="ends_on")
    if not campaign.utm_campaign:
        campaign.utm_campaign = slugify(campaign.name)[:100]
    campaign.save()
    return campaign


@transaction.atomic
def do_delete_campaign(*, campaign: Campaign) -> None:
    posts = campaign.posts.count()
    if posts:
        raise Conflict(
            f"campaign {campaign.name!r} has {posts} post{'s' if posts != 1 else ''}; "
            "move or delete them first"
        )
    campaign.delete()


# -- variants ----------------------------------------------------------------------------------------


@dataclass
class Preview:
    """One channel's variant as the editor shows it: the parts with their counts, or why it cannot be made."""

    channel: Channel
    network: str
    parts: list[str] = field(default_factory=list)
    validations: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    first_comment: str = ""
    problems: list[str] = field(default_factory=list)
    media: dict[str, Any] = field(default_factory=dict)
    edited: bool = False

    @property
    def valid(self) -> bool:
        return not self.problems and all(v["valid"] for v in self.validations)

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel_id": self.channel.pk,
            "channel": str(self.channel),
            "network": self.network,
            "parts": self.parts,
            "validations": self.validations,
            "notes": self.notes,
            "first_comment": self.first_comment,
            "problems": self.problems,
            "valid": self.valid,
            "edited": self.edited,
        }


def label_of(channel: Channel) -> str:
    """How people name the channel: its network and its handle ("Bluesky @acme.bsky.social")."""
    handle = channel.handle if channel.handle.startswith(("@", "!", "#", "http")) else f"@{channel.handle}"
    return f"{channel.get_network_display()} {handle}"


def network_of(channel: Channel) -> str:
    """The publishing rules' name for the channel's network; Invalid when there are none."""
    try:
        return resolve(channel.network, None)[0]
    except ValueError:
        raise Invalid(
            f"channel {label_of(channel)} is on a network Townhall cannot publish to",
            field="channel_ids",
        ) from None


def limit_of(channel: Channel) -> int | None:
    """The channel's own length limit where its server sets one (a Mastodon instance's max_characters)."""
    value = channel.settings.get("max_characters")
    return int(value) if isinstance(value, int) and value > 0 else None


def utm_for(
    channel: Channel, *, campaign: Campaign | None, post_id: int | None, options: dict[str, Any]
) -> Any:
    if not options.get("utm", True):
        return None
    name = network_of(channel)
    return UtmParams(
        campaign=(campaign.utm_campaign or slugify(campaign.name)) if campaign else None,
        content=f"post-{post_id}" if post_id else None,
        source=name,
    )


def preview_for(
    channel: Channel,
    body: str,
    *,
    options: dict[str, Any],
    campaign: Campaign | None = None,
    post_id: int | None = None,
    media: list[dict[str, Any]] | None = None,
    parts: list[str] | None = None,
) -> Preview:
    """The channel's variant of `body`, adapted, or `parts` as written by hand, with counts and problems."""
    name = network_of(channel)
    limit = limit_of(channel)
    preview = Preview(channel=channel, network=name, edited=parts is not None)
    if parts is not None:
        preview.parts = list(parts)
    else:
        try:
            variant: Variant = adapt(
                body,
                name,
                limit=limit,
                thread=bool(options.get("thread", True)),
                numbering=bool(options.get("numbering", True)),
                utm=utm_for(channel, campaign=campaign, post_id=post_id, options=options),
                mentions=options.get("mentions") or None,
                hashtags=options.get("hashtags", "keep"),
            )
        except CannotAdapt as exc:
            preview.problems.append(str(exc))
            preview.parts = [body]
        else:
            preview.parts, preview.notes = variant.posts, variant.notes
            preview.first_comment = variant.first_comment or ""
    if not preview.parts or not any(p.strip() for p in preview.parts):
        preview.problems.append("the post is empty")
    preview.validations = [validate(name, part, limit=limit).as_dict() for part in preview.parts]
    adapted_problems = bool(preview.problems)  # adapting already said what is wrong with the text
    for number, checked in enumerate([] if adapted_problems else preview.validations, 1):
        for problem in checked["problems"]:
            where = f"post {number}: " if len(preview.parts) > 1 else ""
            preview.problems.append(f"{where}{problem}")
    attachments = [attachment_of(m) for m in media or []]
    preview.problems.extend(media_rules.check_media(name, attachments))
    if attachments and not attaches_media(channel):
        preview.problems.append(
            f"{label_of(channel)} cannot attach media through Townhall: remove the attachments for this "
            "channel's post, or publish it by hand"
        )
    preview.media = media_rules.describe(name)
    return preview


def attaches_media(channel: Channel) -> bool:
    """Whether the channel's connector uploads attachments; where none does, a post with media is refused."""
    from townhall.connectors.registry import connector_for

    connector = connector_for(channel.connector_kind)
    return connector is not None and connector.capabilities.media


def previews(
    *,
    workspace: Workspace,
    body: str,
    channel_ids: Iterable[int],
    options: dict[str, Any] | None = None,
    campaign_id: int | None = None,
    media: list[dict[str, Any]] | None = None,
    post: Post | None = None,
) -> list[Preview]:
    """The live validation of the editor: every channel's variant, nothing stored.

    Editing a saved `post`, its links get its utm_content, its media count unless others are given, and
    variants written by hand are shown as written.
    """
    options = check_options(options or {})
    campaign = access_campaign_by_id(workspace=workspace, campaign_id=campaign_id) if campaign_id else None
    channels = publishable_channels(workspace=workspace, channel_ids=channel_ids)
    by_hand = dict(post.targets.filter(edited=True).values_list("channel_id", "parts")) if post else {}
    if media is None and post is not None:
        media = post.media
    return [
        preview_for(
            c,
            body,
            options=options,
            campaign=campaign,
            media=media,
            post_id=post.pk if post else None,
            parts=by_hand.get(c.pk),
        )
        for c in channels
    ]


def publishable_channels(*, workspace: Workspace, channel_ids: Iterable[int]) -> list[Channel]:
    wanted = list(dict.fromkeys(int(pk) for pk in channel_ids))
    found = {c.pk: c for c in Channel.objects.filter(workspace=workspace, pk__in=wanted)}
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise NotFound(f"channel {missing[0]} does not exist in this workspace")
    channels = [found[pk] for pk in wanted]
    for channel in channels:
        if not channel.is_ours:
            raise Invalid(
                f"channel {label_of(channel)} is a source Townhall listens to, not an account it posts as"
            )
        network_of(channel)
    return channels


def channels_to_publish(*, workspace: Workspace) -> list[Channel]:
    """The workspace's own accounts on networks Townhall has rules for: what the composer offers."""
    own = Channel.objects.filter(workspace=workspace, is_ours=True).order_by("network", "handle")
    usable = []
    for channel in own:
        try:
            network_of(channel)
        except Invalid:
            continue
        usable.append(channel)
    return usable


# -- posts -------------------------------------------------------------------------------------------


def check_options(options: Any) -> dict[str, Any]:
    if not isinstance(options, dict):
        raise Invalid("options must be an object", field="options")
    unknown = sorted(set(options) - set(OPTION_DEFAULTS) - {"mentions"})
    if unknown:
        raise Invalid(f"unknown option {unknown[0]!r}; options: hashtags, thread, numbering, utm, mentions")
    merged = {**OPTION_DEFAULTS, **options}
    if merged["hashtags"] not in HASHTAG_PLACES:
        raise Invalid(f"hashtags must be one of {', '.join(HASHTAG_PLACES)}", field="options.hashtags")
    mentions = merged.get("mentions") or {}
    if not isinstance(mentions, dict) or not all(
        isinstance(k, str) and isinstance(v, dict) and all(isinstance(h, str) for h in v.values())
        for k, v in mentions.items()
    ):
        raise Invalid(
            'mentions must map a name to its handle per network: {"acme": {"x": "acme", "bluesky": ...}}',
            field="options.mentions",
        )
    return merged


def check_body(body: str) -> str:
    if not body.strip():
        raise Invalid("the post needs some text", field="body")
    if len(body) > MAX_BODY:
        raise Invalid(f"a post may be at most {MAX_BODY:,} characters", field="body")
    return body


def is_past(when: datetime) -> bool:
    """Earlier than now, past a minute's grace (the time it takes to fill in a form)."""
    return when < timezone.now() - timedelta(minutes=1)


def check_when(when: datetime | None, *, zone: str) -> datetime | None:
    """A time to publish at: later than now (a minute's grace), in UTC; None publishes once approved."""
    check_timezone(zone)
    if when is None:
        return None
    when = as_utc(when)
    if is_past(when):
        raise Invalid(
            "that time is in the past; give a later one, or none to publish when approved",
            field="scheduled_at",
        )
    return when


def posts_of(*, workspace: Workspace) -> QuerySet[Post]:
    return Post.objects.filter(workspace=workspace).select_related("campaign", "author")


def access_post_by_id(*, workspace: Workspace, post_id: int) -> Post:
    post = posts_of(workspace=workspace).filter(pk=post_id).first()
    if post is None:
        raise NotFound(f"post {post_id} does not exist in this workspace")
    return post


def record(post: Post, kind: str, *, actor: Any = None, **detail: Any) -> PostEvent:
    return PostEvent.objects.create(
        post=post, actor=actor if getattr(actor, "pk", None) else None, kind=kind, detail=detail
    )


@transaction.atomic
def do_create_post(
    *,
    workspace: Workspace,
    author: Any,
    body: str,
    channel_ids: Iterable[int],
    title: str = "",
    campaign_id: int | None = None,
    scheduled_at: datetime | None = None,
    zone: str | None = None,
    options: dict[str, Any] | None = None,
    media: list[dict[str, Any]] | None = None,
    policy_id: int | None = None,
) -> Post:
    """A draft with one adapted variant per channel; nothing is sent until it is submitted."""
    zone = zone or workspace.timezone
    post = Post(
        workspace=workspace,
        author=author if getattr(author, "pk", None) else None,
        title=title.strip()[:200],
        body=check_body(body),
        scheduled_at=check_when(scheduled_at, zone=zone),
        timezone=zone,
        options=check_options(options or {}),
        media=check_media_list(media or []),
        campaign=access_campaign_by_id(workspace=workspace, campaign_id=campaign_id) if campaign_id else None,
        policy=_policy(workspace, policy_id),
    )
    channels = publishable_channels(workspace=workspace, channel_ids=channel_ids)
    post.save()
    for channel in channels:
        Target.objects.create(post=post, channel=channel, network=network_of(channel))
    readapt(post)
    record(post, "created", actor=author, channels=[label_of(c) for c in channels])
    return post


def _policy(workspace: Workspace, policy_id: int | None) -> Any:
    from townhall.publishing.approvals import access_policy_by_id

    return access_policy_by_id(workspace=workspace, policy_id=policy_id) if policy_id else None


def check_media_list(media: Any) -> list[dict[str, Any]]:
    if not isinstance(media, list):
        raise Invalid("media must be a list of attachments", field="media")
    checked = []
    for number, entry in enumerate(media, 1):
        try:
            checked.append(dataclasses.asdict(attachment_of(entry)) | {"url": str(entry.get("url") or "")})
        except (TypeError, ValueError, KeyError) as exc:
            raise Invalid(f"attachment {number}: {exc}", field="media") from exc
    return checked


def attachment_of(entry: Any) -> media_rules.Attachment:
    """An attachment as stored on a post: its type, size, name and alt text (and where the file is)."""
    if not isinstance(entry, dict):
        raise TypeError("an attachment must be an object with mime_type, size and filename")
    for name in ("mime_type", "filename"):
        if not isinstance(entry.get(name), str) or not entry[name]:
            raise ValueError(f"{name} is required")
    size = entry.get("size")
    if not isinstance(size, int) or size < 0:
        raise ValueError("size must be a whole number of bytes")
    return media_rules.Attachment(
        mime_type=entry["mime_type"],
        size=size,
        filename=entry["filename"],
        alt_text=str(entry.get("alt_text") or ""),
        width=entry.get("width"),
        height=entry.get("height"),
        duration_seconds=entry.get("duration_seconds"),
    )


def readapt(post: Post) -> None:
    """Adapt every variant not edited by hand again from the post's body, options and campaign."""
    for target in post.targets.select_related("channel").exclude(edited=True):
        if target.state not in EDITABLE:
            continue
        preview = preview_for(
            target.channel,
            post.body,
            options=post.options,
            campaign=post.campaign,
            post_id=post.pk,
            media=post.media,
        )
        target.parts, target.notes, target.first_comment = preview.parts, preview.notes, preview.first_comment
        target.save(update_fields=["parts", "notes", "first_comment", "updated_at"])


def target_previews(post: Post) -> list[Preview]:
    """Each target's variant as stored, with its counts and problems (what the post page shows)."""
    shown = []
    for target in post.targets.select_related("channel").order_by("pk"):
        preview = preview_for(
            target.channel, post.body, options=post.options, media=post.media, parts=target.parts
        )
        preview.edited, preview.notes, preview.first_comment = (
            target.edited,
            list(target.notes),
            target.first_comment,
        )
        shown.append(preview)
    return shown


def check_editable(post: Post) -> None:
    busy = post.targets.exclude(state__in=EDITABLE)
    if busy.exists():
        states = sorted({t.get_state_display().lower() for t in busy})
        raise Conflict(f"the post can no longer change: it is {' and '.join(states)} on some channels")


@transaction.atomic
def do_update_post(*, post: Post, actor: Any, changes: dict[str, Any]) -> Post:
    """Change the body, title, campaign, options, media, time or channels; new content needs new approval."""
    post = Post.objects.select_for_update().get(pk=post.pk)
    check_editable(post)
    changed: list[str] = []
    if "body" in changes and changes["body"] != post.body:
        post.body = check_body(changes["body"])
        changed.append("body")
    if "title" in changes:
        post.title = str(changes["title"] or "").strip()[:200]
    if "options" in changes:
        options = check_options({**post.options, **(changes["options"] or {})})
        if options != post.options:
            post.options = options
            changed.append("options")
    if "media" in changes:
        media = check_media_list(changes["media"])
        if media != post.media:
            post.media = media
            changed.append("media")
    if "campaign_id" in changes:
        cid = changes["campaign_id"]
        campaign = access_campaign_by_id(workspace=post.workspace, campaign_id=cid) if cid else None
        if campaign != post.campaign:
            post.campaign = campaign
            changed.append("campaign")
    if "approval_policy_id" in changes:
        if post.status not in UNSUBMITTED:
            raise Conflict(
                f"the post is {post.get_status_display().lower()}; its reviewers are set",
                field="approval_policy_id",
            )
        post.policy = _policy(post.workspace, changes["approval_policy_id"])
    if "timezone" in changes:
        check_timezone(changes["timezone"])
        post.timezone = changes["timezone"]
    if "scheduled_at" in changes:
        if post.status not in MOVABLE_BY_EDIT:
            raise Conflict(
                f"the post is {post.get_status_display().lower()}; a manager moves it on the schedule",
                field="scheduled_at",
            )
        post.scheduled_at = check_when(changes["scheduled_at"], zone=post.timezone)
        post.targets.filter(state=TargetState.SCHEDULED).update(scheduled_at=post.scheduled_at)
    if "channel_ids" in changes:
        changed += _set_channels(post, changes["channel_ids"])
    if changed:
        post.version += 1
    post.save()
    if changed:
        readapt(post)
    if changed:
        _back_to_review(post, actor=actor, why=", ".join(changed))
    record(post, "edited", actor=actor, changed=changed, version=post.version)
    return post


@transaction.atomic
def do_delete_post(*, post: Post) -> None:
    """Delete a post that never went out: a draft, or one sent back, expired or cancelled before sending."""
    post = Post.objects.select_for_update().get(pk=post.pk)
    if post.status not in UNSUBMITTED:
        raise Conflict(
            f"the post is {post.get_status_display().lower()}; only a draft can be deleted: cancel it first"
        )
    if Attempt.objects.filter(target__post=post).exists():
        raise Conflict("the post was handed to a network; it is kept for its history")
    post.delete()


def _set_channels(post: Post, channel_ids: Iterable[int]) -> list[str]:
    channels = publishable_channels(workspace=post.workspace, channel_ids=channel_ids)
    wanted = {c.pk for c in channels}
    have = set(post.targets.values_list("channel_id", flat=True))
    post.targets.filter(channel_id__in=have - wanted).delete()
    for channel in channels:
        if channel.pk not in have:
            Target.objects.create(post=post, channel=channel, network=network_of(channel))
    return ["channels"] if wanted != have else []


@transaction.atomic
def do_edit_variant(*, target: Target, actor: Any, parts: list[str] | None) -> Target:
    """Write one channel's variant by hand (`parts`, one per post of a thread), or None to adapt it again."""
    check_editable(target.post)
    if parts is not None:
        if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts) or not parts:
            raise Invalid("parts must be a non-empty list of texts", field="parts")
        target.parts, target.edited, target.notes = parts, True, ["written by hand"]
        target.save(update_fields=["parts", "edited", "notes", "updated_at"])
    else:
        target.edited = False
        target.save(update_fields=["edited", "updated_at"])
    post = target.post
    post.version += 1
    post.save(update_fields=["version", "updated_at"])
    if parts is None:
        readapt(post)  # this variant back to adapted; the others are as they were
    _back_to_review(post, actor=actor, why=f"the {label_of(target.channel)} variant")
    record(post, "variant_edited", actor=actor, channel=label_of(target.channel), by_hand=parts is not None)
    return target


def _back_to_review(post: Post, *, actor: Any, why: str) -> None:
    """A post under review or scheduled whose content changed goes back for approval, if a policy applies."""
    from townhall.publishing import approvals

    if post.status in (PostStatus.AWAITING_APPROVAL, PostStatus.SCHEDULED) and approvals.policy_of(post):
        approvals.open_review(post, actor=actor, reason=f"changed: {why}")


def access_target(*, post: Post, channel_id: int) -> Target:
    target = post.targets.select_related("channel", "post").filter(channel_id=channel_id).first()
    if target is None:
        raise NotFound(
            f"a variant of post {post.pk} for channel {channel_id} does not exist in this workspace"
        )
    return target
