"""The one check behind every "N >= 1" option of the benchmark tools.

``bench ab --runs`` (argparse) and the pytest plugin's ``--profkit-instructions-rounds`` /
``--profkit-instructions-warmup`` share it; each edge turns the ``ValueError`` into its own error
type (``argparse.ArgumentTypeError``, ``pytest.UsageError``) so each reports it its usual way.
"""

from __future__ import annotations


def parse_positive(text: str) -> int:
    """Return ``text`` as an int >= 1.

    Raises:
        ValueError: ``text`` is not a whole number, or is < 1; the message says which text.
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{text!r} is not a positive whole number")
    return value
