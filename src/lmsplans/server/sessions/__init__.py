"""Sign-in for people: one-time sign-in links, passwords and server-side sessions."""
