"""Template filters the pages share."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.dateformat import format as format_date

register = template.Library()


@register.filter
def words(value: str) -> str:
    """`mentioned_us` -> `Mentioned us`: a stored code word as a reader sees it."""
    return str(value).replace("_", " ").strip().capitalize()


@register.filter
def when(value: datetime | None) -> str:
    """A time as people say it: "5 minutes ago" within a day, then "3 Dec, 18:52", then "3 Dec 2017, 18:52".

    Relative times stop at a day because "8 years, 11 months ago" on every row of an archive says nothing.
    """
    if value is None:
        return ""
    now = timezone.now()
    if abs(now - value) < timedelta(days=1):
        return str(naturaltime(value))
    local = timezone.localtime(value)
    if local.year == timezone.localtime(now).year:
        return format_date(local, "j M, H:i")
    return format_date(local, "j M Y, H:i")
