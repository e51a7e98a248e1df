"""The ASGI app: Telegram's webhook (in webhook mode), /healthz, /readyz and /metrics.

PTB's custom-webhook pattern (its examples/customwebhookbot/starlettebot.py): the Application is
built with `updater(None)` and this app puts each update on `application.update_queue`, where
PTB's own dispatch takes it, exactly as polling's Updater does. The webhook answers 200 as soon
as the update is queued; handling happens behind it.

A webhook request is refused, and logged without its body, when its
`X-Telegram-Bot-Api-Secret-Token` is not WEBHOOK_SECRET (403, compared in constant time) or its
body is larger than MAX_BODY_BYTES (413, counted while reading, so a huge body is never held).
A body that is not an update PTB can parse is skipped and counted like one polling could not
parse (bot/unparseable_updates.py), and answered 200 so that Telegram does not send it again.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram.ext import Application

from bot.context import services_of
from bot.web.health import readiness, update_gauges

log = logging.getLogger(__name__)

# Telegram's updates are a few KB; the largest (a long message with entities, a poll) far below this.
MAX_BODY_BYTES = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def web_app(application: Application, *, webhook_path: str | None = None) -> Starlette:
    """The endpoints of both modes; with `webhook_path`, also Telegram's webhook there."""

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        state = await readiness(application)
        return JSONResponse(state.as_json(), HTTPStatus.OK if state.ready else HTTPStatus.SERVICE_UNAVAILABLE)

    async def metrics(request: Request) -> Response:
        await update_gauges(application)
        exposition = services_of(application).metrics
        return Response(exposition.exposition(), media_type=exposition.content_type)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if webhook_path is not None:
        routes.append(Route(webhook_path, _webhook(application), methods=["POST"]))
    return Starlette(routes=routes)


def _webhook(application: Application) -> Callable[[Request], Awaitable[Response]]:
    services = services_of(application)
    secret = services.settings.webhook_secret.encode()
    refused = services.metrics.webhook_refused

    async def telegram(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, secret):
            refused.labels("secret").inc()
            log.warning("webhook_refused reason=%s", "wrong_secret" if given else "no_secret")
            return Response(status_code=HTTPStatus.FORBIDDEN)
        body = await _body_within(request, MAX_BODY_BYTES)
        if body is None:
            refused.labels("too_large").inc()
            log.warning("webhook_refused reason=too_large")
            return Response(status_code=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        try:
            raw = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested past what Python parses; counted below
            raw = None
        update = application.bot.parse_update(raw)
        if update is not None:
            application.bot.insert_callback_data(update)  # as ExtBot.get_updates does
            await application.update_queue.put(update)
        return Response()

    return telegram


async def _body_within(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:  # "²".isdigit() too
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
