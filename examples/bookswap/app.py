"""A small book-swap service, profiled through ``/debug/profile``.

Endpoints (all GET):

- ``/books``, ``/books/<id>``: fast lookups.
- ``/search?q=...``: slow because of a hot loop: it scores *every* title with a
  pure-Python edit distance instead of using an index. The CPU profile shows it.
- ``/recommend/<user>``: rebuilds a co-reader table from the whole swap history on
  every call, an allocation burst the allocs profile shows.
- ``/swap?book=...&user=...``: records a swap while holding the one ledger lock
  during a slow "audit", so concurrent swaps queue up. The mutex/block profiles show it.

Run it: ``gunicorn -k gthread --threads 8 -b 127.0.0.1:8000 'bookswap.app:create_app()'``
(from ``examples/``), then ``profkit capture http://127.0.0.1:8000 --seconds 10``.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any, Dict, List, Sequence, Tuple

from flask import Flask, abort, jsonify, request

from profkit.integrations.flask import install

WORDS = (
    "river night garden silent winter glass shadow city paper ocean stone fire "
    "letter orchard machine island empire voyage mirror forest tide engine"
).split()


def make_titles(n: int, seed: int = 7) -> List[str]:
    """Return ``n`` reproducible book titles."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4))).title() for _ in range(n)]


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, the slow pure-Python way (the hot loop; two reused rows)."""
    prev = list(range(len(b) + 1))
    cur = [0] * (len(b) + 1)
    for i, ca in enumerate(a, 1):
        cur[0] = i
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        prev, cur = cur, prev
    return prev[-1]


class Library:
    """The service's state. Create it *after* mounting the profiler, so its lock is profiled."""

    def __init__(self, n_books: int = 400) -> None:
        self.titles = make_titles(n_books)
        self.history: List[Tuple[str, int]] = [
            (f"user{u}", b) for u in range(60) for b in random.Random(u).sample(range(n_books), 25)
        ]
        self.ledger_lock = threading.Lock()
        self.ledger: List[Tuple[str, int, float]] = []

    def search(self, query: str, limit: int = 5) -> List[str]:
        scored = sorted((edit_distance(query.lower(), t.lower()), t) for t in self.titles)
        return [t for _, t in scored[:limit]]

    def recommend(self, user: str, limit: int = 5) -> List[int]:
        co_readers: Dict[str, List[int]] = {}
        for reader, book in self.history:  # rebuilt per call: the allocation burst
            co_readers.setdefault(reader, []).append(book)
        pairs = [(a, b, f"{a}->{b}") for books in co_readers.values() for a in books for b in books]
        mine = set(co_readers.get(user, []))
        counts: Dict[int, int] = {}
        for a, b, _ in pairs:
            if a in mine and b not in mine:
                counts[b] = counts.get(b, 0) + 1
        return sorted(counts, key=lambda b: -counts[b])[:limit]

    def swap(self, user: str, book: int) -> int:
        with self.ledger_lock:
            audit_ledger(self.ledger)
            self.ledger.append((user, book, time.time()))
            return len(self.ledger)


def audit_ledger(ledger: List[Any]) -> None:
    """A slow audit done while holding the ledger lock (I/O wait stands in for a database)."""
    time.sleep(0.004)
    sum(len(entry) for entry in ledger[-200:])


def create_app(profiling: bool = True, enable: Sequence[str] = ("heap", "locks")) -> Flask:
    """Return the Flask app, with ``/debug/profile`` mounted (and ``enable`` on) if asked."""
    app = Flask("bookswap")
    if profiling:
        install(app, enable=list(enable), max_seconds=60)
    library = Library()

    @app.get("/books")
    def books() -> Any:
        return jsonify([{"id": i, "title": t} for i, t in enumerate(library.titles[:20])])

    @app.get("/books/<int:book_id>")
    def book(book_id: int) -> Any:
        if not 0 <= book_id < len(library.titles):
            abort(404)
        return jsonify({"id": book_id, "title": library.titles[book_id]})

    @app.get("/search")
    def search() -> Any:
        return jsonify(library.search(request.args.get("q", "garden")))

    @app.get("/recommend/<user>")
    def recommend(user: str) -> Any:
        return jsonify(library.recommend(user))

    @app.get("/swap")
    def swap() -> Any:
        count = library.swap(request.args.get("user", "anon"), int(request.args.get("book", "0")))
        return jsonify({"swaps": count})

    return app
