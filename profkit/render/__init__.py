"""Renderers: (profile or view, options) -> str | bytes; one module per output format."""
