"""Every handler the extension registers carries ``@web.authenticated`` and ``@authorized``.

The check walks the running server's routing table, picks the handler classes that come from
envkernels, and inspects each HTTP method's wrapper chain (``__wrapped__``) for the code objects
of tornado's ``authenticated`` and jupyter_server's ``authorized`` wrappers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.routing import Router, Rule

from envkernels.server.handlers import AUTH_RESOURCE, EnvKernelsHandler, routes

_AUTHENTICATED = web.authenticated(lambda self: None).__code__  # type: ignore[arg-type]
_AUTHORIZED = authorized(lambda self: None).__code__


def _handler_classes(router: Any) -> Iterator[type]:
    for rule in getattr(router, "rules", ()):
        target = rule.target if isinstance(rule, Rule) else None
        if isinstance(target, Router):
            yield from _handler_classes(target)
        elif isinstance(target, type) and issubclass(target, web.RequestHandler):
            yield target


def _wrapper_codes(func: Any) -> set[Any]:
    codes = set()
    while func is not None:
        codes.add(getattr(func, "__code__", None))
        func = getattr(func, "__wrapped__", None)
    return codes


def _undecorated_methods(cls: type) -> list[str]:
    bad = []
    for method in web.RequestHandler.SUPPORTED_METHODS:
        owner = next((c for c in cls.__mro__ if method.lower() in vars(c)), None)
        if owner is None or owner.__module__.startswith(("tornado.", "jupyter_server.")):
            continue  # tornado's 405, or jupyter_server's own (CORS ``options``): none of our code runs
        func = vars(owner)[method.lower()]
        codes = _wrapper_codes(func)
        if _AUTHENTICATED not in codes or _AUTHORIZED not in codes:
            bad.append(f"{cls.__name__}.{method.lower()}")
    return bad


def test_the_check_itself_catches_a_handler_without_authorized() -> None:
    class Careless(EnvKernelsHandler):
        @web.authenticated
        async def get(self) -> None: ...

    class Fine(EnvKernelsHandler):
        @web.authenticated
        @authorized
        async def get(self) -> None: ...

    assert _undecorated_methods(Careless) == ["Careless.get"]
    assert _undecorated_methods(Fine) == []


async def test_every_registered_envkernels_handler_is_authenticated_and_authorized(jp_serverapp) -> None:
    registered = {
        cls
        for cls in _handler_classes(jp_serverapp.web_app.default_router)
        if cls.__module__.startswith("envkernels.")
    }
    # every route of the extension made it into the server
    assert {cls for _, cls in routes()} <= registered
    bad = [name for cls in sorted(registered, key=lambda c: c.__name__) for name in _undecorated_methods(cls)]
    assert bad == []
    assert all(getattr(cls, "auth_resource", None) == AUTH_RESOURCE for cls in registered)
