"""The review queue as JSON, for a reviewer's own tools: items, one item, decisions.

``GET /v1/review/items`` (the queue, filtered and paged as the UI's), ``GET
/v1/review/items/{id}`` (one item, audited as ``view``; its record through ``export_record``,
so never an embedded prompt), ``POST /v1/review/items/{id}/decision`` (audited as
``decision``). Every route needs the ``review`` permission. Media is not served here: the
review UI reveals it, one audited picture at a time.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from needle.access import Principal
from needle.jsonvalue import JSONObject, JSONValue
from needle.review import DECISIONS, decide, queue_count, queue_items, review_item
from needle.review.model import decision_dict, queue_item_dict
from needle.web.auth import allow
from needle.web.service import Service, get_service
from needle.web.ui import audit_item, filter_from, off_loop

__all__ = ["router"]

router = APIRouter(prefix="/v1/review", tags=["review"])


class DecisionIn(BaseModel):
    decision: str = Field(description=f"one of: {', '.join(DECISIONS)}", max_length=40)
    note: str = Field("", max_length=4000)
    classification: str | None = Field(
        None, max_length=4, description="A1, A2, B1 or B2 (with an abuse decision only)"
    )


@router.get("/items", summary="The review queue", response_model=None)
async def list_items(
    job: Annotated[str, Query(description="a job id")] = "",
    priority: Annotated[str, Query(description="critical, high, medium, low, none")] = "",
    reason: Annotated[str, Query(description="match, visual, score, guard, ...")] = "",
    decision: Annotated[
        str, Query(description="open (the default), all, undecided, decided, or a decision")
    ] = "",
    case: str = "",
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    who: Principal = allow("review"),
    service: Service = Depends(get_service),
) -> JSONObject:
    wanted = filter_from(job, priority, reason, decision, case)
    items = await off_loop(queue_items, service.store, wanted, offset, limit)
    total = await off_loop(queue_count, service.store, wanted)
    listed: list[JSONValue] = [queue_item_dict(item) for item in items]
    return {"items": listed, "total": total, "offset": offset, "limit": limit}


@router.get(
    "/items/{file_id}", summary="One item with its evidence and decisions", response_model=None
)
async def get_item(
    request: Request,
    file_id: int,
    who: Principal = allow("review"),
    service: Service = Depends(get_service),
) -> JSONObject:
    item = await off_loop(review_item, service.store, file_id)
    await audit_item(service, who, request, "view", file_id, priority=item.priority, via="api")
    return item.to_dict()


@router.post(
    "/items/{file_id}/decision", summary="Record a decision on an item", response_model=None
)
async def post_decision(
    request: Request,
    file_id: int,
    body: DecisionIn,
    who: Principal = allow("review"),
    service: Service = Depends(get_service),
) -> JSONObject:
    entry = await off_loop(
        decide, service.store, file_id, body.decision, body.note, who.name, body.classification
    )
    await audit_item(
        service,
        who,
        request,
        "decision",
        file_id,
        decision=entry.decision,
        note=bool(entry.note),
        via="api",
    )
    return {"id": file_id, "decision": decision_dict(entry)}
