"""The console's "Presets & flows" page in a real browser: three tabs (Presets, Templates, Flows);
presets, templates and task flows are created, edited and deleted through their forms (fields per
template kind and per flow step, or the raw JSON behind "Edit as JSON (advanced)"), checked
through the API, and the server's own error messages are shown beside the form."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.conftest import ServerProc
from tests.integration.console.conftest import NO_SIDEWAYS_SCROLL, assert_labelled, open_page, shot

pytestmark = pytest.mark.slow  # browser tests (chromium through Playwright)


def _open(page: Page, tab: str = "Presets") -> Locator:
    """The page, at tab ``tab``: its panel."""
    open_page(page, "Presets & flows")
    expect(page.get_by_role("heading", name="Presets & flows", level=1)).to_be_visible()
    page.get_by_role("tab", name=tab, exact=True).click()
    expect(page.get_by_role("tab", name=tab, exact=True)).to_have_attribute("aria-selected", "true")
    expect(page).to_have_url(re.compile(f"#/presets/{tab.lower()}$"))
    return page.get_by_role("tabpanel")


def _get(server: ServerProc, path: str) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", auth=server.auth, timeout=30)


def _server_error(server: ServerProc, method: str, path: str, body: Any) -> str:
    """What the page must show for ``body``: the server's ``code: message`` for the same request."""
    r = httpx.request(method, f"{server.url}{path}", json=body, auth=server.auth, timeout=30)
    assert r.status_code >= 400, r.text
    err = r.json()["error"]
    return f"{err['code']}: {err['message']}"


def _delete(page: Page, section: Locator, name: str) -> None:
    page.once("dialog", lambda d: d.accept())
    section.get_by_role("button", name=name, exact=True).click()


def test_presets(page: Page, server: ServerProc) -> None:
    section = _open(page)
    expect(section).to_have_accessible_name("Presets")
    table = section.get_by_role("table", name="Presets")
    # System presets are listed, marked, and offer no Edit or Delete.
    system = table.locator('tr[data-name="system-720p-h264"]')
    expect(system).to_contain_text("system")
    expect(system.get_by_role("button")).to_have_count(0)

    form = section.get_by_role("form", name="New preset")
    form.get_by_label("Name", exact=True).fill("ui-540p")
    form.get_by_label("Description").fill("made in the console")
    form.get_by_label("Container (f)").select_option("mp4")
    form.get_by_label("Codec (vcodec)").select_option("h264")
    form.get_by_label("Width in pixels").fill("960")
    form.get_by_label("Height in pixels").fill("540")
    form.get_by_label("Fit inside width × height (as)").check()
    form.get_by_label("Frame rate (vr)").fill("25")
    form.get_by_label("Bitrate (vb)").fill("1500k")
    form.get_by_label("Codec (acodec)").select_option("aac")
    form.get_by_label("Bitrate (ab)").fill("96k")
    form.get_by_label("Sample rate (ar)").select_option("44100")
    form.get_by_label("Channels").fill("2")
    form.get_by_role("button", name="Create preset").click()
    expect(section.get_by_role("status")).to_have_text("Created preset ui-540p.")
    expect(table.locator('tr[data-name="ui-540p"]')).to_contain_text("h264 960×540 fit 1500k")
    r = _get(server, "/v1/presets/ui-540p")
    assert r.status_code == 200, r.text
    assert r.json()["params"] == {
        "f": "mp4",
        "VIDEO": {"vcodec": "h264", "width": 960, "height": 540, "as": 1, "vr": 25, "vb": "1500k"},
        "AUDIO": {"acodec": "aac", "ab": "96k", "ar": 44100, "channels": 2},
    }
    assert r.json()["description"] == "made in the console"

    # Edit: the form is filled from the preset; the name cannot change.
    section.get_by_role("button", name="Edit preset ui-540p").click()
    form = section.get_by_role("form", name="Edit preset ui-540p")
    expect(form.get_by_label("Name", exact=True)).to_have_value("ui-540p")
    expect(form.get_by_label("Name", exact=True)).not_to_be_editable()
    expect(form.get_by_label("Bitrate (vb)")).to_have_value("1500k")
    form.get_by_label("Bitrate (vb)").fill("")
    form.get_by_label("Constant quality (crf)").fill("23")
    form.get_by_label("No audio (an)").check()
    expect(form.get_by_label("Codec (acodec)")).to_be_disabled()
    form.get_by_role("button", name="Save preset").click()
    expect(section.get_by_role("status")).to_have_text("Saved preset ui-540p.")
    params = _get(server, "/v1/presets/ui-540p").json()["params"]
    assert params["VIDEO"]["crf"] == 23 and "vb" not in params["VIDEO"], params
    assert params["AUDIO"] == {"an": 1}, params

    # Cancel edit goes back to a new preset, with the focus on its first field.
    section.get_by_role("button", name="Edit preset ui-540p").click()
    section.get_by_role("button", name="Cancel edit").click()
    expect(section.get_by_role("form", name="New preset").get_by_label("Name", exact=True)).to_be_focused()

    # A codec the container cannot hold passes the page's checks; the server's message is shown.
    form = section.get_by_role("form", name="New preset")
    form.get_by_label("Name", exact=True).fill("ui-bad")
    form.get_by_label("Container (f)").select_option("flv")
    form.get_by_label("Codec (vcodec)").select_option("vp9")
    with page.expect_request(lambda rq: rq.method == "POST" and rq.url.endswith("/v1/presets")) as sent:
        form.get_by_role("button", name="Create preset").click()
    expected = _server_error(server, "POST", "/v1/presets", sent.value.post_data_json)
    assert "VIDEO.vcodec vp9 cannot go into f=flv" in expected, expected
    expect(form.get_by_role("alert")).to_have_text(expected)
    assert _get(server, "/v1/presets/ui-bad").status_code == 404

    _delete(page, section, "Delete preset ui-540p")
    expect(section.get_by_role("status")).to_have_text("Deleted preset ui-540p.")
    expect(table.locator('tr[data-name="ui-540p"]')).to_have_count(0)
    assert _get(server, "/v1/presets/ui-540p").status_code == 404


def test_templates_and_flows(page: Page, server: ServerProc) -> None:
    templates = _open(page, "Templates")
    expect(templates).to_have_accessible_name("Templates")
    templates.get_by_label("Template kind").select_option("AnimatedGraphics")
    listed = templates.get_by_role("table", name="Templates")
    expect(listed.locator('tr[data-name="20000"]')).to_contain_text("system")
    expect(listed.locator('tr[data-name="20000"]').get_by_role("button")).to_have_count(0)

    # The form has the kind's fields, filled with an example; its JSON (advanced) is the same
    # example; a JSON mistake is caught before sending.
    form = templates.get_by_role("form", name="New AnimatedGraphics template")
    expect(form.get_by_label("Format")).to_have_value("gif")
    expect(form.get_by_label("Frame rate")).to_have_value("10")
    expect(form.get_by_label("Params (JSON)")).to_be_hidden()
    form.get_by_label("Edit as JSON (advanced)").check()
    params = form.get_by_label("Params (JSON)")
    expect(params).to_have_value('{\n  "Format": "gif",\n  "Fps": 10,\n  "Width": 480,\n  "Height": 0\n}')
    params.fill('{"Fps": 10,')
    form.get_by_role("button", name="Create AnimatedGraphics template").click()
    expect(form.get_by_role("alert")).to_contain_text("Params is not valid JSON")
    expect(params).to_have_attribute("aria-invalid", "true")

    # A value out of range is the server's to refuse, in its own words.
    bad = {"Format": "gif", "Fps": 60}
    params.fill('{"Format": "gif", "Fps": 60}')
    form.get_by_label("Name").fill("ui-gif")
    form.get_by_role("button", name="Create AnimatedGraphics template").click()
    expected = _server_error(server, "POST", "/v1/templates/AnimatedGraphics", {"name": "ui-gif", "params": bad})
    assert expected.startswith("InvalidParameterValue.Fps: "), expected
    expect(form.get_by_role("alert")).to_have_text(expected)
    expect(params).not_to_have_attribute("aria-invalid", "true")

    params.fill('{"Format": "gif", "Fps": 8, "Width": 320}')
    with page.expect_response(lambda r: r.request.method == "POST" and "/v1/templates/" in r.url) as made:
        form.get_by_role("button", name="Create AnimatedGraphics template").click()
    definition = made.value.json()["definition"]
    expect(templates.get_by_role("status")).to_have_text(f"Created AnimatedGraphics template {definition}.")
    assert _get(server, f"/v1/templates/AnimatedGraphics/{definition}").json()["params"]["Fps"] == 8

    # Edit with the form's fields: filled from the template.
    templates.get_by_role("button", name=f"Edit AnimatedGraphics template {definition}").click()
    form = templates.get_by_role("form", name=f"Edit AnimatedGraphics template {definition}")
    expect(form.get_by_label("Name")).to_be_focused()
    expect(form.get_by_label("Width in pixels (0: from the height)")).to_have_value("320")
    form.get_by_label("Comment").fill("slower")
    form.get_by_label("Frame rate").fill("5")
    form.get_by_role("button", name="Save AnimatedGraphics template").click()
    expect(templates.get_by_role("status")).to_have_text(f"Saved AnimatedGraphics template {definition}.")
    saved = _get(server, f"/v1/templates/AnimatedGraphics/{definition}").json()
    assert (saved["comment"], saved["params"]["Fps"], saved["params"]["Width"]) == ("slower", 5, 320), saved

    # A task flow naming that template, made with the step form: a kind, a template picked by
    # Definition, and the kind's time fields. One naming no template is refused in the server's words.
    flows = _open(page, "Flows")
    expect(flows).to_have_accessible_name("Task flows")
    form = flows.get_by_role("form", name="New task flow")
    form.get_by_label("Name", exact=True).fill("ui-flow")
    expect(form.locator("fieldset.flow-step")).to_have_count(3)  # the example: transcode, gif, cover
    for _ in range(3):
        form.get_by_role("button", name="Remove step 1").click()
    form.get_by_role("button", name="Add step").click()
    form.get_by_label("Step 1 kind").select_option("AnimatedGraphicTaskSet")
    form.get_by_label("Step 1 template").select_option(str(definition))
    form.get_by_label("Step 1 start (seconds)").fill("0")
    form.get_by_label("Step 1 end (seconds)").fill("2")
    expect(form.get_by_label("Step 1 time points")).to_be_hidden()
    form.get_by_label("Edit as JSON (advanced)").check()
    task = form.get_by_label("Media process task (JSON)")
    gif = f'{{"Definition": {definition}, "StartTimeOffset": 0, "EndTimeOffset": 2}}'
    assert json.loads(task.input_value()) == {"AnimatedGraphicTaskSet": [json.loads(gif)]}
    missing = {"TranscodeTaskSet": [{"Definition": 999}]}
    task.fill('{"TranscodeTaskSet": [{"Definition": 999}]}')
    form.get_by_role("button", name="Create task flow").click()
    expected = _server_error(server, "POST", "/v1/procedures", {"name": "ui-flow", "media_process_task": missing})
    assert expected.startswith("InvalidParameterValue.Definition: "), expected
    expect(form.get_by_role("alert")).to_have_text(expected)

    task.fill(f'{{"AnimatedGraphicTaskSet": [{gif}]}}')
    form.get_by_label("Edit as JSON (advanced)").uncheck()  # back to the form, from the JSON
    expect(form.get_by_label("Step 1 template")).to_have_value(str(definition))
    form.get_by_role("button", name="Create task flow").click()
    expect(flows.get_by_role("status")).to_have_text("Created task flow ui-flow.")
    row = flows.get_by_role("table", name="Task flows").locator('tr[data-name="ui-flow"]')
    expect(row).to_contain_text(f"AnimatedGraphics {definition}")
    r = _get(server, "/v1/procedures/ui-flow")
    assert r.status_code == 200, r.text
    assert r.json()["steps"] == [
        {"kind": "AnimatedGraphics", "definition": definition, "params": {"StartTimeOffset": 0, "EndTimeOffset": 2}}
    ]

    flows.get_by_role("button", name="Edit task flow ui-flow").click()
    form = flows.get_by_role("form", name="Edit task flow ui-flow")
    expect(form.get_by_label("Name", exact=True)).not_to_be_editable()
    form.get_by_label("Comment").fill("gif and cover")
    expect(form.get_by_label("Step 1 end (seconds)")).to_have_value("2")
    form.get_by_role("button", name="Add step").click()
    form.get_by_label("Step 2 kind").select_option("CoverBySnapshotTaskSet")
    form.get_by_label("Step 2 template").select_option("10")
    form.get_by_label("Step 2 cover position by").select_option("Percent")
    form.get_by_label("Step 2 cover position (seconds or percent)").fill("50")
    form.get_by_role("button", name="Save task flow").click()
    expect(flows.get_by_role("status")).to_have_text("Saved task flow ui-flow.")
    saved = _get(server, "/v1/procedures/ui-flow").json()
    assert saved["comment"] == "gif and cover" and [s["kind"] for s in saved["steps"]] == [
        "AnimatedGraphics",
        "CoverBySnapshot",
    ], saved
    assert saved["steps"][1]["params"] == {"PositionType": "Percent", "PositionValue": 50}, saved
    page.set_viewport_size({"width": 1024, "height": 2200})
    shot(page, "console-presets.png")

    # The template is in use, so deleting it is refused (the list says why) until the flow is gone.
    name = f"Delete AnimatedGraphics template {definition}"
    templates = _open(page, "Templates")
    templates.get_by_label("Template kind").select_option("AnimatedGraphics")
    _delete(page, templates, name)
    expect(templates.get_by_role("alert").first).to_contain_text("ResourceInUse.Template: ")
    flows = _open(page, "Flows")
    _delete(page, flows, "Delete task flow ui-flow")
    expect(flows.get_by_role("status")).to_have_text("Deleted task flow ui-flow.")
    assert _get(server, "/v1/procedures/ui-flow").status_code == 404
    templates = _open(page, "Templates")
    templates.get_by_label("Template kind").select_option("AnimatedGraphics")
    _delete(page, templates, name)
    expect(templates.get_by_role("status")).to_have_text(f"Deleted AnimatedGraphics template {definition}.")
    assert _get(server, f"/v1/templates/AnimatedGraphics/{definition}").status_code == 404


def test_presets_page_fits_a_phone(page: Page) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    section = _open(page)
    expect(section.get_by_role("form", name="New preset")).to_be_visible()
    # Each tab, with its forms per kind and per step, fits the phone's width and labels its fields.
    for tab in ("Presets", "Templates", "Flows"):
        panel = _open(page, tab)
        expect(panel.locator("tbody tr").first).to_be_visible()
        assert page.evaluate(NO_SIDEWAYS_SCROLL), tab
        assert_labelled(page)
    # The arrow keys move between the tabs (WAI-ARIA tabs); Enter in a field submits its form.
    page.get_by_role("tab", name="Flows").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Presets")).to_be_focused()
    expect(page.get_by_role("tab", name="Presets")).to_have_attribute("aria-selected", "true")
    panel = page.get_by_role("tabpanel")
    panel.get_by_label("Name", exact=True).focus()
    page.keyboard.type("ui-phone")
    page.keyboard.press("Enter")
    expect(panel.get_by_role("status")).to_have_text("Created preset ui-phone.")
    shot(page, "console-presets-phone.png")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Delete preset ui-phone").click()
    expect(page.locator('tr[data-name="ui-phone"]')).to_have_count(0)
