"""Benchmark comparison for CI: load results, test them, render verdicts.

``load`` (pytest-benchmark / pyperf / Go text) → ``samples.pool`` per side → ``verdict.compare``
(scipy's Mann-Whitney U, Holm, thresholds) → ``report`` (rich table, Markdown, JSON, GitHub
annotations). ``noise`` calibrates a threshold from A/A runs; ``history`` finds change points.
Submodules import scipy/rich/plotly lazily; this package imports nothing heavy.
"""
