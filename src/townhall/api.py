"""The REST API: every domain's router under /api, one auth scheme, one error shape."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from townhall import __version__
from townhall.connectors.api import router as channels_router
from townhall.core.api_base import AUTH
from townhall.core.errors import TownhallError
from townhall.enrich.api import router as understanding_router
from townhall.inbox.api import router as inbox_router
from townhall.items.api import router as items_router
from townhall.listening.api import router as listening_router
from townhall.people.api import router as people_router
from townhall.publishing.api import router as publishing_router
from townhall.publishing.plan_api import router as planning_router
from townhall.webhooks.api import router as webhooks_router
from townhall.workspaces.api import router as workspaces_router

api = NinjaAPI(
    title="Townhall API",
    version=__version__,
    description=(
        "Workspaces, channels, people and items of a Townhall workbench. Authenticate with "
        "`Authorization: Bearer <token>` (create one with `townhall token create`) or a signed-in session. "
        'Errors are JSON: `{"detail": "what went wrong", "field": "which input"}`.'
    ),
    auth=AUTH,
    docs_url="/docs",
    openapi_url="/openapi.json",
    urls_namespace="api",
)
api.add_router("/", workspaces_router)
api.add_router("/", channels_router)
api.add_router("/", people_router)
api.add_router("/", items_router)
api.add_router("/", understanding_router)
api.add_router("/", inbox_router)
api.add_router("/", listening_router)
api.add_router("/", publishing_router)
api.add_router("/", planning_router)
api.add_router("/", webhooks_router)


@api.exception_handler(TownhallError)
def domain_error(request: HttpRequest, exc: TownhallError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message, "field": exc.field}, status=exc.status)


@api.exception_handler(AuthenticationError)
def not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request,
        {"detail": "sign in, or send an API token as 'Authorization: Bearer <token>'", "field": None},
        status=401,
    )


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja's own errors (an unparsable body, ...) get the same shape as ours
    return api.create_response(request, {"detail": exc.message, "field": None}, status=exc.status_code)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "not found", "field": None}, status=404)


_SOURCES = ("body", "query", "path", "form", "file", "header", "cookie")


@api.exception_handler(ValidationError)
def invalid_input(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = []
    first_field = None
    for error in exc.errors:
        # loc is (source, [body parameter,] field...): name the field the client sent, not our plumbing.
        location = [str(p) for p in error.get("loc", [])]
        if location and location[0] in _SOURCES:
            source, location = location[0], location[1:]
            if source == "body" and location[:1] == ["payload"]:
                location = location[1:]
        where = ".".join(location) or "request"
        first_field = first_field or where
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return api.create_response(request, {"detail": "; ".join(problems), "field": first_field}, status=422)
