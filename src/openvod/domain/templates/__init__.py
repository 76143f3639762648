"""Processing templates and task flows in Tencent VOD's model (API 3.0, 2018-07-17). No I/O.

    params = validate_params("AnimatedGraphics", {"Fps": 10, "Width": 480})
    # {"Format": "gif", "Width": 480, "Height": 0, "ResolutionAdaptive": "open", "Fps": 10, "Quality": 75}
    steps = expand_steps({"TranscodeTaskSet": [{"Definition": 100030}],
                          "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time",
                                                      "PositionValue": 1.5}]})
    [(s.kind, s.definition, s.params) for s in steps]
    # [(Transcode, 100030, {}), (CoverBySnapshot, 10, {"PositionType": "Time", "PositionValue": 1.5})]

Import from here; the modules behind it, one concern each:

- :mod:`.params`: template kinds and each kind's params (``Create<Kind>Template`` fields, ranges
  and defaults; ``Modify<Kind>Template`` merging).
- :mod:`.system`: the built-in templates (``Type`` ``Preset``) under Tencent's own Definitions.
- :mod:`.flows`: task flows (``MediaProcessTask``): validation, and the steps they expand to.
- :mod:`.names`: Definitions, template names and comments, procedure names.

Errors are :class:`~openvod.errors.InvalidParameter` with Tencent's codes (the VOD SDK's
``errorcodes.py``): ``InvalidParameterValue.<Field>`` for a bad value, ``MissingParameter`` for a
required field left out, ``UnknownParameter`` for a field OpenVOD does not know or support.
"""

from openvod.domain.templates.flows import (
    MAX_STEPS,
    MAX_TIME_POINTS,
    TASK_SETS,
    StepKind,
    StepSpec,
    TimePoint,
    expand_steps,
    normalize_task,
    template_refs,
    time_points,
)
from openvod.domain.templates.names import (
    MAX_COMMENT,
    MAX_NAME,
    MAX_PROCEDURE_NAME,
    USER_DEFINITION_BASE,
    validate_comment,
    validate_definition,
    validate_name,
    validate_procedure_name,
)
from openvod.domain.templates.params import (
    AUDIO_ONLY_CONTAINERS,
    TemplateKind,
    merge_params,
    parse_kind,
    validate_params,
)
from openvod.domain.templates.system import SYSTEM_TEMPLATES, SystemTemplate

__all__ = [
    "AUDIO_ONLY_CONTAINERS", "MAX_COMMENT", "MAX_NAME", "MAX_PROCEDURE_NAME", "MAX_STEPS", "MAX_TIME_POINTS",
    "SYSTEM_TEMPLATES", "TASK_SETS", "USER_DEFINITION_BASE", "StepKind", "StepSpec", "SystemTemplate", "TemplateKind",
    "TimePoint", "expand_steps", "merge_params", "normalize_task", "parse_kind", "template_refs", "time_points",
    "validate_comment", "validate_definition", "validate_name", "validate_procedure_name", "validate_params",
]
