# Generated from src/lmsplans/client/_async/pager.py
# by scripts/unasync.py: do not edit (edit the source, then run the script).
"""Lists page after page (`SyncPager`), and what every resource's methods are made of."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from lmsplans.client._answers import record_of
from lmsplans.client._endpoints import MAX_PAGES, Cursor, Endpoint, Page
from lmsplans.client._wire import Record

if TYPE_CHECKING:
    from lmsplans.client._sync.client import Client

__all__ = ["Resource", "SyncPager"]

T = TypeVar("T")
R = TypeVar("R", bound=Record)


class SyncPager(Generic[T]):
    """Every record of a list, page after page. Iterate it for the records; `pages()` gives
    the pages themselves. Each iteration walks the list again from its start."""

    def __init__(
        self,
        client: Client,
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

    def pages(self) -> Iterator[Page[T]]:
        """Each page in turn, until the last."""
        cursor = Cursor(self._endpoint, page_size=self._page_size, start_index=self._start_index)
        for _ in range(MAX_PAGES):
            start = cursor.start
            body = self._client._call(
                self._endpoint, self._path, params={**self._params, **cursor.params()}
            )
            records, more = cursor.accept(body)
            yield Page([self._parse(r) for r in records], start, more, body)
            if not more:
                return

    def first_page(self) -> Page[T]:
        """Only the first page (one call)."""
        for page in self.pages():
            return page
        raise AssertionError("unreachable")  # pragma: no cover

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items

    def to_list(self) -> list[T]:
        """Every record, in a list."""
        return [item for item in self]


class Resource:
    """The base of a resource: a list, or one record, from one endpoint."""

    def __init__(self, client: Client) -> None:
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
    ) -> SyncPager[R]:
        return SyncPager(
            self._client,
            endpoint,
            endpoint.path(**path),
            record.from_raw,
            params=params,
            page_size=page_size,
            start_index=start_index,
        )

    def _record(
        self,
        endpoint: Endpoint,
        record: type[R],
        *,
        json: Any = None,
        idempotency_key: str | None = None,
        **path: str | int,
    ) -> R:
        body = self._client._call(
            endpoint, endpoint.path(**path), json=json, idempotency_key=idempotency_key
        )
        return record.from_raw(record_of(body, endpoint.key))
