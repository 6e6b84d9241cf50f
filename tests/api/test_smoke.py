"""The reference endpoint answers the demo learner's plans."""

import httpx

from lmsplans.server.demo import DemoTokens
from tests.conftest import auth


async def test_reference_endpoint_lists_the_learners_plans(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    learner_id = demo.people.learner_id
    response = await client.get(
        f"/api/v1/learners/{learner_id}/learning-plans/progress", headers=auth(demo.admin_token)
    )
    assert response.status_code == 200
    body = response.json()
    assert len(body["learningPlans"]) == 4
    assert {plan["userInfo"]["userId"] for plan in body["learningPlans"]} == {str(learner_id)}
