// Presets & flows: the app's transcoding presets, processing templates and task flows (procedures),
// each listed with the built-in ones and created, edited and deleted through a form. The server
// validates everything; its error code and message are shown beside the form as they come.
import { api, el } from "./api.js";
import { describe, field, FormError, select } from "./pv_common.js";
import { flowSpec, templateSpec } from "./pv_processing.js";

const STYLESHEET = "/console/assets/presets.css";

// Mirrors openvod.domain.presets (the Kingsoft offline "param" schema).
const CONTAINERS = ["mp4", "flv", "ts", "hls", "webm", "mkv", "mp3", "m4a", "aac", "gif"];
const AUDIO_ONLY = ["mp3", "m4a", "aac"];
const VCODECS = ["h264", "h265", "vp9", "av1", "copy"];
const ACODECS = ["aac", "mp3", "opus", "vorbis", "copy"];
const SPEEDS = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"];
const RATES = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000];

function linkStylesheet() {
  if (document.querySelector(`link[href="${STYLESHEET}"]`)) return;
  document.head.append(el("link", { rel: "stylesheet", href: STYLESHEET }));
}

// One resource's section: a heading, the list, and the create/edit form. `spec` gives what differs:
//   key, title, noun(), columns, cells(item), label(item), system(item), list(signal),
//   controls (form content), fill(item|null) (new or edit mode), body(item|null) (payload; may
//   throw FormError), save(item|null, body), remove(item), focus(item|null) (the first control to
//   edit), and optionally intro and extra (nodes above the list).
function resourceSection(spec, signal) {
  const heading = el("h3", { id: `${spec.key}-form-h` });
  const formAlert = el("p", { class: "error", role: "alert", id: `${spec.key}-form-alert` });
  const listAlert = el("p", { class: "error", role: "alert" });
  const status = el("p", { role: "status", class: "pv-status" });
  const submit = el("button", { type: "submit" });
  const cancel = el("button", { type: "button", text: "Cancel edit", hidden: true,
    onclick: () => { edit(null); spec.focus(null).focus(); } });
  const body = el("tbody");
  let editing = null;

  const form = el("form", { class: "pv-form", "aria-labelledby": heading.id, "aria-describedby": formAlert.id,
    onsubmit: onSubmit }, heading, spec.controls, formAlert, el("div", { class: "row" }, submit, cancel));

  function clearErrors() {
    formAlert.textContent = "";
    for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  }

  function edit(item, { focus = true } = {}) {
    editing = item;
    clearErrors();
    spec.fill(item);
    heading.textContent = item ? `Edit ${spec.noun()} ${spec.label(item)}` : `New ${spec.noun()}`;
    submit.textContent = item ? `Save ${spec.noun()}` : `Create ${spec.noun()}`;
    cancel.hidden = !item;
    if (item && focus) {
      form.scrollIntoView({ block: "start" });
      spec.focus(item).focus();
    }
  }

  async function onSubmit(ev) {
    ev.preventDefault();
    clearErrors();
    status.textContent = "";
    const item = editing;
    try {
      const payload = spec.body(item);
      submit.disabled = true;
      const saved = await spec.save(item, payload);
      status.textContent = `${item ? "Saved" : "Created"} ${spec.noun()} ${spec.label(saved)}.`;
      edit(null, { focus: false });
      await reload();
    } catch (err) {
      if (err instanceof FormError) {
        formAlert.textContent = err.message;
        err.input.setAttribute("aria-invalid", "true");
        err.input.focus();
      } else formAlert.textContent = describe(err);
    } finally { submit.disabled = false; }
  }

  async function onDelete(item) {
    if (!confirm(`Delete ${spec.noun()} ${spec.label(item)}?`)) return;
    status.textContent = "";
    let problem = "";
    try {
      await spec.remove(item);
      if (editing && spec.label(editing) === spec.label(item)) edit(null, { focus: false });
      status.textContent = `Deleted ${spec.noun()} ${spec.label(item)}.`;
    } catch (err) {
      problem = describe(err);
    }
    await reload();
    if (problem) listAlert.textContent = problem;
  }

  function row(item) {
    const who = `${spec.noun()} ${spec.label(item)}`;
    const actions = spec.system(item)
      ? el("span", { class: "hint", text: "built in, read-only" })
      : [el("button", { type: "button", text: "Edit", "aria-label": `Edit ${who}`, onclick: () => edit(item) }),
        el("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete ${who}`,
          onclick: () => onDelete(item) })];
    const cells = spec.cells(item).map((c, i) => el("td", { "data-label": spec.columns[i] }, c));
    return el("tr", { "data-name": spec.label(item), class: spec.system(item) ? "system" : null },
      cells, el("td", { class: "pv-actions", "data-label": "Actions" }, actions));
  }

  async function reload() {
    listAlert.textContent = "";
    try {
      const items = await spec.list(signal);
      body.replaceChildren(...items.map(row));
      if (!items.length) {
        body.append(el("tr", {}, el("td", { colspan: String(spec.columns.length + 1), text: "None yet." })));
      }
    } catch (err) {
      if (!signal.aborted) listAlert.textContent = `Could not list ${spec.noun()}s: ${describe(err)}`;
    }
  }

  const table = el("table", { class: "pv-table", "aria-label": spec.title },
    el("thead", {}, el("tr", {}, [...spec.columns, "Actions"].map((h) => el("th", { scope: "col", text: h })))),
    body);
  const title = el("h2", { id: `${spec.key}-h`, text: spec.title, tabindex: "-1" });
  const section = el("section", { class: "pv-section", "aria-labelledby": title.id },
    title, spec.intro, spec.extra, status, listAlert, el("div", { class: "scroll" }, table), form);
  edit(null, { focus: false });
  return { section, title, reload, edit };
}

// --- presets -----------------------------------------------------------------------------------

function presetSummary(p) {
  if (!p) return "";
  const v = p.VIDEO || {};
  const a = p.AUDIO || {};
  const size = v.width || v.height ? `${v.width || "auto"}×${v.height || "auto"}${v.as ? " fit" : ""}` : null;
  const video = v.vn ? "no video" : [v.vcodec, size, v.vb, v.crf !== undefined ? `crf ${v.crf}` : null,
    v.vr ? `${v.vr} fps` : null, v.preset, v.rotate ? `rotate ${v.rotate}°` : null].filter(Boolean).join(" ");
  const audio = a.an ? "no audio" : [a.acodec, a.ab, a.ar ? `${a.ar} Hz` : null,
    a.channels ? `${a.channels} ch` : null].filter(Boolean).join(" ");
  return [p.f, p.VIDEO ? video : null, p.AUDIO ? audio : null].filter(Boolean).join(" · ");
}

function presetSpec() {
  const c = {
    name: el("input", { id: "preset-name", name: "name", required: true, maxlength: "128", autocomplete: "off",
      pattern: "[A-Za-z0-9_.\\-]+" }),
    type: select("preset-type", ["avop"], { avop: "avop (audio/video transcoding)" }),
    description: el("textarea", { id: "preset-description", name: "description", rows: "2", maxlength: "1024" }),
    f: select("preset-f", CONTAINERS),
    vn: el("input", { type: "checkbox", id: "preset-vn" }),
    vcodec: select("preset-vcodec", ["", ...VCODECS], { "": "default for the container" }),
    width: el("input", { type: "number", id: "preset-width", min: "0", max: "8192", step: "1", inputmode: "numeric" }),
    height: el("input", { type: "number", id: "preset-height", min: "0", max: "8192", step: "1", inputmode: "numeric" }),
    as: el("input", { type: "checkbox", id: "preset-as" }),
    vr: el("input", { id: "preset-vr", inputmode: "decimal", placeholder: "25", autocomplete: "off" }),
    vb: el("input", { id: "preset-vb", placeholder: "800k", autocomplete: "off" }),
    crf: el("input", { type: "number", id: "preset-crf", min: "0", max: "51", step: "1", inputmode: "numeric" }),
    preset: select("preset-speed", ["", ...SPEEDS], { "": "encoder default" }),
    rotate: select("preset-rotate", [0, 90, 180, 270], { 0: "none" }),
    an: el("input", { type: "checkbox", id: "preset-an" }),
    acodec: select("preset-acodec", ["", ...ACODECS], { "": "default for the container" }),
    ab: el("input", { id: "preset-ab", placeholder: "128k", autocomplete: "off" }),
    ar: select("preset-ar", ["", ...RATES], { "": "as the source" }),
    channels: el("input", { type: "number", id: "preset-channels", min: "1", max: "8", step: "1", inputmode: "numeric" }),
  };
  const videoKeys = ["vcodec", "width", "height", "as", "vr", "vb", "crf", "preset", "rotate"];
  const audioKeys = ["acodec", "ab", "ar", "channels"];
  // Settings the container or a "no video/audio" box makes moot are disabled, and not sent.
  function sync() {
    const audioOnly = AUDIO_ONLY.includes(c.f.value);
    const gif = c.f.value === "gif";
    c.vn.disabled = audioOnly || gif;
    c.an.disabled = gif;
    for (const k of videoKeys) c[k].disabled = audioOnly || c.vn.checked;
    for (const k of audioKeys) c[k].disabled = gif || c.an.checked;
  }
  for (const k of ["f", "vn", "an"]) c[k].addEventListener("change", sync);

  const controls = el("div", {},
    el("div", { class: "pv-fields" },
      field(c.name, "Name", { hint: "Letters, digits, _ . - ; names starting with system- are reserved." }),
      field(c.type, "Type"), field(c.f, "Container (f)"),
      field(c.description, "Description", { wide: true })),
    el("fieldset", {}, el("legend", { text: "Video" }), el("div", { class: "pv-fields" },
      field(c.vn, "No video (vn)", { check: true }), field(c.vcodec, "Codec (vcodec)"),
      field(c.width, "Width in pixels", { hint: "0 or empty: from the height's aspect ratio" }),
      field(c.height, "Height in pixels", { hint: "0 or empty: from the width's aspect ratio" }),
      field(c.as, "Fit inside width × height (as)", { check: true }),
      field(c.vr, "Frame rate (vr)", { hint: "like 25 or 29.97; empty: as the source" }),
      field(c.vb, "Bitrate (vb)", { hint: "like 800k or 2.5M" }),
      field(c.crf, "Constant quality (crf)", { hint: "0-51, instead of a bitrate" }),
      field(c.preset, "Encoder speed (preset)"), field(c.rotate, "Rotate clockwise (rotate)"))),
    el("fieldset", {}, el("legend", { text: "Audio" }), el("div", { class: "pv-fields" },
      field(c.an, "No audio (an)", { check: true }), field(c.acodec, "Codec (acodec)"),
      field(c.ab, "Bitrate (ab)", { hint: "like 128k" }), field(c.ar, "Sample rate (ar)"),
      field(c.channels, "Channels"))));

  function fill(item) {
    const p = (item && item.params) || { f: "mp4" };
    const v = p.VIDEO || {};
    const a = p.AUDIO || {};
    c.name.value = item ? item.name : "";
    c.name.readOnly = Boolean(item); // the API cannot rename a preset
    c.type.value = item ? item.type : "avop";
    c.description.value = item ? item.description : "";
    c.f.value = p.f;
    c.vn.checked = Boolean(v.vn);
    c.as.checked = Boolean(v.as);
    c.an.checked = Boolean(a.an);
    for (const k of ["vcodec", "width", "height", "vr", "vb", "crf", "preset"]) c[k].value = v[k] ?? "";
    c.rotate.value = String(v.rotate ?? 0);
    for (const k of audioKeys) c[k].value = a[k] ?? "";
    sync();
  }

  function params() {
    const put = (into, key, control, asNumber = false) => {
      const text = control.value.trim();
      if (!control.disabled && text !== "") into[key] = asNumber ? Number(text) : text;
    };
    const out = { f: c.f.value };
    const video = {};
    if (!c.vn.disabled && c.vn.checked) video.vn = 1;
    else {
      for (const k of ["vcodec", "vr", "vb", "preset"]) put(video, k, c[k]);
      for (const k of ["width", "height", "crf"]) put(video, k, c[k], true);
      if (!c.as.disabled && c.as.checked) video.as = 1;
      if (!c.rotate.disabled && c.rotate.value !== "0") video.rotate = Number(c.rotate.value);
    }
    const audio = {};
    if (!c.an.disabled && c.an.checked) audio.an = 1;
    else {
      for (const k of ["acodec", "ab"]) put(audio, k, c[k]);
      for (const k of ["ar", "channels"]) put(audio, k, c[k], true);
    }
    if (Object.keys(video).length) out.VIDEO = video;
    if (Object.keys(audio).length) out.AUDIO = audio;
    return out;
  }

  return {
    key: "presets", title: "Presets", noun: () => "preset",
    intro: el("p", { class: "hint", text: "Transcoding presets (Kingsoft's offline param schema), named by the "
      + "transcode task's preset field. System presets are built in and read-only." }),
    columns: ["Name", "Description", "Settings"],
    cells: (p) => [[el("code", { text: p.name }), p.system ? el("span", { class: "badge", text: "system" }) : null],
      p.description, presetSummary(p.params)],
    label: (p) => p.name,
    system: (p) => p.system,
    list: async (signal) => (await api("GET", "/v1/presets", undefined, { signal })).items,
    controls, fill,
    focus: (item) => (item ? c.type : c.name),
    body: (item) => ({ ...(item ? {} : { name: c.name.value.trim() }), type: c.type.value,
      description: c.description.value, params: params() }),
    save: (item, body) => (item ? api("PUT", `/v1/presets/${encodeURIComponent(item.name)}`, body)
      : api("POST", "/v1/presets", body)),
    remove: (p) => api("DELETE", `/v1/presets/${encodeURIComponent(p.name)}`),
  };
}

const TABS = [["presets", "Presets"], ["templates", "Templates"], ["flows", "Flows"]];

// Three tabs (WAI-ARIA tabs: arrow keys move between them); the tab shown is in the URL
// (#/presets/templates), replaced rather than pushed, so Back leaves the page.
export async function showPresets(view, tab) {
  linkStylesheet();
  const aborter = new AbortController();
  const presets = resourceSection(presetSpec(), aborter.signal);
  const tspec = templateSpec(async () => {
    templates.edit(null, { focus: false });
    await templates.reload();
  });
  const templates = resourceSection(tspec, aborter.signal);
  const flows = resourceSection(flowSpec(aborter.signal), aborter.signal);
  const sections = { presets, templates, flows };
  const list = el("div", { role: "tablist", class: "pv-tabs", "aria-label": "Presets, templates and flows" });
  const buttons = TABS.map(([key, label]) => {
    const panel = sections[key].section;
    panel.id = `pv-panel-${key}`;
    panel.setAttribute("role", "tabpanel");
    const b = el("button", { type: "button", role: "tab", id: `pv-tab-${key}`, "aria-controls": panel.id,
      "data-tab": key, text: label, onclick: () => select(key, true) });
    return b;
  });
  list.append(...buttons);
  function select(key, focus) {
    for (const b of buttons) {
      const on = b.dataset.tab === key;
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
      sections[b.dataset.tab].section.hidden = !on;
      if (on && focus) b.focus();
    }
    history.replaceState(null, "", `#/presets/${key}`);
  }
  list.addEventListener("keydown", (ev) => {
    const i = buttons.indexOf(document.activeElement);
    if (i < 0 || !["ArrowLeft", "ArrowRight", "Home", "End"].includes(ev.key)) return;
    ev.preventDefault();
    const n = buttons.length;
    const j = { ArrowLeft: (i + n - 1) % n, ArrowRight: (i + 1) % n, Home: 0, End: n - 1 }[ev.key];
    select(buttons[j].dataset.tab, true);
  });
  view.append(el("h1", { text: "Presets & flows" }), list, presets.section, templates.section, flows.section);
  select(sections[tab] ? tab : "presets", false);
  await Promise.all([presets.reload(), templates.reload(), flows.reload()]);
  return () => aborter.abort();
}
