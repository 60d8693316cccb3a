"""Forms of the publishing pages: the composer, a decision, rescheduling, campaigns, queue slots, filters."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone

from townhall.connectors.models import Channel
from townhall.core.errors import TownhallError
from townhall.publishing.compose import MAX_BODY
from townhall.publishing.models import Campaign, Decision, Post, PostStatus
from townhall.publishing.schedule import local_instant

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HASHTAG_CHOICES = [
    ("keep", "Keep where they are"),
    ("end", "Move to the end"),
    ("first_comment", "Move to a first comment"),
]
TIMING_CHOICES = [
    ("now", "As soon as it is approved"),
    ("at", "At a date and time"),
    ("slot", "In the next free queue slot of"),
]
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def channel_label(channel: Channel) -> str:
    return f"{channel.get_network_display()} · {channel.display_name or channel.handle}"


class ComposeForm(forms.Form):
    """A post as its author writes it; the times are entered in the workspace's zone."""

    title = forms.CharField(max_length=200, required=False, help_text="optional, for lists and the calendar")
    body = forms.CharField(
        max_length=MAX_BODY, strip=False, widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "true"})
    )
    channels = forms.TypedMultipleChoiceField(coerce=int, widget=forms.CheckboxSelectMultiple)
    campaign = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    timing = forms.ChoiceField(choices=TIMING_CHOICES, initial="now", widget=forms.RadioSelect)
    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    slot_channel = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    hashtags = forms.ChoiceField(choices=HASHTAG_CHOICES, initial="keep")
    thread = forms.BooleanField(
        required=False, initial=True, help_text="split a text too long for a network into a thread"
    )
    utm = forms.BooleanField(
        required=False, initial=True, help_text="tag links with utm_source, utm_medium and utm_campaign"
    )

    def __init__(
        self,
        *args: Any,
        channels: list[Channel],
        campaigns: list[Campaign],
        slotted: list[Channel],
        zone: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.choice("channels").choices = [(c.pk, channel_label(c)) for c in channels]
        self.choice("campaign").choices = [("", "No campaign"), *((c.pk, c.name) for c in campaigns)]
        self.choice("slot_channel").choices = [
            ("", "Choose a channel"),
            *((c.pk, channel_label(c)) for c in slotted),
        ]
        self.fields["slot_channel"].widget.attrs["aria-label"] = "Queue of channel"

    def choice(self, name: str) -> forms.ChoiceField:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        return field

    @classmethod
    def initial_of(cls, post: Post, *, zone: str) -> dict[str, Any]:
        """The form's values for an existing post, its time in `zone`, the one the form reads times in."""
        initial: dict[str, Any] = {
            "title": post.title,
            "body": post.body,
            "channels": list(post.targets.values_list("channel_id", flat=True)),
            "campaign": post.campaign_id,
            "timing": "now",
            "hashtags": post.options.get("hashtags", "keep"),
            "thread": bool(post.options.get("thread", True)),
            "utm": bool(post.options.get("utm", True)),
        }
        if post.scheduled_at is not None:
            local = post.scheduled_at.astimezone(ZoneInfo(zone))
            initial.update(timing="at", date=local.date(), time=local.time().replace(second=0, microsecond=0))
        return initial

    def clean_body(self) -> str:
        return str(self.cleaned_data["body"]).replace("\r\n", "\n")  # as browsers send a textarea

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        timing = data.get("timing")
        data["scheduled_at"] = None
        if timing == "at":
            day, at = data.get("date"), data.get("time")
            if day is None or at is None:
                self.add_error("date" if day is None else "time", "give a date and a time")
            else:
                data["scheduled_at"] = self._instant(day, at)
        elif timing == "slot" and data.get("slot_channel") is None:
            self.add_error("slot_channel", "choose the channel whose queue to use")
        return data

    def _instant(self, day: dt.date, at: dt.time) -> dt.datetime | None:
        instant = local_instant(day, at, ZoneInfo(self.zone))
        if instant is None:
            self.add_error(
                "time", f"{at:%H:%M} does not exist on {day.day} {day:%b} in {self.zone}: the clocks change"
            )
            return None
        if instant < timezone.now() - dt.timedelta(minutes=1):
            self.add_error("time", "that time is in the past")
            return None
        return instant

    def options(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"hashtags": data["hashtags"], "thread": data["thread"], "utm": data["utm"]}


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=Decision.choices)
    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="required when asking for changes",
    )


class RescheduleForm(forms.Form):
    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

    def __init__(self, *args: Any, zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        day, at = data.get("date"), data.get("time")
        data["when"] = None
        if (day is None) != (at is None):
            self.add_error(None, "give both a date and a time, or neither to publish now")
        elif day is not None and at is not None:
            data["when"] = local_instant(day, at, ZoneInfo(self.zone))
            if data["when"] is None:
                self.add_error("time", f"{at:%H:%M} does not exist that day in {self.zone}")
        return data


class SettleForm(forms.Form):
    url = forms.URLField(required=False, max_length=1000, assume_scheme="https")


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    color = forms.CharField(max_length=7, initial="#4f46e5", widget=forms.TextInput(attrs={"type": "color"}))
    starts_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    utm_campaign = forms.CharField(
        max_length=100,
        required=False,
        label="UTM campaign",
        help_text="utm_campaign of its links; the name by default",
    )

    FIELDS = ("name", "description", "color", "starts_on", "ends_on", "utm_campaign")

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignForm:
        return cls(initial={name: getattr(campaign, name) for name in cls.FIELDS})

    def clean_color(self) -> str:
        color = str(self.cleaned_data["color"])
        if not COLOR.match(color):
            raise forms.ValidationError("a colour like #4f46e5")
        return color.lower()


class SlotsForm(forms.Form):
    """A channel's queue: for each weekday, the local times it posts at ("09:00, 17:30")."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for number, name in enumerate(WEEKDAYS):
            self.fields[f"day{number}"] = forms.CharField(
                label=name,
                required=False,
                max_length=200,
                widget=forms.TextInput(attrs={"placeholder": "09:00, 17:30"}),
            )

    @classmethod
    def of(cls, slots: list[tuple[int, dt.time]]) -> SlotsForm:
        days: dict[str, list[str]] = {}
        for weekday, at in slots:
            days.setdefault(f"day{weekday}", []).append(f"{at:%H:%M}")
        return cls(initial={name: ", ".join(times) for name, times in days.items()})

    def slots(self) -> list[tuple[int, dt.time]]:
        found: list[tuple[int, dt.time]] = []
        for number in range(len(WEEKDAYS)):
            for word in re.split(r"[,\s]+", self.cleaned_data.get(f"day{number}") or ""):
                if not word:
                    continue
                try:
                    at = dt.datetime.strptime(word, "%H:%M").time()
                except ValueError:
                    self.add_error(f"day{number}", f"{word!r} is not a time like 09:00")
                    continue
                found.append((number, at))
        return sorted(set(found))


class CalendarFilterForm(forms.Form):
    view = forms.ChoiceField(choices=[("month", "Month"), ("week", "Week"), ("list", "List")], required=False)
    on = forms.DateField(required=False)
    channel = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    campaign = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    status = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, channels: list[Channel], campaigns: list[Campaign], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label, choices in (
            ("channel", "Channel", [("", "All channels"), *((c.pk, channel_label(c)) for c in channels)]),
            ("campaign", "Campaign", [("", "All campaigns"), *((c.pk, c.name) for c in campaigns)]),
            ("status", "Status", [("", "Any status"), *PostStatus.choices]),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = choices
            field.widget.attrs["aria-label"] = label


def add_service_error(form: forms.Form, exc: TownhallError, *, rename: dict[str, str] | None = None) -> None:
    """Show a service's error on the field it names (`rename` maps the service's name to the form's)."""
    field = (rename or {}).get(exc.field or "", exc.field)
    form.add_error(field if field in form.fields else None, exc.message)
