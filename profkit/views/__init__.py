"""Views: reports derived from a profile and ``ViewOptions`` (plain data, no text)."""
