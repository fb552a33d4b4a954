"""Dependencies every endpoint declares with ``Annotated``: the read session, the caller and
their role, and the Writer that runs a change in one transaction (idempotently, when the
request carries an ``Idempotency-Key``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api import problems
from api.services import ApiServices
from db import apikeys, idempotency
from db.apikeys import Caller, Refused
from db.engine import transaction
from db.errors import PosError
from db.models import Role
from db.settings import Settings

REPLAYED_HEADER = "Idempotent-Replayed"

bearer = HTTPBearer(
    auto_error=False,
    description="An API key: `python -m bot apikey new <role> <name>`, or `/apikey new <role> <name>` in the chat.",
)


def get_services(request: Request) -> ApiServices:
    return request.app.state.pos


Services = Annotated[ApiServices, Depends(get_services)]


def get_settings(services: Services) -> Settings:
    return services.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def read_session(services: Services) -> AsyncIterator[AsyncSession]:
    """A session that only reads: on SQLite it never takes the write lock the counter needs."""
    async with services.read_factory() as session, session.begin():
        yield session


ReadSession = Annotated[AsyncSession, Depends(read_session)]


async def current_caller(
    services: Services, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Caller:
    """The API key's caller; 401 without a valid key, 429 over the key's rate limit."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise problems.ApiProblem(401, "Send your API key as “Authorization: Bearer <key>”.", headers=challenge)
    async with transaction(services.session_factory) as session:
        caller = await apikeys.authenticate(
            session, key=credentials.credentials, rate_limit=services.settings.api_rate_limit
        )
    if caller is None:
        raise problems.ApiProblem(401, "This API key is not valid: it is unknown or was revoked.", headers=challenge)
    if isinstance(caller, Refused):
        limit = services.settings.api_rate_limit
        raise problems.ApiProblem(
            429,
            f"Too many requests: this key may make {limit} a minute. Retry in {caller.retry_after} s.",
            headers={"Retry-After": str(caller.retry_after)},
        )
    return caller


def allow(role: Role) -> Callable[[Caller], Awaitable[Caller]]:
    async def check(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
        if not caller.role.includes(role):
            raise problems.ApiProblem(
                403, f"This needs a {role.value} key or higher; “{caller.name}” is a {caller.role.value} key."
            )
        return caller

    return check


CashierKey = Annotated[Caller, Depends(allow(Role.CASHIER))]
ManagerKey = Annotated[Caller, Depends(allow(Role.MANAGER))]
AdminKey = Annotated[Caller, Depends(allow(Role.ADMIN))]

Work = Callable[[AsyncSession], Awaitable[BaseModel]]


class Writer:
    """Runs one change in one transaction and answers with its result."""

    def __init__(self, request: Request, services: ApiServices, caller: Caller, key: str | None) -> None:
        self.request, self.services, self.caller, self.key = request, services, caller, key

    async def run(self, work: Work, *, status: int = 200) -> Response:
        factory = self.services.session_factory
        if self.key is None:
            async with transaction(factory) as session:
                content = (await work(session)).model_dump_json()
            return Response(content, status_code=status, media_type="application/json")

        fingerprint = idempotency.fingerprint(self.request.method, self.request.url.path, await self.request.body())
        async with transaction(factory) as session:
            claim = await idempotency.claim(
                session, api_key_id=self.caller.key_id, key=self.key, fingerprint=fingerprint
            )
        if isinstance(claim, idempotency.Replay):
            media = "application/json" if claim.status < 400 else problems.MEDIA_TYPE
            return Response(claim.body, status_code=claim.status, media_type=media, headers={REPLAYED_HEADER: "true"})
        try:
            async with transaction(factory) as session:
                content = (await work(session)).model_dump_json()
                await idempotency.complete(session, claim=claim, status=status, body=content)
        except idempotency.Superseded:
            raise
        except PosError as error:
            # The same request would fail the same way: the retry replays this answer.
            code, problem = problems.of_pos_error(error)
            async with transaction(factory) as session:
                await idempotency.complete(session, claim=claim, status=code, body=problems.encode(problem))
            raise
        except BaseException:
            async with transaction(factory) as session:
                await idempotency.release(session, claim=claim)
            raise
        return Response(content, status_code=status, media_type="application/json")


IDEMPOTENCY_HELP = (
    "Makes the request safe to retry: the same key with the same body answers with the first "
    "response (status and body) without doing anything again; the same key with a different body is "
    "422; while the first request with this key is still running, 409. Keys are kept 24 hours, per API key."
)


async def creating(
    request: Request,
    services: Services,
    caller: Annotated[Caller, Depends(current_caller)],
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", max_length=255, description=IDEMPOTENCY_HELP)
    ] = None,
) -> Writer:
    return Writer(request, services, caller, idempotency_key)


async def changing(request: Request, services: Services, caller: Annotated[Caller, Depends(current_caller)]) -> Writer:
    return Writer(request, services, caller, None)


Create = Annotated[Writer, Depends(creating)]
Change = Annotated[Writer, Depends(changing)]
