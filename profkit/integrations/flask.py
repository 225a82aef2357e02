"""Mount ``/debug/profile`` on a Flask app: ``profkit.integrations.flask.install(app)``.

Wraps ``app.wsgi_app`` in ``ProfileMiddleware``; each request's samples are labelled
with Flask's URL rule (``/books/<int:book_id>``, not the concrete path, so the number
of label values stays small) and its method. Flask is not imported by this module.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

from profkit.endpoints.wsgi import ProfileMiddleware

UNMATCHED = "(unmatched)"


def rule_of(app: Any) -> Callable[[Dict[str, Any]], str]:
    """Return a function giving the URL rule ``app`` routes an environ to (``(unmatched)`` if none)."""

    def route(environ: Dict[str, Any]) -> str:
        adapter = app.url_map.bind_to_environ(environ)
        try:
            rule, _ = adapter.match(return_rule=True)
        except Exception:  # NotFound, MethodNotAllowed, RequestRedirect
            return UNMATCHED
        return str(rule.rule)

    return route


def install(app: Any, **options: Any) -> ProfileMiddleware:
    """Mount the endpoints on ``app`` (a ``flask.Flask``) and return the middleware.

    ``options`` are ``EndpointConfig`` fields (``prefix``, ``allow``, ``token``,
    ``max_seconds``, ``enable``, ...). Raises InputError on a bad option. Call it before
    creating the locks you want in the lock profile (``enable=["locks"]`` profiles
    locks created from then on).
    """
    middleware = ProfileMiddleware(app.wsgi_app, route_label=rule_of(app), **options)
    app.wsgi_app = middleware
    return middleware
