"""The resident server and the stdlib-only relay in front of it (issue 13)."""
