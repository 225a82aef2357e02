"""A one-file Django project for the integration tests (settings, URLs, WSGI and ASGI apps)."""

from __future__ import annotations

import time

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path

if not settings.configured:
    settings.configure(
        DEBUG=False, SECRET_KEY="test-only", ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"],
        MIDDLEWARE=[], INSTALLED_APPS=[],
    )
    django.setup()


def django_view_work(request: HttpRequest, item_id: int) -> HttpResponse:
    end = time.perf_counter() + 0.02
    while time.perf_counter() < end:
        pass
    return HttpResponse(f"item {item_id}")


urlpatterns = [path("items/<int:item_id>", django_view_work)]


def wsgi_application():  # type: ignore[no-untyped-def]
    from django.core.wsgi import get_wsgi_application

    from profkit.integrations.django import wrap

    return wrap(get_wsgi_application())


def asgi_factory():  # type: ignore[no-untyped-def]
    from django.core.asgi import get_asgi_application

    from profkit.integrations.django import wrap

    return wrap(get_asgi_application())
