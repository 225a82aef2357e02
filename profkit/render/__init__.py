"""Renderers: turn views into text, JSON and other output formats."""
