"""Template actions: Create/Describe/Modify/Delete of each media template kind, and of procedure templates.

``TEMPLATE_ACTIONS`` holds the four actions of every kind in ``_TEMPLATE_KINDS``.
"""

from __future__ import annotations

from openvod.api.compat.tencent.common import Action, Call, Params, int_param, obj_param, str_param
from openvod.api.compat.tencent.render import procedure_out, template_out, template_set_key
from openvod.errors import InvalidParameter
from openvod.services import procedures, templates

__all__ = ["TEMPLATE_ACTIONS", "create_procedure", "delete_procedure", "describe_procedures", "modify_procedure"]

_TEMPLATE_KINDS = {
    "TranscodeTemplate": "Transcode",
    "AnimatedGraphicsTemplate": "AnimatedGraphics",
    "SnapshotByTimeOffsetTemplate": "SnapshotByTimeOffset",
    "SampleSnapshotTemplate": "SampleSnapshot",
    "ImageSpriteTemplate": "ImageSprite",
    "AdaptiveDynamicStreamingTemplate": "AdaptiveDynamicStreaming",
}
_META = {"Name", "Comment", "SubAppId", "Definition", "Definitions", "Type", "Offset", "Limit"}


def _template_actions(suffix: str, kind: str) -> dict[str, Action]:
    def create(c: Call) -> Params:
        params = {k: v for k, v in c.params.items() if k not in _META}
        t = templates.create_template(c.ctx, c.app_id, kind, params, name=str_param(c.params, "Name", "") or "",
                                      comment=str_param(c.params, "Comment", "") or "")
        return {"Definition": t.definition}

    def describe(c: Call) -> Params:
        defs = c.params.get("Definitions")
        res = templates.list_templates(c.ctx, c.app_id, kind,
                                       definitions=[int_param({"d": d}, "d") or 0 for d in defs] if defs else None,
                                       type=str_param(c.params, "Type"), offset=int_param(c.params, "Offset", 0) or 0,
                                       limit=int_param(c.params, "Limit", 10) or 10)
        return {"TotalCount": res.total, template_set_key(kind): [template_out(t) for t in res.items]}

    def modify(c: Call) -> Params:
        d = int_param(c.params, "Definition")
        if d is None:
            raise InvalidParameter("Definition is required", code="MissingParameter.Definition")
        params = {k: v for k, v in c.params.items() if k not in _META}
        templates.update_template(c.ctx, c.app_id, kind, d, name=str_param(c.params, "Name"),
                                  comment=str_param(c.params, "Comment"), params=params or None)
        return {}

    def delete(c: Call) -> Params:
        d = int_param(c.params, "Definition")
        if d is None:
            raise InvalidParameter("Definition is required", code="MissingParameter.Definition")
        templates.delete_template(c.ctx, c.app_id, kind, d)
        return {}

    return {f"Create{suffix}": create, f"Describe{suffix}s": describe, f"Modify{suffix}": modify,
            f"Delete{suffix}": delete}


TEMPLATE_ACTIONS: dict[str, Action] = {
    name: action for suffix, kind in _TEMPLATE_KINDS.items() for name, action in _template_actions(suffix, kind).items()
}


def create_procedure(c: Call) -> Params:
    name = str_param(c.params, "Name", required=True)
    assert name is not None
    procedures.create_procedure(c.ctx, c.app_id, name, obj_param(c.params, "MediaProcessTask") or {},
                                comment=str_param(c.params, "Comment", "") or "")
    return {}


def describe_procedures(c: Call) -> Params:
    names = c.params.get("Names")
    res = procedures.list_procedures(c.ctx, c.app_id, names=names or None, offset=int_param(c.params, "Offset", 0) or 0,
                                     limit=int_param(c.params, "Limit", 10) or 10)
    return {"TotalCount": res.total, "ProcedureTemplateSet": [procedure_out(p) for p in res.items]}


def modify_procedure(c: Call) -> Params:
    name = str_param(c.params, "Name", required=True)
    assert name is not None
    procedures.update_procedure(c.ctx, c.app_id, name, task=obj_param(c.params, "MediaProcessTask"),
                                comment=str_param(c.params, "Comment"))
    return {}


def delete_procedure(c: Call) -> Params:
    name = str_param(c.params, "Name", required=True)
    assert name is not None
    procedures.delete_procedure(c.ctx, c.app_id, name)
    return {}
