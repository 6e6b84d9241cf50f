"""The Zoho-shaped `planInfo` object, key for key and type for type as the reference sample."""

from __future__ import annotations

from typing import Any

# The columns `plan_info` reads, for queries that select a plan (table alias `p`).
PLAN_INFO_COLUMNS = (
    "p.id AS plan_id, p.name AS plan_name, p.duration, p.duration_type, p.publish_state,"
    " p.disabled, p.owner_id, p.created_time AS plan_created_time, p.image_is_system,"
    " p.image, p.image_url,"
    " (SELECT count(*) FROM plan_courses pc WHERE pc.plan_id = p.id) AS course_count,"
    " (SELECT count(*) FROM plan_courses pc WHERE pc.plan_id = p.id AND pc.is_mandatory)"
    " AS mandatory_count"
)


def plan_info(row: Any, *, viewer_id: int) -> dict[str, Any]:
    """`planInfo`; `isPlanOwner` is relative to `viewer_id` (the learner the answer is about)."""
    return {
        "duration": str(row["duration"]),
        "publishState": str(row["publish_state"]),
        "planImageInfo": {
            "isSystem": bool(row["image_is_system"]),
            "image": row["image"],
            "imageUrl": row["image_url"],
        },
        "activeCourseCount": str(row["course_count"]),
        "planName": row["plan_name"],
        "createdTime": str(row["plan_created_time"]),
        "planId": str(row["plan_id"]),
        "disabled": "true" if row["disabled"] else "false",
        "durationType": str(row["duration_type"]),
        "mandatoryCourseCount": str(row["mandatory_count"]),
        "isPlanOwner": row["owner_id"] == viewer_id,
    }
