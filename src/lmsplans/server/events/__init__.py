"""The change feed (issue 13): the organisation's events, in commit order, for admins.

Events are the rows of the change log (`lmsplans.server.changes`) that carry an
`event_type`; each organisation's rows are numbered in commit order (`seq`), so a reader
that goes on from the last number it saw misses and repeats none. `GET /api/v1/events`
(`routes.py`) answers them a page at a time with an opaque cursor (`service.Cursor`, the
organisation and the number), skipping the rows that only name cache tags but moving the
cursor past them, and can wait (`wait=`) for the next event (`service.read_feed`).

`plan.enrollment.overdue` is no user's write: `overdue.py` sweeps the enrolments whose due
time passed, periodically in every server process (`overdue.sweep_forever`), and records
each in a write transaction of its own, once (`overdue_notices`, `models.py`).
`snapshots.py` gives enrolment and progress events the `userInfo` and `progressInfo` the
reads answer, as they stand when the write commits.
"""
