# Generated from src/lmsplans/client/_async/__init__.py
# by scripts/unasync.py: do not edit (edit the source, then run the script).
"""The client's calls (client, pager, resources, token manager), for one way of waiting.

`_async` is written by hand; `_sync`, the same with blocking calls, is generated from it by
`scripts/unasync.py` (names lose their `Async`, `await` goes, asyncio's waits and locks become
blocking ones). Edit `_async`, then run the script.
"""
