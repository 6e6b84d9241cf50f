"""The change log: what each committed write changed, in the write's own transaction.

Every write transaction records what it touched (`log.ChangeLog`, reached as
`WriteContext.changes` or `Connection.changes`), and `Database.transaction` writes it last,
as rows of `changes` (`models.py`). Two readers follow the table:

- Each server process, to drop from its cache exactly the entries a commit made stale
  (`lmsplans.server.cache`). A row's `tags` name them: `learner:12` (a learner's row, their
  enrolments, progress, tokens and sessions), `plan:4` (a plan's row, courses, admins and
  roster), `course:7`, `token:<hash>`, `session:<hash>`, and one per organisation and kind
  of thing for what spans many entries: `org:3` (its settings), `people:3` (who manages and
  sees whom), `plans:3` (any plan's structure or publication), `enrolments:3` (any
  enrolment's standing). `*` drops everything (a restored backup).
  SQLite follows by id (one writer: ids are commit order); PostgreSQL by transaction
  snapshot (ids are not commit order there): see `db.sqlite` and `db.postgres`.
- The change feed (issue 13's events): rows with an `event_type`, numbered per organisation
  in commit order by `seq` (1, 2, 3...), which a reader follows with `queries.changes_after`
  without missing or repeating one. `change_sequences` holds each organisation's last
  number; the write transaction updates that one row last (on PostgreSQL a deferred
  trigger does, at commit), so its row lock orders the organisation's commits and is held
  only while the transaction commits. Rows without an organisation (a
  restore) have no `seq`.
"""
