"""`AsyncClient`: authentication, pacing and retries around every call; the resources."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

import httpx

from lmsplans.client._answers import check_response
from lmsplans.client._async.auth import AsyncTokenManager
from lmsplans.client._async.resources.courses import AsyncCourses
from lmsplans.client._async.resources.events import AsyncEvents
from lmsplans.client._async.resources.learners import AsyncLearners
from lmsplans.client._async.resources.learning_plans import AsyncLearningPlans
from lmsplans.client._async.resources.oauth import AsyncOAuth
from lmsplans.client._async.resources.webhooks import AsyncWebhooks
from lmsplans.client._auth import Credentials, RefreshBudget
from lmsplans.client._endpoints import Endpoint
from lmsplans.client._errors import APIStatusError
from lmsplans.client._hosts import DEFAULT_TIMEOUT, USER_AGENT, env_settings, resolve_urls
from lmsplans.client._pacing import Governor, RateLimitPolicy
from lmsplans.client._pacing_store import open_store, scope_of, state_path
from lmsplans.client._requests import WRITE_METHODS, build_headers, new_idempotency_key
from lmsplans.client._retry import Action, Attempts, RetryPolicy, lock_seconds, log_retry

__all__ = ["AsyncClient"]


class AsyncClient:
    """An asyncio client for the Zoho People LMS API, as served by Zoho or by `lmsplans serve`.

    Authenticate with `access_token=`, or with `refresh_token=`, `client_id=` and
    `client_secret=` (access tokens are then minted and renewed before they expire; a token
    the server refuses is renewed once and the call retried). Choose the Zoho data centre with
    `dc=` (com, eu, in, com.au, jp, ca, sa, uk, com.cn), or point the client anywhere with
    `base_url=` (and `accounts_url=`, which defaults to `base_url`).

    Every call goes through a pacing `Governor` (default: 30 calls a minute per API, then
    whatever the server announces), so a long job never trips the lock; a lock that comes
    anyway is waited out and the same call retried. 5xx answers and network errors are retried
    `max_retries` times with jittered exponential backoff. `transport=` takes any httpx
    transport (the seam for tests); `clock=` and `sleep=` drive the governor and the backoff.

    The governor keeps the calls in `pacing_state`: by default a file in the user's cache
    directory (`LMSPLANS_PACING_STATE` names another, or `off`), shared by every process of
    the same user, so a restarted or a second process knows the window it is in; `False`
    keeps them in memory. `pacing_headroom` calls of each window (default one) are left free
    for a person's manual call with the same user.

    Calls are awaited and pagers are async iterators; `Client` is the same, blocking.

    Resources and their methods (lists come back as pagers that fetch every page as they are
    iterated; each method's docstring names its route, e.g. `help(client.learners.get)`):

    - learners.learning_plans_progress(learner_id): every plan's progress (the reference API)
    - learners.plan_courses_progress(learner_id, plan_id): a plan's courses, with progress
    - learners.course_progress(learner_id): the learner's progress in every course
    - learners.plan_history(learner_id, plan_id): the learner's events in a plan
    - learners.list(search=, role=, status=), learners.get(learner_id)
    - learners.create(email_id=, display_name=, employee_id=), learners.create_many(learners)
    - learners.upsert_many(learners): create or update by employee id (else email)
    - learners.update(learner_id, ...), learners.deactivate(learner_id)
    - learning_plans.list(), learning_plans.get(plan_id)
    - learning_plans.learners(plan_id, status=, search=): the roster with progress, 100 a call
    - learning_plans.roster_summary(plan_id, status=, search=): the roster's counts, in one call
    - learning_plans.create(name), learning_plans.update(plan_id, ...)
    - learning_plans.delete(plan_id), learning_plans.publish(plan_id)
    - learning_plans.disable(plan_id), learning_plans.set_courses(plan_id, courses)
    - learning_plans.enrol(plan_id, learners), learning_plans.unenrol(plan_id, learner_id)
    - learning_plans.join(plan_id, learner_id)
    - courses.progress(course_id), courses.learner_progress(course_id, learner_id)
    - courses.record_progress(course_id, learner_id, percentage=, status=, reset=)
    - courses.list(), courses.get(course_id), courses.create(name)
    - courses.update(course_id, ...), courses.delete(course_id)
    - events.iter(after=, types=, wait=): the change feed, followed (long polls) from a cursor
    - oauth.refresh(), oauth.revoke(token)
    - webhooks.create(url, event_types), webhooks.list(), webhooks.get(webhook_id)
    - webhooks.update(webhook_id, ...), webhooks.delete(webhook_id)
    - webhooks.rotate_secret(webhook_id), webhooks.test(webhook_id)
    - webhooks.deliveries(webhook_id), webhooks.replay(webhook_id, event_ids)
    - request(method, path, path_params=, params=, json=): any other API

    Paging: pass `page_size` (1 to 100) and `start_index` as the API counts them, or neither.
    The reference endpoint counts `startIndex` from 0, the other lists from 1 (0 is accepted as
    the first record), as Zoho defines them; a pager starts at the first record of either.
    """

    def __init__(
        self,
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        dc: str | None = None,
        base_url: str | None = None,
        accounts_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 2,
        rate_limit: RateLimitPolicy | None = None,
        governor: Governor | None = None,
        retry: RetryPolicy | None = None,
        refresh_budget: RefreshBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        pacing_state: str | os.PathLike[str] | bool | None = None,
        pacing_headroom: int = 1,
    ) -> None:
        self.base_url, self.accounts_url = resolve_urls(dc, base_url, accounts_url)
        self.retry = retry or RetryPolicy(max_retries=max_retries)
        self._owns_governor = governor is None
        self.governor = governor or Governor(
            rate_limit,
            headroom=pacing_headroom,
            store=open_store(state_path(pacing_state)),
            scope=scope_of(self.base_url, refresh_token or access_token),
            clock=clock,
            async_sleep=sleep,
        )
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
        )
        credentials = Credentials(
            access_token=access_token,
            refresh_token=refresh_token,
            client_id=client_id,
            client_secret=client_secret,
            accounts_url=self.accounts_url,
            clock=clock,
            retry=self.retry,
            budget=refresh_budget,
        )
        self._auth = AsyncTokenManager(credentials, http=self._http, sleep=sleep)
        self.learners = AsyncLearners(self)
        self.learning_plans = AsyncLearningPlans(self)
        self.courses = AsyncCourses(self)
        self.events = AsyncEvents(self)
        self.oauth = AsyncOAuth(self)
        self.webhooks = AsyncWebhooks(self)

    @classmethod
    def from_env(cls, **overrides: Any) -> AsyncClient:
        """A client configured from `LMSPLANS_BASE_URL`, `LMSPLANS_ACCOUNTS_URL`,
        `LMSPLANS_DC`, `LMSPLANS_ACCESS_TOKEN`, `LMSPLANS_REFRESH_TOKEN`, `LMSPLANS_CLIENT_ID`
        and `LMSPLANS_CLIENT_SECRET`; keyword arguments win over the environment."""
        return cls(**{**env_settings(), **overrides})

    @property
    def token_refreshes(self) -> int:
        """How many access tokens this client has minted."""
        return self._auth.credentials.refreshes

    async def request(
        self,
        method: str,
        path: str,
        *,
        path_params: Mapping[str, str | int] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Call any API and return the decoded answer.

        `path` is the route template (`/api/v1/learners/{learnerId}/course-progress`) and
        `path_params` fills it; the template names the API for the governor. Writes (POST, PUT,
        PATCH, DELETE) carry an `Idempotency-Key` (a new one unless given), the same on every
        retry, so a write retried after a lost answer is applied once.
        """
        endpoint = Endpoint(method.upper(), path)
        return await self._call(
            endpoint,
            endpoint.path(**(path_params or {})),
            params=params,
            json=json,
            idempotency_key=idempotency_key,
        )

    async def _call(
        self,
        endpoint: Endpoint,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        read_seconds: float | None = None,
    ) -> dict[str, Any]:
        method, api = endpoint.method, endpoint.api
        if method in WRITE_METHODS and idempotency_key is None:
            idempotency_key = new_idempotency_key()
        attempts = Attempts(self.retry)
        error: APIStatusError | None = None
        for _ in range(attempts.limit):
            ticket = await self.governor.acquire_async(api)
            try:  # after the wait for a slot, so the token is fresh when sent
                token = await self._auth.token()
            except BaseException:
                self.governor.release(ticket)
                raise
            request = self._http.build_request(
                method,
                path,
                params=params,
                json=json,
                headers=build_headers({}, token, idempotency_key),
                # A long poll answers late by design: its own time to wait for the answer.
                timeout=httpx.USE_CLIENT_DEFAULT if read_seconds is None else read_seconds,
            )
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                if isinstance(exc, httpx.ConnectError):
                    self.governor.release(ticket)  # it never reached the server
                else:
                    self.governor.settle(ticket)
                action = attempts.after_transport_error(exc)
                log_retry(api, action, exc)
                await self._sleep(action.seconds)
                continue
            except BaseException:
                self.governor.settle(ticket)  # it may have reached the server
                raise
            self.governor.settle(ticket, response.headers)
            try:
                return check_response(response)
            except APIStatusError as failed:
                error = failed
                action = attempts.after_error(
                    failed, can_refresh=self._auth.credentials.can_refresh
                )
            if action.kind == "lock":
                action = Action("lock", lock_seconds(action.seconds, response, self.governor, api))
                self.governor.lock(api, action.seconds)
            log_retry(api, action, error)
            if action.kind == "refresh":
                await self._auth.invalidate(token)
            elif action.kind == "retry":
                await self._sleep(action.seconds)
        assert error is not None
        raise error

    async def aclose(self) -> None:
        """Close the connections (and the pacing state, unless the governor was given)."""
        await self._http.aclose()
        if self._owns_governor:
            self.governor.store.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
