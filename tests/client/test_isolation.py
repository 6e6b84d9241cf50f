"""`lmsplans.client` and the client commands run without any of the server's dependencies.

Each check runs a fresh interpreter in which importing the server, its web framework or its
database layers raises ImportError, as on a machine where only the client's own dependencies
(httpx, typer, rich) are installed. The library also runs without pydantic (the command line
not: typer itself depends on pydantic, so it is installed with typer in any case).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.client.conftest import DemoDatabase, LiveServer

BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys

    BLOCKED = (
        "lmsplans.server", "starlette", "sqlalchemy", "alembic", "uvicorn", "orjson",
        "pydantic_settings", "asyncpg", "redis", "prometheus_client", "pyarrow",
        *sys.argv[1:2],
    )

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if any(name == b or name.startswith(b + ".") for b in BLOCKED):
                raise ImportError(f"{name} is blocked: not a client dependency")
            return None

    sys.meta_path.insert(0, Block())
    for name in list(sys.modules):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            del sys.modules[name]
    """
)


def run_isolated(
    code: str, *args: str, block_pydantic: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `code` with the blocker in place; `sys.argv[2:]` are `args`."""
    also = "pydantic" if block_pydantic else "lmsplans.server"
    preamble = BLOCKER + "del sys.argv[1]\n"
    return subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", preamble + textwrap.dedent(code), also, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"NO_COLOR": "1", "COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def test_the_blocker_blocks() -> None:
    result = run_isolated("import starlette")
    assert result.returncode != 0 and "blocked" in result.stderr


def test_the_client_calls_the_api_without_server_dependencies(
    open_server: LiveServer, demo_db: DemoDatabase
) -> None:
    result = run_isolated(
        """
        import json, sys
        from lmsplans.client import Client
        with Client(base_url=sys.argv[1], access_token=sys.argv[2]) as client:
            plans = client.learners.learning_plans_progress(sys.argv[3]).to_list()
        loaded = sorted(m for m in sys.modules if m.startswith(("lmsplans", "pydantic")))
        print(json.dumps({"plans": len(plans), "modules": loaded}))
        """,
        open_server.url,
        demo_db.admin_token,
        str(demo_db.people.learner_id),
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["plans"] == 4
    assert not [m for m in answer["modules"] if m.startswith(("lmsplans.server", "pydantic"))]


def test_the_client_commands_run_without_server_dependencies(
    open_server: LiveServer, demo_db: DemoDatabase, tmp_path: object
) -> None:
    code = """
        import sys
        from lmsplans.cli.main import main
        sys.argv = ["lmsplans", *sys.argv[1:]]
        main()
        """
    flags = ["--base-url", open_server.url, "--access-token", demo_db.admin_token]
    shown = run_isolated(code, "progress", "learner@zylker.example", *flags, block_pydantic=False)
    assert shown.returncode == 0, shown.stderr
    assert "New Joiner Onboarding" in shown.stdout
    parquet = run_isolated(
        code,
        *("export", "--format", "parquet", "--out", f"{tmp_path}/p.parquet", *flags),
        block_pydantic=False,
    )
    assert parquet.returncode == 1
    assert "pip install 'lmsplans[export-parquet]'" in parquet.stderr
