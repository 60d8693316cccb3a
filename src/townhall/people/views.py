"""People pages: the searchable list and one person with identities, numbers and timeline."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from townhall.core.errors import Invalid
from townhall.core.web import count_param, wants_fragment, workspace_page
from townhall.people import services
from townhall.people.forms import PersonFilterForm
from townhall.workspaces.models import Workspace

PAGE_SIZE = 50
TIMELINE_SIZE = 50


@workspace_page("people.view")
def person_list(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    form = PersonFilterForm(request.GET)
    cursor = request.GET.get("cursor") or None
    page = None
    if form.is_valid():
        try:
            page = services.list_people(
                workspace=workspace, filters=form.filters(), cursor=cursor, limit=PAGE_SIZE
            )
        except Invalid as exc:
            form.add_error(None, exc.message)
    context = {
        "workspace": workspace,
        "section": "people",
        "form": form,
        "page": page,
        "shown": count_param(request, "shown") + (len(page.items) if page else 0),
    }
    if wants_fragment(request):
        return render(request, "people/_rows.html" if cursor else "people/_results.html", context)
    return render(request, "people/list.html", context)


@workspace_page("people.view")
def person_detail(request: HttpRequest, workspace: Workspace, person_id: int) -> HttpResponse:
    person = services.access_person_by_id(workspace=workspace, person_id=person_id)
    context = {
        "workspace": workspace,
        "section": "people",
        "person": person,
        "identities": list(person.identities.all()),
        "stats": services.person_stats(person=person),
        "timeline": services.timeline(person=person, limit=TIMELINE_SIZE),
        "timeline_size": TIMELINE_SIZE,
    }
    return render(request, "people/detail.html", context)
