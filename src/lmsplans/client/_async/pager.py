"""Lists page after page (`AsyncPager`), and what every resource's methods are made of."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from lmsplans.client._answers import record_of
from lmsplans.client._endpoints import MAX_PAGES, Cursor, Endpoint, Page
from lmsplans.client._wire import Record

if TYPE_CHECKING:
    from lmsplans.client._async.client import AsyncClient

__all__ = ["AsyncPager", "AsyncResource"]

T = TypeVar("T")
R = TypeVar("R", bound=Record)


class AsyncPager(Generic[T]):
    """Every record of a list, page after page. Iterate it for the records; `pages()` gives
    the pages themselves. Each iteration walks the list again from its start."""

    def __init__(
        self,
        client: AsyncClient,
        endpoint: Endpoint,
        path: str,
        parse: Callable[[dict[str, Any]], T],
        *,
        params: Mapping[str, str] | None = None,
        page_size: int | None = None,
        start_index: int | None = None,
    ) -> None:
        self._client = client
        self._endpoint = endpoint
        self._path = path
        self._parse = parse
        self._params = dict(params or {})
        self._page_size = page_size
        self._start_index = start_index
        Cursor(endpoint, page_size=page_size, start_index=start_index)  # validates early

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Each page in turn, until the last."""
        cursor = Cursor(self._endpoint, page_size=self._page_size, start_index=self._start_index)
        for _ in range(MAX_PAGES):
            start = cursor.start
            body = await self._client._call(
                self._endpoint, self._path, params={**self._params, **cursor.params()}
            )
            records, more = cursor.accept(body)
            yield Page([self._parse(r) for r in records], start, more, body)
            if not more:
                return

    async def first_page(self) -> Page[T]:
        """Only the first page (one call)."""
        async for page in self.pages():
            return page
        raise AssertionError("unreachable")  # pragma: no cover

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def to_list(self) -> list[T]:
        """Every record, in a list."""
        return [item async for item in self]


class AsyncResource:
    """The base of a resource: a list, or one record, from one endpoint."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def _pager(
        self,
        endpoint: Endpoint,
        record: type[R],
        *,
        page_size: int | None,
        start_index: int | None,
        params: Mapping[str, str] | None = None,
        **path: str | int,
    ) -> AsyncPager[R]:
        return AsyncPager(
            self._client,
            endpoint,
            endpoint.path(**path),
            record.from_raw,
            params=params,
            page_size=page_size,
            start_index=start_index,
        )

    async def _record(
        self,
        endpoint: Endpoint,
        record: type[R],
        *,
        json: Any = None,
        idempotency_key: str | None = None,
        **path: str | int,
    ) -> R:
        body = await self._client._call(
            endpoint, endpoint.path(**path), json=json, idempotency_key=idempotency_key
        )
        return record.from_raw(record_of(body, endpoint.key))
