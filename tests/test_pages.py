"""The web pages as a signed-in member sees them: what renders, who is turned away, and uploads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import DEMO_CSV
from townhall.items.models import ImportRun, ImportStatus, Item
from townhall.items.services import do_import_file
from townhall.people.models import Person
from townhall.workspaces import services
from townhall.workspaces.models import AuditLog, Workspace


@pytest.fixture
def demo(workspace: Workspace) -> Workspace:
    do_import_file(workspace=workspace, path=DEMO_CSV, fmt="twcs")
    return workspace


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pages(workspace: Workspace) -> list[str]:
    item = Item.objects.filter(workspace=workspace, thread_root__isnull=False).order_by("pk").first()
    person = Person.objects.filter(workspace=workspace).order_by("pk").first()
    run = ImportRun.objects.filter(workspace=workspace).order_by("pk").first()
    assert item and person and run
    base = f"/w/{workspace.slug}"
    return [
        f"{base}/items/",
        f"{base}/items/{item.pk}/",
        f"{base}/people/",
        f"{base}/people/{person.pk}/",
        f"{base}/imports/",
        f"{base}/imports/{run.pk}/",
    ]


def test_every_page_renders_for_an_owner(demo: Workspace, make_member: Callable[..., Any]) -> None:
    client = signed_in(make_member(demo, "owner"))
    for url in pages(demo):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"Townhall" in response.content


def test_items_page_lists_items_with_a_chart_and_filters(
    demo: Workspace, make_member: Callable[..., Any]
) -> None:
    client = signed_in(make_member(demo, "agent"))
    page = client.get("/w/acme/items/").content.decode()
    assert 'id="volume-chart"' in page
    assert 'id="volume-data"' in page
    assert "Showing 50 items" in page
    assert page.count('class="item-row"') == 50

    outbound = client.get("/w/acme/items/", {"direction": "outbound"}).content.decode()
    assert 'data-direction="outbound"' in outbound
    assert 'data-direction="inbound"' not in outbound

    search = client.get("/w/acme/items/", {"q": "private secured link"}).content.decode()
    assert "private secured link" in search
    assert (
        search.count('class="item-row"')
        == Item.objects.filter(text__icontains="private secured link").count()
    )


def test_htmx_requests_get_fragments_and_load_more_continues(
    demo: Workspace, make_member: Callable[..., Any]
) -> None:
    client = signed_in(make_member(demo, "owner"))
    fragment = client.get("/w/acme/items/", {"kind": "reply"}, HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert body.lstrip().startswith('<div id="results"')
    assert "<html" not in body
    assert "HX-Request" in fragment["Vary"]

    first_ids = set(
        Item.objects.filter(kind="reply").order_by("-created_at", "-pk").values_list("pk", flat=True)[:50]
    )
    cursor = fragment.context["page"].next_cursor
    more = client.get(
        "/w/acme/items/", {"kind": "reply", "cursor": cursor, "shown": 50}, HTTP_HX_REQUEST="true"
    )
    rows = more.context["page"].items
    assert more.content.decode().lstrip().startswith("<tr")
    assert len(rows) == 50
    assert not first_ids & {row.pk for row in rows}
    assert "Showing 100 items" in more.content.decode()


def test_thread_page_shows_the_conversation_oldest_first(
    demo: Workspace, make_member: Callable[..., Any]
) -> None:
    client = signed_in(make_member(demo, "agent"))
    item = Item.objects.get(workspace=demo, native_id="1")
    response = client.get(f"/w/acme/items/{item.pk}/")
    thread = response.context["thread"]
    assert [m.created_at for m in thread] == sorted(m.created_at for m in thread)
    assert {m.direction for m in thread} == {"inbound", "outbound"}
    assert "Brand reply" in response.content.decode()


def test_an_agent_does_not_see_the_upload_form(demo: Workspace, make_member: Callable[..., Any]) -> None:
    agent_page = signed_in(make_member(demo, "agent")).get("/w/acme/imports/").content.decode()
    manager_page = signed_in(make_member(demo, "manager")).get("/w/acme/imports/").content.decode()
    assert 'id="upload-form"' not in agent_page
    assert 'id="upload-form"' in manager_page


def test_an_agent_cannot_upload_even_without_the_form(
    workspace: Workspace, make_member: Callable[..., Any]
) -> None:
    client = signed_in(make_member(workspace, "agent"))
    upload = SimpleUploadedFile("sample.csv", DEMO_CSV.read_bytes(), content_type="text/csv")
    response = client.post("/w/acme/imports/upload/", {"format": "twcs", "file": upload})
    assert response.status_code == 403
    assert not ImportRun.objects.exists()


def test_a_requester_is_not_allowed_on_item_pages(
    workspace: Workspace, make_member: Callable[..., Any]
) -> None:
    client = signed_in(make_member(workspace, "requester"))
    assert client.get("/w/acme/items/").status_code == 403


def test_a_non_member_gets_404_everywhere(demo: Workspace, make_member: Callable[..., Any]) -> None:
    other = services.do_create_workspace(slug="globex", name="Globex")
    client = signed_in(make_member(other, "owner"))
    for url in pages(demo):
        assert client.get(url).status_code == 404, url
    assert client.get("/w/no-such-workspace/items/").status_code == 404


def test_an_item_of_another_workspace_is_not_found(demo: Workspace, make_member: Callable[..., Any]) -> None:
    other = services.do_create_workspace(slug="globex", name="Globex")
    client = signed_in(make_member(other, "owner"))
    item = Item.objects.filter(workspace=demo).first()
    assert item is not None
    assert client.get(f"/w/globex/items/{item.pk}/").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(demo: Workspace) -> None:
    for url in pages(demo):
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next=")


def test_sign_in_page_and_home(workspace: Workspace, make_member: Callable[..., Any]) -> None:
    assert b'name="password"' in Client().get("/login/").content
    user = make_member(workspace, "owner")
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": "a-long-test-password"})
    assert response.status_code == 302
    assert client.get("/").url == "/w/acme/items/"

    services.do_set_membership(
        workspace=services.do_create_workspace(slug="globex", name="Globex"), user=user, role="agent"
    )
    home = client.get("/").content.decode()
    assert "/w/acme/items/" in home
    assert "/w/globex/items/" in home


def test_uploading_a_csv_imports_it(
    workspace: Workspace,
    make_member: Callable[..., Any],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    client = signed_in(make_member(workspace, "manager"))
    upload = SimpleUploadedFile("twcs_sample.csv", DEMO_CSV.read_bytes(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/w/acme/imports/upload/", {"format": "twcs", "file": upload})
    run = ImportRun.objects.get(workspace=workspace)
    assert response.status_code == 302
    assert response["Location"] == f"/w/acme/imports/{run.pk}/"
    assert run.status == ImportStatus.DONE
    assert run.imported == Item.objects.filter(workspace=workspace).count() > 3000
    audit = AuditLog.objects.get(action="import.start", target_id=str(run.pk))
    assert audit.source == "ui"

    detail = client.get(response["Location"]).content.decode()
    assert "twcs_sample.csv is queued for import." in detail
    assert "Done" in detail
    listing = client.get("/w/acme/imports/").content.decode()
    assert "twcs_sample.csv" in listing
    assert "every 2s" not in listing


def test_rejected_rows_are_listed_with_their_line(
    workspace: Workspace,
    make_member: Callable[..., Any],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    client = signed_in(make_member(workspace, "owner"))
    header, first, *_ = DEMO_CSV.read_text().splitlines()
    broken = "\n".join([header, first, "abc,someone,True,Tue Oct 31 22:10:47 +0000 2017,hello,,"]) + "\n"
    upload = SimpleUploadedFile("broken.csv", broken.encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/w/acme/imports/upload/", {"format": "twcs", "file": upload})
    detail = client.get(response["Location"]).content.decode()
    assert "tweet_id must be a number" in detail
    assert '<td class="num mono">3</td>' in detail


def test_an_upload_without_a_file_shows_the_form_again(
    workspace: Workspace, make_member: Callable[..., Any]
) -> None:
    client = signed_in(make_member(workspace, "owner"))
    response = client.post("/w/acme/imports/upload/", {"format": "twcs"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ImportRun.objects.exists()


def test_people_pages(demo: Workspace, make_member: Callable[..., Any]) -> None:
    client = signed_in(make_member(demo, "analyst"))
    listing = client.get("/w/acme/people/", {"q": "115712"}).content.decode()
    person = Person.objects.get(workspace=demo, identities__handle="115712")
    assert f'data-person-id="{person.pk}"' in listing
    assert listing.count('class="person-row"') == 1

    page = client.get(f"/w/acme/people/{person.pk}/").content.decode()
    assert "115712" in page
    assert 'class="activity"' in page
    assert "is the worst customer service" in page
    assert client.get("/w/acme/people/", {"lifecycle": "nonsense"}).status_code == 200


def test_a_persons_items_are_one_click_away(demo: Workspace, make_member: Callable[..., Any]) -> None:
    client = signed_in(make_member(demo, "agent"))
    person = Person.objects.get(workspace=demo, identities__handle="115712")
    page = client.get("/w/acme/items/", {"person": person.pk}).content.decode()
    assert page.count('class="item-row"') == Item.objects.filter(person=person).count()
    assert f'value="{person.pk}"' in page


def test_imports_page_polls_only_while_a_run_is_unfinished(
    workspace: Workspace, make_member: Callable[..., Any]
) -> None:
    client = signed_in(make_member(workspace, "analyst"))
    run = ImportRun.objects.create(workspace=workspace, format="twcs", filename="big.csv")
    assert 'hx-trigger="every 2s"' in client.get("/w/acme/imports/").content.decode()
    fragment = client.get("/w/acme/imports/", HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<div id="import-runs"')
    assert "big.csv" in fragment
    assert 'hx-trigger="every 2s"' in client.get(f"/w/acme/imports/{run.pk}/").content.decode()

    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.DONE)
    assert "every 2s" not in client.get("/w/acme/imports/", HTTP_HX_REQUEST="true").content.decode()
    assert "every 2s" not in client.get(f"/w/acme/imports/{run.pk}/").content.decode()


def test_the_chart_counts_items_per_day_in_the_workspace_time_zone(
    demo: Workspace, make_member: Callable[..., Any]
) -> None:
    client = signed_in(make_member(demo, "agent"))
    volume = client.get("/w/acme/items/").context["volume"]
    assert len(volume) == 30
    assert volume[-1].day.isoformat() == "2017-12-03"  # the newest demo item, not today
    in_window = Item.objects.filter(workspace=demo, created_at__date__gte=volume[0].day).count()
    assert sum(v.items for v in volume) == in_window

    # 3 Dec 2017 18:52 UTC is still 3 Dec in New York, but 01:43 UTC on 2 Dec is the evening of 1 Dec there.
    utc = {v.day.isoformat(): v.items for v in volume}
    demo.timezone = "America/New_York"
    demo.save(update_fields=["timezone"])
    local = {v.day.isoformat(): v.items for v in client.get("/w/acme/items/").context["volume"]}
    assert sum(local.values()) <= sum(utc.values())
    assert local != utc
