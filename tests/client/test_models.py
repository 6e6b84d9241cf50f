"""Zoho's string conventions become Python types; answers become records or exceptions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from lmsplans.client import (
    APIStatusError,
    AuthenticationError,
    ConflictError,
    LearningPlanProgress,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    ValidationError,
)
from lmsplans.client._answers import check_response, parse_token_response
from lmsplans.client._endpoints import LEARNER_PLANS_PROGRESS, LEARNING_PLANS, Cursor
from lmsplans.client._models import to_bool, to_datetime, to_int
from tests.conftest import reference_sample


def test_conversions() -> None:
    assert to_int("30") == 30 and to_int(30) == 30 and to_int("null") is None
    assert to_int(None) is None and to_int("") is None
    assert to_bool("false") is False and to_bool("true") is True and to_bool(True) is True
    assert to_bool("null") is None
    moment = to_datetime("1755596717804")
    assert moment == datetime(2025, 8, 19, 9, 45, 17, 804000, tzinfo=UTC)
    assert to_datetime("null") is None and to_datetime(None) is None
    with pytest.raises(ValueError):
        to_int("thirty")
    with pytest.raises(ValueError):
        to_bool("maybe")
    with pytest.raises(ValueError):
        to_int(True)


def test_the_reference_sample_is_typed_and_kept_raw() -> None:
    record = reference_sample()["learningPlans"][0]
    entry = LearningPlanProgress.from_raw(record)
    assert entry.raw is record
    assert entry.plan_id == "100002000000046167"
    user, plan = entry.user_info, entry.plan_info
    assert user.planuser_id == "100002000000046189" and user.user_id == "100002000000040623"
    assert user.is_user_joined_plan is True and user.is_user_completed_plan is False
    assert user.user_type == 1 and user.is_plan_admin is False
    assert user.enrolled_time is None  # "null"
    assert plan.duration == 30 and plan.duration_type == 0 and plan.publish_state == 1
    assert plan.is_published and plan.disabled is False and plan.is_plan_owner is False
    assert plan.active_course_count == 2 and plan.mandatory_course_count == 1
    assert plan.created_time == datetime(2025, 8, 19, 9, 45, 17, 804000, tzinfo=UTC)
    assert plan.plan_name == "L1"
    assert plan.image is not None and plan.image.is_system is True and plan.image.image == "23"
    assert entry.progress_info is None  # Zoho's own answer has none


def _response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("GET", "http://testserver/api/v1/learning-plans")
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, 7019, ValidationError),
        (400, 7204, ValidationError),
        (401, 7202, AuthenticationError),
        (403, 7218, PermissionDeniedError),
        (404, 7049, NotFoundError),
        (405, 7051, APIStatusError),
        (409, 7052, ConflictError),
        (422, 7021, ValidationError),
        (429, 7209, RateLimitedError),
        (500, 7500, ServerError),
        (503, 7503, ServerError),
    ],
)
def test_error_envelopes_become_exceptions(status: int, code: int, cls: type) -> None:
    body = {"status": status, "code": code, "message": "text", "requestId": "r-1"}
    with pytest.raises(cls) as raised:
        check_response(_response(status, body, {"Retry-After": "7"}))
    error = raised.value
    assert type(error) is cls
    assert (error.status, error.code, error.message, error.request_id) == (
        status,
        code,
        "text",
        "r-1",
    )
    if cls is RateLimitedError:
        assert error.retry_after == 7.0


def test_zoho_errors_inside_a_200_are_errors() -> None:
    body = {"response": {"status": 1, "errors": {"code": 7209, "message": "blocked"}}}
    with pytest.raises(RateLimitedError) as raised:
        check_response(_response(200, body))
    assert raised.value.status == 429 and raised.value.code == 7209


def test_a_non_json_error_page() -> None:
    with pytest.raises(ServerError) as raised:
        check_response(_response(502, "<html>Bad gateway</html>"))
    assert raised.value.status == 502 and raised.value.code is None


def test_token_answers() -> None:
    ok = _response(200, {"access_token": "1000.a", "expires_in": 3600, "api_domain": "x"})
    assert parse_token_response(ok).expires_in == 3600
    with pytest.raises(AuthenticationError):
        parse_token_response(_response(200, {"error": "invalid_code"}))  # Zoho's way
    with pytest.raises(RateLimitedError):
        parse_token_response(_response(400, {"error": "Access Denied"}))


def test_a_short_page_ends_the_walk_when_the_flag_is_absent() -> None:
    cursor = Cursor(LEARNER_PLANS_PROGRESS, page_size=None, start_index=None)
    assert cursor.params() == {"startIndex": "0"}  # Zoho's page: no limit sent
    full = {"learningPlans": [{"planId": str(i)} for i in range(25)]}
    records, more = cursor.accept(full)
    assert len(records) == 25 and more and cursor.params() == {"startIndex": "25"}
    records, more = cursor.accept({"learningPlans": [{"planId": "x"}]})
    assert len(records) == 1 and not more


def test_a_repeated_page_ends_the_walk_without_repeating_records() -> None:
    cursor = Cursor(LEARNING_PLANS, page_size=2, start_index=None)
    assert cursor.params() == {"startIndex": "1", "limit": "2"}
    page = {"learningPlans": [{"planId": "1"}, {"planId": "2"}]}
    assert cursor.accept(page) == (page["learningPlans"], True)
    assert cursor.accept(page) == ([], False)  # a server that ignores startIndex


def test_the_flag_wins_over_the_page_length() -> None:
    cursor = Cursor(LEARNING_PLANS, page_size=2, start_index=None)
    _, more = cursor.accept({"learningPlans": [{"planId": "1"}], "isNextAvailable": True})
    assert more
    _, more = cursor.accept(
        {"learningPlans": [{"planId": "2"}, {"planId": "3"}], "isNextAvailable": False}
    )
    assert not more
    with pytest.raises(Exception, match="page_size"):
        Cursor(LEARNING_PLANS, page_size=101, start_index=None)


def test_a_value_that_does_not_convert_names_the_record_the_field_and_the_wire_key() -> None:
    from lmsplans.client import PlanInfo

    with pytest.raises(ValueError, match=r"^PlanInfo\.duration \('duration'\): .*'thirty'"):
        PlanInfo.from_raw({"planId": "1", "duration": "thirty"})
    with pytest.raises(ValueError, match=r"^LearningPlanProgress\.plan_info \('planInfo'\): "):
        LearningPlanProgress.from_raw({"planInfo": {"publishState": "maybe"}})


def test_records_read_missing_keys_as_none_and_fall_back_where_declared() -> None:
    entry = LearningPlanProgress.from_raw({"planInfo": {"planId": "7"}})
    assert entry.plan_id == "7"  # `planId` missing: read from planInfo.planId
    assert entry.user_info.user_id == "" and entry.user_info.enrolled_time is None
    assert entry.progress_info is None and entry.plan_info.image is None


def test_an_errors_string_names_the_fields_that_were_wrong() -> None:
    body = {
        "status": 400,
        "code": 7204,
        "message": "Invalid value for parameter limit",
        "errors": [{"field": "limit", "message": "must be at most 100"}, {"field": "status"}],
    }
    with pytest.raises(ValidationError) as raised:
        check_response(_response(400, body))
    assert str(raised.value) == (
        "[400 7204] Invalid value for parameter limit (limit: must be at most 100; status)"
    )
    assert raised.value.errors[0]["field"] == "limit"
