"""The client's models as parsed from the native API's JSON (client/models.py): what each field
reads as, what is tolerated (a newer or older server), and what is refused."""

from datetime import UTC, datetime

import pytest

from openvod.client import ApiError, Callback, Delivery, Event, Media, SourceObject, Task, TaskMeta, TaskOutput


def test_a_task_as_the_server_writes_it() -> None:
    data = {
        "task_id": "t1", "kind": "transcode", "state": "succ", "progress": 100, "queue_position": None,
        "priority": 3, "topped": False, "attempts": 1, "ext_param": "", "error": None, "preset": "p",
        "output": {"bucket": "vod", "key": "out/t1.mp4", "size": 1234, "url": "http://x/o", "duration": 2},
        "created_at": "2024-05-01T12:00:00Z", "started_at": "2024-05-01T12:00:01Z", "finished_at": None,
        "sources": [{"file_id": "f1"}],  # not a field: kept in raw
    }
    task = Task.from_json(data)
    assert (task.task_id, task.state, task.progress, task.priority, task.finished) == ("t1", "succ", 100.0, 3, True)
    assert task.output == TaskOutput(bucket="vod", key="out/t1.mp4", size=1234, url="http://x/o", duration=2.0)
    assert task.output is not None and task.output.raw is data["output"]
    assert task.created_at == datetime(2024, 5, 1, 12, tzinfo=UTC) and task.finished_at is None
    assert task.raw is data and task.raw["sources"] == [{"file_id": "f1"}]


def test_only_a_transcode_has_a_typed_output() -> None:
    noop = Task.from_json({"task_id": "t2", "kind": "noop", "state": "succ", "output": {"bucket": "b"}})
    assert noop.output is None and noop.raw["output"] == {"bucket": "b"}


def test_fields_of_unexpected_types_read_as_their_defaults() -> None:
    task = Task.from_json({"task_id": 7, "kind": None, "progress": "50", "priority": "12", "attempts": 1.5,
                           "queue_position": True, "error": "boom", "created_at": "yesterday", "output": []})
    assert (task.task_id, task.kind, task.progress, task.priority, task.attempts) == ("7", "", 0.0, 12, 0)
    assert task.queue_position is None and task.error is None and task.created_at is None
    media = Media.from_json({"file_id": "f", "source": "nope", "metadata": [1], "class_id": "-2"})
    assert media.source is None and media.metadata is None and media.class_id == -2 and media.name == ""
    meta = TaskMeta.from_json({"task_id": "t", "sources": [{"format": {}}, "junk", None]})
    assert meta.sources == [{"format": {}}] and meta.output is None


def test_json_keys_that_differ_from_field_names() -> None:
    event = Event.from_json({"event_handle": "h1", "event_id": "e1", "type": "FileDeleted", "payload": None})
    assert (event.handle, event.event_id, event.payload) == ("h1", "e1", {})
    assert Callback.from_json({"url": None, "method": None}) == Callback(url=None, method="POST", secret=None)


@pytest.mark.parametrize(("model", "data"), [
    (Task, {"kind": "transcode"}), (Media, {"name": "x"}), (Event, {"handle": "h"}), (Delivery, {"state": "done"}),
])
def test_a_missing_identifier_is_an_invalid_response(model: type[Task], data: dict[str, object]) -> None:
    with pytest.raises(ApiError) as err:
        model.from_json(data)
    assert err.value.code == "InvalidResponse" and model.__name__ in str(err.value)


def test_models_are_still_plain_frozen_dataclasses() -> None:
    source = SourceObject("vod", "k", 3)
    assert source == SourceObject.from_json({"bucket": "vod", "key": "k", "size": 3, "extra": 1})
    with pytest.raises(AttributeError):
        source.size = 4  # type: ignore[misc]
