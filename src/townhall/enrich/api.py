"""REST endpoints: what an item means, agents' corrections, and retraining from them."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from townhall.core.api_base import ERRORS, client_ip
from townhall.enrich import services
from townhall.enrich.models import Enrichment
from townhall.enrich.schemas import CorrectionCreate, IntentScore, RetrainResult, UnderstandingRead
from townhall.items.services import access_item_by_id
from townhall.workspaces.services import access_workspace, record_audit

router = Router(tags=["understanding"])


def read(row: Enrichment) -> UnderstandingRead:
    return UnderstandingRead(
        path=row.path,
        language=row.language,
        language_confidence=row.language_confidence,
        sentiment=row.sentiment,
        sentiment_score=row.sentiment_score,
        sentiment_confidence=row.sentiment_confidence,
        intents=[IntentScore(**i) for i in row.intents],
        primary_intent=row.primary_intent,
        spam_probability=row.spam_probability,
        toxicity=row.toxicity,
        toxicity_probability=row.toxicity_probability,
        entities=row.entities,
        sentiment_source=row.sentiment_source,
        intent_source=row.intent_source,
        enriched_at=row.enriched_at,
    )


@router.post("/workspaces/{slug}/items/{item_id}/corrections", response={200: UnderstandingRead, **ERRORS})
def correct(request: HttpRequest, slug: str, item_id: int, payload: CorrectionCreate) -> UnderstandingRead:
    """Relabel an item's sentiment or intents: it shows your label at once; the next retrain learns it."""
    workspace = access_workspace(user=request.user, slug=slug, permission="items.write")
    item = access_item_by_id(workspace=workspace, item_id=item_id)
    correction = services.do_correct(
        item=item, field=payload.field, labels=payload.labels, actor=request.user
    )
    record_audit(
        actor=request.user,
        action="item.correct",
        target=correction,
        workspace=workspace,
        detail={"item": item.pk, "field": payload.field, "labels": correction.labels},
        ip_address=client_ip(request),
    )
    return read(services.access_enrichment(workspace=workspace, item_id=item_id))


@router.post("/workspaces/{slug}/understanding/retrain", response={200: RetrainResult, **ERRORS})
def retrain(request: HttpRequest, slug: str) -> RetrainResult:
    """Learn from every correction in the workspace now (a periodic job also does it)."""
    workspace = access_workspace(user=request.user, slug=slug, permission="understanding.train")
    used = services.do_retrain(workspace=workspace)
    record_audit(
        actor=request.user,
        action="understanding.retrain",
        workspace=workspace,
        detail=used,
        ip_address=client_ip(request),
    )
    return RetrainResult(examples=used)
