"""Tencent Cloud VOD API (``tencentcloud-sdk-python-vod``, version 2018-07-17) on ``POST /``.

Use: mount ``router`` on the app (see ``api/app.py``); it matches only requests with ``X-TC-Action``.

Requests carry ``X-TC-Action`` and a TC3-HMAC-SHA256 signature (:mod:`openvod.auth.tc3`); answers
are always HTTP 200, ``Content-Type: application/json`` exactly (the SDK ignores error envelopes
otherwise), ``{"Response": {..., "RequestId"}}`` with errors in ``Response.Error{Code, Message}``.
Everything is translated to the native services; no logic lives here.

The app is the key's own app; ``SubAppId`` (non-zero) names another, which only a key of the
default app (the "main account") may reach.

Layout:

* ``endpoint``: the ``/`` router; request parsing, the action table and dispatch, the envelope.
* ``auth``: signature verification, the key's app and ``SubAppId``.
* ``common``: ``Call`` (what an action is handed) and the parameter readers.
* ``media``: DescribeMediaInfos, SearchMedia, ModifyMediaInfo, DeleteMedia.
* ``uploads``: PullUpload, ApplyUpload, CommitUpload.
* ``processing``: ProcessMedia, ProcessMediaByProcedure, DescribeTaskDetail, DescribeTasks.
* ``templates``: Create/Describe/Modify/Delete of media templates and procedure templates.
* ``events``: PullEvents, ConfirmEvents.
* ``ugc``: the browser SDK's (vod-js-sdk-v6) PrepareUploadUGC, ApplyUploadUGC and CommitUploadUGC
  on ``POST /v3/index.php``, in that SDK's envelope: a router of its own, mounted beside ``router``.
"""

from openvod.api.compat.tencent.endpoint import VERSION, handle, router

__all__ = ["VERSION", "handle", "router"]
