"""The ASGI application: native API, tus uploads, signed object URLs, health."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from openvod import __version__
from openvod.api import console, docs, playback, root, sdk, tus, upload_cover
from openvod.api.compat import kingsoft as kingsoft_compat
from openvod.api.compat import s3 as s3_compat
from openvod.api.compat import tencent as tencent_compat
from openvod.api.compat.tencent import ugc as tencent_ugc
from openvod.api.errors import install_error_handlers
from openvod.api.limits import RequestLimits
from openvod.api.metrics import HttpMetrics
from openvod.api.metrics import router as metrics_router
from openvod.api.nosniff import NoSniffMiddleware
from openvod.api.v1 import events as events_api
from openvod.api.v1 import keys, media, objects, tasks
from openvod.api.v1 import presets as presets_api
from openvod.api.v1 import procedures as procedures_api
from openvod.api.v1 import processing as processing_api
from openvod.api.v1 import stats as stats_api
from openvod.api.v1 import templates as templates_api
from openvod.domain.events import CallbackFormat
from openvod.engine.executor import ContextFactory, create_executor
from openvod.runtime import Context
from openvod.services import retention, task_counts, uploads
from openvod.services.context import worker_context
from openvod.services.deliveries import Dispatcher

__all__ = ["create_app"]

log = logging.getLogger("openvod")

HOUSEKEEPING_INTERVAL = 600.0
TALLY_FOLD_INTERVAL = 60.0

_EXPOSED = [
    "Location", "Upload-Offset", "Upload-Length", "Upload-Expires", "Upload-Defer-Length", "Upload-Metadata",
    "Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Checksum-Algorithm",
    "OpenVOD-File-Id", "Content-Range", "Accept-Ranges", "Content-Length", "ETag",
]


def _housekeeping(ctx: Context, stop: threading.Event) -> None:
    last = time.monotonic()
    while not stop.wait(TALLY_FOLD_INTERVAL):
        try:  # PostgreSQL's pending task-tally deltas (services/task_counts.py): a fold a minute
            with ctx.db.session() as s:
                task_counts.fold(s)
        except Exception:  # keep the loop alive; the next round retries
            log.exception("task tally fold failed")
        if time.monotonic() - last < HOUSEKEEPING_INTERVAL:
            continue
        last = time.monotonic()
        try:
            n = uploads.expire_uploads(ctx)
            if n:
                log.info("expired %d uploads", n)
        except Exception:  # keep the loop alive; the next round retries
            log.exception("upload housekeeping failed")
        try:
            pruned = retention.prune(ctx)
            if pruned.tasks or pruned.events:
                log.info("deleted %d finished tasks and %d events past retention", pruned.tasks, pruned.events)
        except Exception:  # keep the loop alive; the next round retries
            log.exception("retention prune failed")


def create_app(ctx: Context, *, build_worker_context: ContextFactory = worker_context) -> FastAPI:
    """Build the app around an already-migrated :class:`Context`. The executor the settings name
    (``executor``, ``workers``) runs steps in workers whose contexts ``build_worker_context`` makes."""
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        uploads.expire_uploads(ctx)
        worker = threading.Thread(target=_housekeeping, args=(ctx, stop), name="housekeeping", daemon=True)
        worker.start()
        dispatcher = Dispatcher(ctx, formats={CallbackFormat.KINGSOFT: kingsoft_compat.callback_body})
        dispatcher.start()
        executor = create_executor(ctx, build_worker_context)
        app.state.executor = executor  # for health checks and tests
        if executor is not None:
            executor.start()
        try:
            yield
        finally:
            if executor is not None:
                executor.stop()
            dispatcher.stop()
            stop.set()
            worker.join(timeout=5)
            ctx.db.dispose()

    app = FastAPI(
        title="OpenVOD",
        version=__version__,
        description="Self-hosted video on demand. Authenticate with HTTP Basic SecretId:SecretKey.",
        lifespan=lifespan,
        docs_url=None,  # our own /docs (api/docs.py): no CDN, no inline script
        redoc_url=None,  # ReDoc would load from a CDN
    )
    app.state.ctx = ctx
    app.add_middleware(
        CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"], expose_headers=_EXPOSED
    )
    install_error_handlers(app)
    # COS requests are addressed by Host ({bucket}.cos.{region}.myqcloud.com), not by path: they
    # are taken before routing, since POST / is also Tencent's API 3.0.
    app.add_middleware(s3_compat.CosGateway)
    # Outside CosGateway: every request is sized and, where its API allows, authenticated from its
    # headers before a body or collection parameter is read.
    app.add_middleware(RequestLimits)
    # Outermost, so COS answers and error replies get the header too.
    app.add_middleware(NoSniffMiddleware)
    # Around everything, so refused and COS requests are timed too (api/metrics.py).
    app.add_middleware(HttpMetrics)

    @app.get("/healthz", tags=["health"], summary="200 once the server takes requests")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    # root.router after the console page (a browser's GET /) and before Tencent's and Kingsoft's /.
    for router in (console.page_router, root.router, console.router, docs.router, sdk.router, tus.router,
                   upload_cover.router,
                   media.router, objects.router,
                   objects.signed_router, keys.router, tasks.router, presets_api.router,
                   templates_api.router, procedures_api.router, processing_api.router,
                   events_api.router, stats_api.router, playback.router, tencent_compat.router, tencent_ugc.router,
                   kingsoft_compat.router, s3_compat.router, metrics_router):
        app.include_router(router)
    return app
