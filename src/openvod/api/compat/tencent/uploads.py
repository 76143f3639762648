"""Upload actions: PullUpload, ApplyUpload and CommitUpload (the COS upload flow)."""

from __future__ import annotations

from openvod.api.compat.tencent import library_render
from openvod.api.compat.tencent.common import Call, Params, int_param, str_param
from openvod.services import cos_upload, pull

__all__ = ["apply_upload", "commit_upload", "pull_upload"]


def pull_upload(c: Call) -> Params:
    p = c.params
    url = str_param(p, "MediaUrl", required=True)
    assert url is not None
    m = pull.pull_media(c.ctx, c.app_id, url, name=str_param(p, "MediaName"),
                        class_id=int_param(p, "ClassId", 0) or 0, procedure=str_param(p, "Procedure", "") or "",
                        source_context=str_param(p, "SourceContext", "") or "",
                        session_context=str_param(p, "SessionContext", "") or "")
    return {"TaskId": f"pull-{m.file_id}"}


def apply_upload(c: Call) -> Params:
    return library_render.apply_upload(cos_upload.apply_upload(c.ctx, c.app_id, c.params, secret_id=c.secret_id))


def commit_upload(c: Call) -> Params:
    return library_render.commit_upload(cos_upload.commit_upload(c.ctx, c.app_id, c.params))
