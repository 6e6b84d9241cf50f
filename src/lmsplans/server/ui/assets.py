"""Static files shipped inside the package, at URLs that name their content.

Each file is served at `/static/<digest>/<path>`, where the digest is the start of the
SHA-256 of its bytes, read once when the app is built. A URL therefore never names two
different contents, so browsers may keep a file for a year without asking again
(`Cache-Control: immutable`), and a new release's files get new URLs. A digest that is not
the file's current one is a 404: an old page never gets a newer file under an old name.

Nothing here reaches another origin: the pages, the CSS, htmx and Swagger UI all come from
this server, so the interface and `/docs` work on a closed network.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent / "static"
URL_PREFIX = "/static"
DIGEST_LENGTH = 12  # hex digits: 48 bits tell one release's file from the next
# A year: the longest lifetime caches honour; `immutable` spares even revalidation.
IMMUTABLE = "public, max-age=31536000, immutable"


def file_digests(directory: Path) -> dict[str, str]:
    """Every file under `directory` (by its `/`-separated relative path) and its digest."""
    digests: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            name = path.relative_to(directory).as_posix()
            digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_LENGTH]
    return digests


class StaticAssets(StaticFiles):
    """Starlette's `StaticFiles` (content types, ETag, HEAD, ranges, 304s), with the digest
    in every URL and the long cache header on every file it serves."""

    def __init__(self, directory: Path = STATIC_DIR, *, prefix: str = URL_PREFIX) -> None:
        super().__init__(directory=directory)
        self.prefix = prefix
        self.digests = file_digests(directory)

    def url(self, name: str) -> str:
        """The URL of the shipped file `name` (e.g. `"ui.css"`); a name that is not shipped
        is a bug in a template, so it fails the render rather than linking to a 404."""
        try:
            return f"{self.prefix}/{self.digests[name]}/{name}"
        except KeyError:
            raise LookupError(f"no static file named {name!r} is shipped") from None

    def get_path(self, scope: Scope) -> str:
        """The file's path without the digest; 404 unless the digest is the file's own."""
        digest, _, name = super().get_path(scope).partition(os.sep)
        if self.digests.get(Path(name).as_posix()) != digest:
            raise HTTPException(status_code=404)
        return name

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["cache-control"] = IMMUTABLE
        response.headers["x-content-type-options"] = "nosniff"
        return response
