"""The console's media page shows a per-title ladder's report (web/console/pv_per_title.js): real
server, real FFmpeg, Chromium; the page fixture fails on script errors and CSP violations."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.conftest import ServerProc
from tests.integration.processing.test_processing import detail, result
from tests.media import make_clip
from tests.tus import upload_bytes


def test_media_page_shows_the_per_title_ladder(page: Page, server: ServerProc, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "pt.mp4", seconds=3, width=320, height=240, audio=False)
    with server.client() as c:
        fid = upload_bytes(c, clip.read_bytes(), "per-title.mp4")
        r = c.post(f"/v1/media/{fid}/process", json={"media_process_task": {
            "AdaptiveDynamicStreamingTaskSet": [{"Definition": 30}]}})
        assert r.status_code == 201, r.text
        d = detail(c, r.json()["task_id"], 180)
    assert d["Status"] == "FINISH", d
    [_] = d["ProcedureTask"]["MediaProcessResultSet"]
    report = result(d, 0)["Output"]["PerTitle"]
    [rung] = report["Rungs"]

    page.goto(f"{page.url.split('#')[0]}#/media/{fid}")
    table = page.get_by_role("table", name="Per-title ladder of step 1 (Definition 30)")
    expect(table).to_be_visible()
    expect(table).to_contain_text("analysed in")
    row = table.locator('tr[data-height="240"]')
    expect(row).to_have_attribute("data-dropped", "false")
    expect(row.get_by_role("rowheader")).to_have_text("320×240")
    expect(row).to_contain_text(f"{rung['Bitrate']} kb/s")
    expect(row).to_contain_text(f"{rung['Vmaf']:.1f}")
    expect(row).to_contain_text("95.0")
