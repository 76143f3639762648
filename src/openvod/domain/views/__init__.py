"""Read models: what services return, frozen and typed; never a wire shape.

One module per resource (``tasks``, ``presets``, ``templates``, ``procedures``, ``media``, ...).
Each transport renders these into its own shape in one module of its own (native ``/v1``
schemas, ``api/compat/kingsoft_render``, ``api/compat/tencent/render``, ...), so renaming a field
here is a type error in every renderer, not a ``KeyError`` on the wire. Times are ``datetime``
(UTC); renderers format them.
"""
