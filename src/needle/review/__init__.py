"""Reviewing what scans flagged: the queue, one item with its evidence, decisions, cases,
blur settings, and the media itself, read safely and shown blurred.

In: the store (records, matches, decisions, cases, settings) and, for media, the quarantine
or the disk inside a job's roots. Out: frozen results (``QueueItem``, ``ReviewItem``,
``DecisionEntry``, ``BlurSettings``...) and image bytes. No HTTP here: ``needle.web.ui`` and
``needle.web.review_api`` render these and audit every view, reveal and decision.
"""

from __future__ import annotations

from needle.review.blur import (
    DEFAULT_BLUR,
    effective_blur,
    org_blur,
    set_org_blur,
    set_user_blur,
    user_blur,
)
from needle.review.cases import (
    add_to_case,
    case_details,
    case_items,
    cases,
    remove_from_case,
    set_case_details,
)
from needle.review.decisions import CLASSIFICATIONS, DECISIONS, decide
from needle.review.media import MediaUnavailable, media_bytes, revealed_image, thumbnail
from needle.review.model import (
    PRIORITY_ORDER,
    REASON_KINDS,
    BlurSettings,
    CaseSummary,
    ClassificationView,
    DecisionEntry,
    ItemNotFound,
    QueueFilter,
    QueueItem,
    ReasonView,
    ReviewError,
    ReviewItem,
    ScoreView,
)
from needle.review.queue import adjacent, queue_count, queue_items, review_item

__all__ = [
    "CLASSIFICATIONS",
    "DECISIONS",
    "DEFAULT_BLUR",
    "PRIORITY_ORDER",
    "REASON_KINDS",
    "BlurSettings",
    "CaseSummary",
    "ClassificationView",
    "DecisionEntry",
    "ItemNotFound",
    "MediaUnavailable",
    "QueueFilter",
    "QueueItem",
    "ReasonView",
    "ReviewError",
    "ReviewItem",
    "ScoreView",
    "add_to_case",
    "adjacent",
    "case_details",
    "case_items",
    "cases",
    "decide",
    "effective_blur",
    "media_bytes",
    "org_blur",
    "queue_count",
    "queue_items",
    "remove_from_case",
    "revealed_image",
    "review_item",
    "set_case_details",
    "set_org_blur",
    "set_user_blur",
    "thumbnail",
    "user_blur",
]
