"""Collectors: turn a running program into ``Profile`` objects (``collect`` → ``model`` only)."""
