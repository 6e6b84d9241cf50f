"""The OAuth endpoints, in the shape of Zoho Accounts (`/oauth/v2/token`, `.../revoke`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lmsplans.server.auth import service
from lmsplans.server.auth.schemas import (
    GrantType,
    IssuedToken,
    NonEmpty,
    OAuthError,
    RevokeRequest,
    RevokeResponse,
    TokenRequest,
    TokenResponse,
)
from lmsplans.server.errors import (
    ApiError,
    InvalidParameter,
    InvalidScope,
    InvalidToken,
    MissingParameter,
    RateLimited,
    ServiceUnavailable,
)
from lmsplans.server.http import Services, client_address
from lmsplans.server.openapi import Param
from lmsplans.server.params import check_text, media_type, required
from lmsplans.server.routing import RouteTable
from lmsplans.server.wire import json_response, ok

routes = RouteTable(tags=("OAuth",))
_FORM = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _params(request: Request) -> dict[str, str]:
    """Zoho takes these as query parameters; a form body works as well, but a parameter in
    both is 400 7204 (which one would count?)."""
    params = dict(request.query_params)
    if media_type(request) in _FORM:
        async with request.form() as form:  # closes any uploaded file it spooled
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
        for name in sorted(fields.keys() & params.keys()):
            raise InvalidParameter(name, "is in both the query string and the form: send it once")
        params.update(fields)
    for name, value in params.items():
        check_text(name, value)
    return params


async def _count_failure(request: Request, services: Services) -> None:
    """Failed attempts count per client address, so secrets cannot be guessed at speed:
    past the threshold, 429 instead of the failure."""
    decision = await services.limiter.hit(f"addr:{client_address(request)}:POST /oauth/v2/token")
    if not decision.allowed:
        raise RateLimited(headers=decision.headers())


@routes.public_post(
    "/oauth/v2/token",
    response=TokenResponse,
    params=(
        Param("grant_type", GrantType, "Or as a form field."),
        *(
            Param(name, NonEmpty, "Or as a form field.")
            for name in ("client_id", "client_secret", "refresh_token", "scope")
        ),
    ),
    body=TokenRequest,
    body_media=_FORM,
    body_required=False,
    errors=(MissingParameter, InvalidParameter, InvalidToken, InvalidScope, RateLimited),
    error_model=OAuthError,
)
async def token(request: Request, services: Services) -> Response:
    """An access token (refresh_token or client_credentials grant)

    As Zoho Accounts: the parameters go in the query string or as form fields. At most 10
    access tokens per refresh token in 10 minutes (429). Failed attempts are limited per
    client address.
    """
    settings, now_ms = services.settings, services.clock.now_ms()
    try:
        params = await _params(request)
        grant_type = required(params.get("grant_type"), "grant_type")
        client_id = required(params.get("client_id"), "client_id")
        client_secret = required(params.get("client_secret"), "client_secret")
        async with services.db.transaction() as conn:
            issued: IssuedToken
            if grant_type == "refresh_token":
                issued = await service.refresh_token_grant(
                    conn,
                    client_id=client_id,
                    client_secret=client_secret,
                    refresh_token=required(params.get("refresh_token"), "refresh_token"),
                    now_ms=now_ms,
                    ttl_seconds=settings.access_token_ttl_seconds,
                    mint_limit=settings.token_mint_limit,
                    mint_period_seconds=settings.token_mint_period_seconds,
                )
            elif grant_type == "client_credentials":
                issued = await service.client_credentials_grant(
                    conn,
                    client_id=client_id,
                    client_secret=client_secret,
                    scope=required(params.get("scope"), "scope"),
                    now_ms=now_ms,
                    ttl_seconds=settings.access_token_ttl_seconds,
                )
            else:
                raise InvalidParameter("grant_type", "must be refresh_token or client_credentials")
    except (RateLimited, ServiceUnavailable):
        raise  # not a failed attempt: too many tokens minted, or storage down
    except ApiError:
        await _count_failure(request, services)
        raise
    api_domain = settings.api_domain or str(request.base_url).rstrip("/")
    return json_response(
        {
            "access_token": issued.access_token,
            "scope": issued.scopes,
            "api_domain": api_domain,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
        }
    )


@routes.public_post(
    "/oauth/v2/token/revoke",
    response=RevokeResponse,
    params=(Param("token", NonEmpty, "Or as a form field."),),
    body=RevokeRequest,
    body_media=_FORM,
    body_required=False,
    errors=(MissingParameter, InvalidParameter),
)
async def revoke(request: Request, services: Services) -> Response:
    """Revoke a refresh token (with its access tokens) or an access token

    An unknown token is answered like a known one (RFC 7009).
    """
    params = await _params(request)
    raw = required(params.get("token"), "token")
    async with services.db.transaction() as conn:
        await service.revoke(conn, token=raw, now_ms=services.clock.now_ms())
    return ok({}, "Token revoked")
