// Templates and task flows on the "Presets & flows" page: forms per template kind and per flow
// step (Definition pickers, time fields), each with its raw JSON behind an "advanced" switch.
import { api, el } from "./api.js";
import { field, FormError, jsonArea, listAll, readJson, select } from "./pv_common.js";

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

// The form of each template kind: [path in params, label, "int" | "num" | [choices]]. Mirrors
// openvod.domain.templates.params; a kind without fields (AdaptiveDynamicStreaming's list of
// streams) is edited as JSON.
const PICTURE = ["jpg", "png", "webp"];
const FRAME = [["Width", "Width in pixels (0: from the height)", "int"],
  ["Height", "Height in pixels (0: from the width)", "int"]];
const SAMPLING = [["SampleType", "Sample by", ["Percent", "Time"]],
  ["SampleInterval", "Interval (percent or seconds)", "int"]];
const TEMPLATE_FIELDS = {
  Transcode: [["Container", "Container", ["mp4", "hls", "flv", "mp3", "m4a", "flac", "ogg", "wav"]],
    ["VideoTemplate.Codec", "Video codec", ["", "libx264", "libx265", "av1"]],
    ["VideoTemplate.Width", "Width in pixels (0: from the height)", "int"],
    ["VideoTemplate.Height", "Height in pixels (0: from the width)", "int"],
    ["VideoTemplate.Fps", "Frame rate (0: as the source)", "int"],
    ["VideoTemplate.Bitrate", "Video bitrate in kbps (0: as the source)", "int"],
    ["AudioTemplate.Codec", "Audio codec", ["", "libfdk_aac", "libmp3lame", "mp2", "ac3", "flac", "pcm16"]],
    ["AudioTemplate.Bitrate", "Audio bitrate in kbps", "int"],
    ["AudioTemplate.SampleRate", "Sample rate in Hz", ["", "32000", "44100", "48000"]],
    ["AudioTemplate.AudioChannel", "Audio channels (1 mono, 2 stereo, 6 5.1)", ["", "1", "2", "6"]]],
  AnimatedGraphics: [["Format", "Format", ["gif", "webp"]], ["Fps", "Frame rate", "int"], ...FRAME,
    ["Quality", "Quality (1-100)", "int"]],
  SnapshotByTimeOffset: [["Format", "Format", PICTURE], ...FRAME],
  SampleSnapshot: [...SAMPLING, ["Format", "Format", PICTURE], ...FRAME],
  ImageSprite: [...SAMPLING, ["RowCount", "Rows", "int"], ["ColumnCount", "Columns", "int"], ...FRAME],
  AdaptiveDynamicStreaming: null,
};

// Flow steps: the MediaProcessTask set, its label, and the template kind its Definition names.
const STEP_KINDS = {
  TranscodeTaskSet: ["Transcode", "Transcode"],
  AnimatedGraphicTaskSet: ["Animated image", "AnimatedGraphics"],
  SnapshotByTimeOffsetTaskSet: ["Snapshots at times", "SnapshotByTimeOffset"],
  SampleSnapshotTaskSet: ["Sampled snapshots", "SampleSnapshot"],
  ImageSpriteTaskSet: ["Image sprite", "ImageSprite"],
  CoverBySnapshotTaskSet: ["Cover", "SnapshotByTimeOffset"],
  AdaptiveDynamicStreamingTaskSet: ["Adaptive streaming (HLS)", "AdaptiveDynamicStreaming"],
};

function getPath(obj, path) {
  return path.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), obj);
}

function setPath(obj, path, value) {
  const keys = path.split(".");
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (!o[k] || typeof o[k] !== "object") o[k] = {};
    o = o[k];
  }
  if (value === undefined) delete o[keys.at(-1)];
  else o[keys.at(-1)] = value;
}

function numberOrEmpty(control, what) {
  const text = control.value.trim();
  if (text === "") return undefined;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new FormError(`${what} must be a number, got ${text}`, control);
  return n;
}

// A form over a JSON object with an "Edit as JSON (advanced)" switch: `draw(value)` lays the
// fields out for a value, `read(base)` returns base with the fields' values. Returns
// { node, set(value, formAvailable), value(what) }.
function advancedEditor(id, label, draw, read) {
  const fields = el("div", { class: "pv-fields wide-form" });
  const area = jsonArea(`${id}-json`);
  const areaField = field(area, label, { wide: true });
  const toggle = el("input", { type: "checkbox", id: `${id}-advanced` });
  const toggleField = field(toggle, "Edit as JSON (advanced)", { check: true });
  let base = {};
  let formAvailable = true;
  function show() {
    fields.hidden = toggle.checked;
    areaField.hidden = !toggle.checked;
  }
  toggle.addEventListener("change", () => {
    if (toggle.checked) {
      try { area.value = JSON.stringify(read(structuredClone(base)), null, 2); } catch { area.value = JSON.stringify(base, null, 2); }
    } else {
      try { base = readJson(area, label); draw(base); } catch (err) {
        toggle.checked = true; // stay in JSON until it parses
        area.setAttribute("aria-invalid", "true");
        area.focus();
        area.setCustomValidity(err.message);
        area.reportValidity();
        area.setCustomValidity("");
      }
    }
    show();
  });
  return {
    node: el("div", { class: "wide-form" }, toggleField, fields, areaField),
    fields,
    set(value, available = true) {
      base = structuredClone(value);
      formAvailable = available;
      toggle.checked = !available;
      toggle.disabled = !available;
      area.value = JSON.stringify(value, null, 2);
      if (available) draw(base);
      else fields.replaceChildren();
      show();
    },
    value(what) {
      return toggle.checked || !formAvailable ? readJson(area, what) : read(structuredClone(base));
    },
  };
}

// --- templates ---------------------------------------------------------------------------------

export function templateSpec(onKind) {
  const kind = select("template-kind", Object.keys(KINDS));
  kind.addEventListener("change", onKind);
  const c = {
    name: el("input", { id: "template-name", name: "name", maxlength: "64", autocomplete: "off" }),
    comment: el("input", { id: "template-comment", name: "comment", maxlength: "256", autocomplete: "off" }),
  };
  let controls = [];
  const editor = advancedEditor("template-params", "Params (JSON)", (value) => {
    controls = (TEMPLATE_FIELDS[kind.value] || []).map(([path, label, type]) => {
      const id = `tpl-${path.replace(".", "-")}`;
      const control = Array.isArray(type)
        ? select(id, type, { "": "default" })
        : el("input", { id, type: "number", step: "1", min: "0", inputmode: "numeric" });
      const v = getPath(value, path);
      control.value = v === undefined || v === null ? "" : String(v);
      return { path, label, type, control };
    });
    editor.fields.replaceChildren(...controls.map((f) => field(f.control, f.label)));
  }, (base) => {
    for (const f of controls) {
      const v = Array.isArray(f.type)
        ? (f.control.value === "" ? undefined : (/^\d+$/.test(f.control.value) ? Number(f.control.value) : f.control.value))
        : numberOrEmpty(f.control, f.label);
      setPath(base, f.path, v);
    }
    return base;
  });
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
      el("div", { class: "pv-field wide" }, editor.node,
        el("span", { class: "hint", text: "Fields left empty get their defaults; when editing, they keep their "
          + "current value. The JSON takes every field of Tencent's Create<Kind>Template request." }))),
    fill(item) {
      c.name.value = item ? item.name : "";
      c.comment.value = item ? item.comment : "";
      editor.set(item ? item.params : KINDS[kind.value], TEMPLATE_FIELDS[kind.value] !== null);
    },
    focus: () => c.name,
    body: () => ({ name: c.name.value, comment: c.comment.value, params: editor.value("Params") }),
    save: (item, body) => (item ? api("PUT", `${path()}/${item.definition}`, body) : api("POST", path(), body)),
    remove: (t) => api("DELETE", `${path()}/${t.definition}`),
  };
}

// --- task flows --------------------------------------------------------------------------------

// The Definitions a step may name, per template kind, read once per page.
function templateOptions(signal) {
  const cache = {};
  return (kind) => {
    cache[kind] ??= listAll(`/v1/templates/${encodeURIComponent(kind)}`, signal).catch(() => []);
    return cache[kind];
  };
}

function timePoints(item) {
  if (Array.isArray(item.ExtTimeOffsetSet)) return item.ExtTimeOffsetSet.join(", ");
  if (Array.isArray(item.TimeOffsetSet)) return item.TimeOffsetSet.map((ms) => `${ms / 1000}s`).join(", ");
  return "";
}

// One step's controls: kind, template (Definition) and the kind's time fields.
function stepEditor(n, set, item, options, onRemove) {
  const id = (k) => `flow-step${n}-${k}`;
  const kind = select(id("kind"), Object.keys(STEP_KINDS), Object.fromEntries(
    Object.entries(STEP_KINDS).map(([k, [label]]) => [k, label])));
  kind.value = set;
  const definition = el("select", { id: id("definition") });
  const start = el("input", { id: id("start"), inputmode: "decimal", autocomplete: "off" });
  const end = el("input", { id: id("end"), inputmode: "decimal", autocomplete: "off" });
  const points = el("input", { id: id("points"), autocomplete: "off", placeholder: "1s, 50%" });
  const posType = select(id("postype"), ["Time", "Percent"]);
  const posValue = el("input", { id: id("posvalue"), inputmode: "decimal", autocomplete: "off" });
  start.value = item.StartTimeOffset ?? "";
  end.value = item.EndTimeOffset ?? "";
  points.value = timePoints(item);
  posType.value = item.PositionType || "Time";
  posValue.value = item.PositionValue ?? "";
  const f = {
    start: field(start, `Step ${n} start (seconds)`, { hint: "negative counts back from the end" }),
    end: field(end, `Step ${n} end (seconds)`),
    points: field(points, `Step ${n} time points`, { hint: "seconds like 3.5s or percentages like 10%, comma-separated" }),
    posType: field(posType, `Step ${n} cover position by`),
    posValue: field(posValue, `Step ${n} cover position (seconds or percent)`),
  };
  async function fillDefinitions(wanted) {
    const templates = await options(STEP_KINDS[kind.value][1]);
    const opts = templates.map((t) => el("option", { value: String(t.definition),
      text: `${t.definition}${t.name ? ` — ${t.name}` : ""}${t.type === "Preset" ? " (system)" : ""}` }));
    if (wanted !== undefined && !templates.some((t) => t.definition === wanted)) {
      opts.unshift(el("option", { value: String(wanted), text: String(wanted) }));
    }
    definition.replaceChildren(...opts);
    if (wanted !== undefined) definition.value = String(wanted);
  }
  function sync() {
    f.start.hidden = f.end.hidden = !["TranscodeTaskSet", "AnimatedGraphicTaskSet"].includes(kind.value);
    f.points.hidden = kind.value !== "SnapshotByTimeOffsetTaskSet";
    f.posType.hidden = f.posValue.hidden = kind.value !== "CoverBySnapshotTaskSet";
  }
  kind.addEventListener("change", () => { sync(); fillDefinitions(undefined); });
  sync();
  fillDefinitions(item.Definition);
  const node = el("fieldset", { class: "flow-step", "data-step": String(n) },
    el("legend", { text: `Step ${n}` }),
    el("div", { class: "pv-fields" }, field(kind, `Step ${n} kind`), field(definition, `Step ${n} template`),
      f.start, f.end, f.points, f.posType, f.posValue),
    el("button", { type: "button", class: "danger", text: "Remove step", "aria-label": `Remove step ${n}`,
      onclick: onRemove }));
  function read() {
    const out = { Definition: Number(definition.value) };
    if (!definition.value) throw new FormError(`Step ${n} needs a template`, definition);
    if (!f.start.hidden) {
      const s = numberOrEmpty(start, `Step ${n} start`);
      const e = numberOrEmpty(end, `Step ${n} end`);
      if (s !== undefined) out.StartTimeOffset = s;
      if (e !== undefined) out.EndTimeOffset = e;
    }
    if (!f.points.hidden) out.ExtTimeOffsetSet = points.value.split(",").map((p) => p.trim()).filter(Boolean);
    if (!f.posType.hidden) {
      out.PositionType = posType.value;
      const v = numberOrEmpty(posValue, `Step ${n} cover position`);
      if (v !== undefined) out.PositionValue = v;
    }
    return [kind.value, out];
  }
  return { node, read };
}

export function flowSpec(signal) {
  const options = templateOptions(signal);
  const c = {
    name: el("input", { id: "flow-name", name: "name", required: true, maxlength: "20", autocomplete: "off" }),
    comment: el("input", { id: "flow-comment", name: "comment", maxlength: "256", autocomplete: "off" }),
  };
  let steps = []; // [set, item] pairs, as the form shows them
  let editors = [];
  const list = el("div", { class: "flow-steps" });
  const add = el("button", { type: "button", text: "Add step" });
  const editor = advancedEditor("flow-task", "Media process task (JSON)", (task) => {
    steps = Object.entries(task).flatMap(([set, items]) => (Array.isArray(items) ? items : []).map((i) => [set, i]));
    redraw();
  }, () => {
    const task = {};
    for (const e of editors) {
      const [set, item] = e.read();
      (task[set] ??= []).push(item);
    }
    return task;
  });
  function redraw() {
    editors = steps.map(([set, item], i) => stepEditor(i + 1, set, item, options, () => {
      steps = editors.map((e) => { try { return e.read(); } catch { return null; } }).filter(Boolean);
      steps.splice(i, 1);
      redraw();
    }));
    list.replaceChildren(...editors.map((e) => e.node));
  }
  add.addEventListener("click", () => {
    steps = editors.map((e) => { try { return e.read(); } catch { return null; } }).filter(Boolean);
    steps.push(["TranscodeTaskSet", {}]);
    redraw();
    editors.at(-1).node.querySelector("select").focus();
  });
  editor.fields.className = "wide-form"; // one step under another, each a grid of its own
  editor.fields.append(list, el("div", { class: "row" }, add));
  return {
    key: "flows", title: "Task flows", noun: () => "task flow",
    intro: el("p", { class: "hint", text: "Named MediaProcessTasks (Tencent's procedure templates): "
      + "the steps to run on a media file, each naming a template by Definition." }),
    columns: ["Name", "Steps", "Comment"],
    cells: (f) => [el("code", { text: f.name }), f.steps.map((s) => `${s.kind} ${s.definition}`).join(", "),
      f.comment],
    label: (f) => f.name,
    system: () => false,
    list: (sig) => listAll("/v1/procedures", sig),
    controls: el("div", { class: "pv-fields" },
      field(c.name, "Name", { hint: "1-20 characters, no '/'" }),
      field(c.comment, "Comment", { hint: "at most 256 characters" }),
      el("div", { class: "pv-field wide" }, editor.node)),
    fill(item) {
      c.name.value = item ? item.name : "";
      c.name.readOnly = Boolean(item); // the API cannot rename a task flow
      c.comment.value = item ? item.comment : "";
      editor.set(item ? item.media_process_task : FLOW_EXAMPLE);
    },
    focus: (item) => (item ? c.comment : c.name),
    body: (item) => ({ ...(item ? {} : { name: c.name.value }), comment: c.comment.value,
      media_process_task: editor.value("Media process task") }),
    save: (item, body) => (item ? api("PUT", `/v1/procedures/${encodeURIComponent(item.name)}`, body)
      : api("POST", "/v1/procedures", body)),
    remove: (f) => api("DELETE", `/v1/procedures/${encodeURIComponent(f.name)}`),
  };
}
