"""A tiny pytest-benchmark suite the bench tests run for real (copied into a temp dir).

``PROFKIT_SLOWDOWN`` (default 1.0) multiplies the work of ``checksum`` only: 1.3 injects a 30 %
slowdown, done by an extra helper call so that a profile diff can name it.
"""

import os

SLOWDOWN = float(os.environ.get("PROFKIT_SLOWDOWN", "1.0"))


def _mix(n):
    total = 0
    for i in range(n):
        total = (total * 31 + i) & 0xFFFFFFFF
    return total


def _extra_mixing(n):
    return _mix(n)


def checksum(n=12000):
    total = _mix(n)
    if SLOWDOWN != 1.0:
        total ^= _extra_mixing(int(n * (SLOWDOWN - 1.0)))
    return total


def squares(n=4000):
    return sum(i * i for i in range(n))


def join_words(n=1500):
    return ",".join(str(i) for i in range(n))


def test_checksum(benchmark):
    benchmark(checksum)


def test_squares(benchmark):
    benchmark(squares)


def test_join_words(benchmark):
    benchmark(join_words)
