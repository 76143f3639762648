// Presets & flows: the app's transcoding presets, processing templates and task flows (procedures),
// each listed with the built-in ones and created, edited and deleted through a form. The server
// validates everything; its error code and message are shown beside the form as they come.
import { api, ApiError, el } from "./api.js";

const STYLESHEET = "/console/assets/presets.css";
const PAGE = 100; // the most /v1/templates and /v1/procedures return per request
const MAX_PAGES = 20;

// Mirrors openvod.domain.presets (the Kingsoft offline "param" schema).
const CONTAINERS = ["mp4", "flv", "ts", "hls", "webm", "mkv", "mp3", "m4a", "aac", "gif"];
const AUDIO_ONLY = ["mp3", "m4a", "aac"];
const VCODECS = ["h264", "h265", "vp9", "av1", "copy"];
const ACODECS = ["aac", "mp3", "opus", "vorbis", "copy"];
const SPEEDS = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"];
const RATES = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000];

// Mirrors openvod.domain.templates.TemplateKind; each with an example that passes validation.
const KINDS = {
  Transcode: { Container: "mp4",
    VideoTemplate: { Codec: "libx264", Fps: 25, Bitrate: 1000, Width: 0, Height: 540 },
    AudioTemplate: { Codec: "libfdk_aac", Bitrate: 96, SampleRate: 44100, AudioChannel: 2 } },
  AnimatedGraphics: { Format: "gif", Fps: 10, Width: 480, Height: 0 },
  SnapshotByTimeOffset: { Format: "jpg", Width: 640, Height: 0 },
  SampleSnapshot: { SampleType: "Percent", SampleInterval: 10, Format: "jpg", Width: 640, Height: 0 },
  ImageSprite: { SampleType: "Time", SampleInterval: 10, RowCount: 5, ColumnCount: 5, Width: 160, Height: 0 },
  AdaptiveDynamicStreaming: { Format: "HLS", StreamInfos: [
    { Video: { Codec: "libx264", Fps: 25, Bitrate: 800, Height: 480 }, Audio: { Codec: "libfdk_aac", Bitrate: 64 } },
    { Video: { Codec: "libx264", Fps: 25, Bitrate: 2000, Height: 720 }, Audio: { Codec: "libfdk_aac", Bitrate: 128 } },
  ] },
};
const FLOW_EXAMPLE = {
  TranscodeTaskSet: [{ Definition: 100030 }],
  AnimatedGraphicTaskSet: [{ Definition: 20000, StartTimeOffset: 0, EndTimeOffset: 3 }],
  CoverBySnapshotTaskSet: [{ Definition: 10, PositionType: "Time", PositionValue: 1.5 }],
};

// A mistake found before sending: shown like a server error, and `input` gets the focus.
class FormError extends Error {
  constructor(message, input) {
    super(message);
    this.input = input;
  }
}

function linkStylesheet() {
  if (document.querySelector(`link[href="${STYLESHEET}"]`)) return;
  document.head.append(el("link", { rel: "stylesheet", href: STYLESHEET }));
}

// A labelled control in a grid cell; `hint` is read out with the control.
function field(control, label, { hint, wide, check } = {}) {
  const hintNode = hint ? el("span", { class: "hint", id: `${control.id}-hint`, text: hint }) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  const cls = `pv-field${wide ? " wide" : ""}${check ? " check" : ""}`;
  const lab = el("label", { for: control.id, text: label });
  return el("div", { class: cls }, check ? [control, lab] : [lab, control], hintNode);
}

function select(id, values, labels = {}) {
  return el("select", { id, name: id },
    values.map((v) => el("option", { value: String(v), text: labels[v] ?? String(v) })));
}

function jsonArea(id) {
  return el("textarea", { id, name: id, class: "json", rows: "12", spellcheck: "false", required: true,
    autocapitalize: "off", autocomplete: "off" });
}

// What went wrong, for the page: the server's "code: message", or the browser's own message
// (a network failure, say).
function describe(err) {
  return err instanceof ApiError ? `${err.code}: ${err.message}` : err.message;
}

function readJson(area, what) {
  let value;
  try { value = JSON.parse(area.value); } catch (err) {
    throw new FormError(`${what} is not valid JSON: ${err.message}`, area);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new FormError(`${what} must be a JSON object like {"Key": "value"}`, area);
  }
  return value;
}

async function listAll(path, signal) {
  const items = [];
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const data = await api("GET", `${path}?offset=${items.length}&limit=${PAGE}`, undefined, { signal });
    items.push(...data.items);
    if (!data.items.length || items.length >= data.total) break;
  }
  return items;
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

// --- templates ---------------------------------------------------------------------------------

function templateSpec(onKind) {
  const kind = select("template-kind", Object.keys(KINDS));
  kind.addEventListener("change", onKind);
  const c = {
    name: el("input", { id: "template-name", name: "name", maxlength: "64", autocomplete: "off" }),
    comment: el("input", { id: "template-comment", name: "comment", maxlength: "256", autocomplete: "off" }),
    params: jsonArea("template-params"),
  };
  const path = () => `/v1/templates/${encodeURIComponent(kind.value)}`;
  return {
    key: "templates", title: "Templates", noun: () => `${kind.value} template`, kind,
    intro: el("p", { class: "hint", text: "Processing templates in Tencent VOD's model, numbered by Definition "
      + "and named by task flows. System templates carry Tencent's own Definitions and are read-only." }),
    extra: el("div", { class: "row" }, el("label", { for: kind.id, text: "Template kind" }), kind),
    columns: ["Definition", "Name", "Comment"],
    cells: (t) => [[el("code", { text: String(t.definition) }),
      t.type === "Preset" ? el("span", { class: "badge", text: "system" }) : null], t.name, t.comment],
    label: (t) => String(t.definition),
    system: (t) => t.type === "Preset",
    list: (signal) => listAll(path(), signal),
    controls: el("div", { class: "pv-fields" },
      field(c.name, "Name", { hint: "at most 64 characters" }),
      field(c.comment, "Comment", { hint: "at most 256 characters" }),
      field(c.params, "Params (JSON)", { wide: true, hint: "Fields of Tencent's Create<Kind>Template request; "
        + "left-out fields get their defaults. When editing, fields left out keep their current value." })),
    fill(item) {
      c.name.value = item ? item.name : "";
      c.comment.value = item ? item.comment : "";
      c.params.value = JSON.stringify(item ? item.params : KINDS[kind.value], null, 2);
    },
    focus: () => c.name,
    body: () => ({ name: c.name.value, comment: c.comment.value, params: readJson(c.params, "Params") }),
    save: (item, body) => (item ? api("PUT", `${path()}/${item.definition}`, body) : api("POST", path(), body)),
    remove: (t) => api("DELETE", `${path()}/${t.definition}`),
  };
}

// --- task flows --------------------------------------------------------------------------------

function flowSpec() {
  const c = {
    name: el("input", { id: "flow-name", name: "name", required: true, maxlength: "20", autocomplete: "off" }),
    comment: el("input", { id: "flow-comment", name: "comment", maxlength: "256", autocomplete: "off" }),
    task: jsonArea("flow-task"),
  };
  return {
    key: "flows", title: "Task flows", noun: () => "task flow",
    intro: el("p", { class: "hint", text: "Named MediaProcessTasks (Tencent's procedure templates): "
      + "the steps to run on a media file, each naming a template by Definition." }),
    columns: ["Name", "Steps", "Comment"],
    cells: (f) => [el("code", { text: f.name }), f.steps.map((s) => `${s.kind} ${s.definition}`).join(", "),
      f.comment],
    label: (f) => f.name,
    system: () => false,
    list: (signal) => listAll("/v1/procedures", signal),
    controls: el("div", { class: "pv-fields" },
      field(c.name, "Name", { hint: "1-20 characters, no '/'" }),
      field(c.comment, "Comment", { hint: "at most 256 characters" }),
      field(c.task, "Media process task (JSON)", { wide: true, hint: "Sets such as TranscodeTaskSet, "
        + "AnimatedGraphicTaskSet, SnapshotByTimeOffsetTaskSet, SampleSnapshotTaskSet, ImageSpriteTaskSet, "
        + "CoverBySnapshotTaskSet, AdaptiveDynamicStreamingTaskSet; each item names a template's Definition." })),
    fill(item) {
      c.name.value = item ? item.name : "";
      c.name.readOnly = Boolean(item); // the API cannot rename a task flow
      c.comment.value = item ? item.comment : "";
      c.task.value = JSON.stringify(item ? item.media_process_task : FLOW_EXAMPLE, null, 2);
    },
    focus: (item) => (item ? c.comment : c.name),
    body: (item) => ({ ...(item ? {} : { name: c.name.value }), comment: c.comment.value,
      media_process_task: readJson(c.task, "Media process task") }),
    save: (item, body) => (item ? api("PUT", `/v1/procedures/${encodeURIComponent(item.name)}`, body)
      : api("POST", "/v1/procedures", body)),
    remove: (f) => api("DELETE", `/v1/procedures/${encodeURIComponent(f.name)}`),
  };
}

export async function showPresets(view) {
  linkStylesheet();
  const aborter = new AbortController();
  const presets = resourceSection(presetSpec(), aborter.signal);
  const tspec = templateSpec(async () => {
    templates.edit(null, { focus: false });
    await templates.reload();
  });
  const templates = resourceSection(tspec, aborter.signal);
  const flows = resourceSection(flowSpec(), aborter.signal);
  // The system lists are long on a phone: these take the keyboard and the eye to each section.
  const jump = el("nav", { class: "row", "aria-label": "On this page" }, [presets, templates, flows].map((s) =>
    el("button", { type: "button", text: s.title.textContent, onclick: () => s.title.focus() })));
  view.append(el("h1", { text: "Presets & flows" }), jump, presets.section, templates.section, flows.section);
  await Promise.all([presets.reload(), templates.reload(), flows.reload()]);
  return () => aborter.abort();
}
