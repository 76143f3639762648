"""Where an integer offset this process handed out points: its keyset marker, in O(1).

Wire formats that fix an integer offset (Kingsoft ``GetTaskList``/``GetTaskMetaInfo``
``marker``, typed ``int`` by the SDK) return the offset after each page; the client sends it
back for the next. Walking an index to a deep offset costs the offset; remembering, for each
offset handed out, the id of the row just before it makes the next page a keyset range instead.

    hints = OffsetHints()
    hints.remember(("app", "20240101", "20240131"), 100, "t-0123")   # after serving rows 51-100
    hints.recall(("app", "20240101", "20240131"), 100)                # "t-0123"

A hint is only a shortcut: an offset never handed out here (computed by the client, or handed
out by another server behind the same load balancer, or forgotten from the bounded cache) is
found through the task tally instead (services/task_counts.py: the ~4.7-hour bucket it falls in,
walked), and gives the same rows. Since new tasks sort after every
existing one, a hint stays exact while rows are only added; after a deletion in the range it
resumes after the last row the client saw, where a raw offset would skip one row.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["OffsetHints", "hints_for"]

DEFAULT_SIZE = 4096


class OffsetHints:
    """A bounded, thread-safe LRU of ``(scope, offset) -> row id``."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[Hashable, int], str] = OrderedDict()

    def remember(self, scope: Hashable, offset: int, row_id: str) -> None:
        """Offset ``offset`` of the list ``scope`` starts right after the row ``row_id``."""
        with self._lock:
            self._items[(scope, offset)] = row_id
            self._items.move_to_end((scope, offset))
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def recall(self, scope: Hashable, offset: int) -> str | None:
        """The row id remembered for ``offset`` of ``scope``, or None."""
        with self._lock:
            row_id = self._items.get((scope, offset))
            if row_id is not None:
                self._items.move_to_end((scope, offset))
            return row_id

    def __len__(self) -> int:
        return len(self._items)


_BY_DATABASE: weakref.WeakKeyDictionary[object, OffsetHints] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def hints_for(database: object) -> OffsetHints:
    """The hints of one database (one per ``Database`` object: test servers in one process never
    share rows)."""
    with _GUARD:
        hints = _BY_DATABASE.get(database)
        if hints is None:
            hints = _BY_DATABASE[database] = OffsetHints()
        return hints
