"""The web interface's groundwork: templates, static files, charts and page security.

`rendering.Site` is built with the app; it serves the package's static files at
content-named URLs (`assets`) and `/docs` from them, so nothing is fetched from another
origin. `charts` draws inline SVG, `security` holds the pages' Content-Security-Policy and
the cross-site check for forms. The sign-in sessions live in `lmsplans.server.sessions`.
"""
