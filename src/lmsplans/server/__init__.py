"""The HTTP server: app factory, settings, storage, auth, rate limit and the domain packages."""
