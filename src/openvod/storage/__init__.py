"""Object storage: the ``Storage`` protocol and its ``local`` and ``s3`` implementations."""

from openvod.storage.base import AppendWriter, ObjectStat, Storage

__all__ = ["AppendWriter", "ObjectStat", "Storage"]
