"""Thin helpers that mount ``profkit.endpoints`` in web frameworks; each imports its framework lazily."""
