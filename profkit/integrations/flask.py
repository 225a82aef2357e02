"""Mount ``/debug/profile`` on a Flask app: ``profkit.integrations.flask.install(app)``.

Wraps ``app.wsgi_app`` in ``ProfileMiddleware`` and labels each request's samples with
Flask's URL rule (``/books/<int:book_id>``, not the concrete path) and method. Flask is
imported only when ``install`` runs.
"""

from __future__ import annotations

from typing import Any

from profkit.endpoints.wsgi import ProfileMiddleware

_G_KEY = "_profkit_labels"


def install(app: Any, **options: Any) -> ProfileMiddleware:
    """Mount the endpoints on ``app`` (a ``flask.Flask``) and return the middleware.

    ``options`` are ``EndpointConfig`` fields (``prefix``, ``allow``, ``token``,
    ``max_seconds``, ``enable``, ...). Raises InputError on a bad option.
    """
    import flask

    middleware = ProfileMiddleware(app.wsgi_app, **options)
    app.wsgi_app = middleware
    factory = middleware.labels
    if factory is None:
        return middleware

    def push_route_labels() -> None:
        rule = flask.request.url_rule
        if rule is None:
            return
        try:
            cm = factory(route=str(rule.rule), method=flask.request.method)
            cm.__enter__()
            setattr(flask.g, _G_KEY, cm)
        except Exception:
            pass

    def pop_route_labels(_exc: Any) -> None:
        cm = getattr(flask.g, _G_KEY, None)
        if cm is not None:
            try:
                cm.__exit__(None, None, None)
            except Exception:
                pass

    app.before_request(push_route_labels)
    app.teardown_request(pop_route_labels)
    return middleware
