"""Mount ``/debug/profile`` on a Django project by wrapping its WSGI or ASGI application.

In ``wsgi.py``::

    from django.core.wsgi import get_wsgi_application
    from profkit.integrations.django import wrap
    application = wrap(get_wsgi_application(), enable=["heap"])

and the same with ``get_asgi_application()`` in ``asgi.py``. Samples are labelled with
the request path and method. Django itself is not imported here.
"""

from __future__ import annotations

import inspect
from typing import Any, Union

from profkit.endpoints.asgi import ASGIProfileMiddleware
from profkit.endpoints.wsgi import ProfileMiddleware


def is_asgi(application: Any) -> bool:
    """Return whether ``application`` is an ASGI callable (an ``async`` ``__call__``)."""
    if inspect.iscoroutinefunction(application):
        return True
    call = getattr(type(application), "__call__", None)  # noqa: B004
    return call is not None and inspect.iscoroutinefunction(call)


def wrap(application: Any, **options: Any) -> Union[ProfileMiddleware, ASGIProfileMiddleware]:
    """Return ``application`` (Django's WSGIHandler or ASGIHandler) with the endpoints.

    ``options`` are ``EndpointConfig`` fields. Raises InputError on a bad option.
    """
    if is_asgi(application):
        return ASGIProfileMiddleware(application, **options)
    return ProfileMiddleware(application, **options)
