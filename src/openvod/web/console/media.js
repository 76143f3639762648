// One media file: the player (the /play page in a frame: hls.js or MP4, the cover as poster, sprite
// scrub previews), its details, sharing and subtitles (media_manage.js), metadata, outputs, and
// processing history with per-step status, live.
import { api, el, errorText, fmtBytes, fmtDuration, progressBar, watchTasks } from "./api.js";
import { actionsRow, detailsPanel, sharingPanel, subtitlesPanel } from "./media_manage.js";
import { perTitleTables } from "./pv_per_title.js";

const RESULT_FIELDS = ["TranscodeTask", "AnimatedGraphicTask", "SnapshotByTimeOffsetTask", "SampleSnapshotTask",
  "ImageSpriteTask", "CoverBySnapshotTask", "AdaptiveDynamicStreamingTask"];

function kv(caption, rows) {
  return el("table", { class: "kv" }, el("caption", { text: caption }),
    el("tbody", {}, rows.filter(([, v]) => v !== undefined && v !== null && v !== "").map(([k, v]) =>
      el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: String(v) })))));
}

function kbps(bps) {
  return bps ? `${Math.round(bps / 1000)} kb/s` : undefined;
}

function metadataTables(m) {
  const md = m.metadata || {};
  const tables = [kv("Metadata", [
    ["File ID", m.file_id], ["State", m.state], ["Type", m.media_type], ["Duration", md.Duration ? fmtDuration(md.Duration) : "–"],
    ["Size", fmtBytes(md.Size ?? (m.source && m.source.size))], ["Container", md.Container],
    ["Bitrate", kbps(md.Bitrate)], ["Dimensions", md.Width ? `${md.Width}×${md.Height}` : undefined],
    ["Rotation", md.Rotate ? `${md.Rotate}°` : undefined], ["Class", m.class_id], ["Description", m.description],
    ["Task flow", m.procedure], ["Created", new Date(m.created_at).toLocaleString()],
    ["Expires", m.expire_at ? new Date(m.expire_at).toLocaleString() : undefined]])];
  (md.VideoStreamSet || []).forEach((v, i) => tables.push(kv(`Video stream ${i + 1}`, [
    ["Codec", v.Codec], ["Size", v.Width ? `${v.Width}×${v.Height}` : undefined], ["Frame rate", v.Fps],
    ["Bitrate", kbps(v.Bitrate)]])));
  (md.AudioStreamSet || []).forEach((a, i) => tables.push(kv(`Audio stream ${i + 1}`, [
    ["Codec", a.Codec], ["Sample rate", a.SamplingRate ? `${a.SamplingRate} Hz` : undefined],
    ["Bitrate", kbps(a.Bitrate)]])));
  if (m.probe_error) {
    tables.push(el("p", { class: "error", text: `Not a media file (${m.probe_error.code}): ${m.probe_error.message}` }));
  }
  return tables;
}

function outputList(m) {
  const list = el("ul", { class: "outputs", "aria-label": "Outputs" });
  for (const [kind, items] of Object.entries(m.outputs || {})) {
    for (const o of Array.isArray(items) ? items : [items]) {
      if (!o || !o.url) continue;
      const label = `${kind}${o.definition !== undefined ? ` ${o.definition}` : ""}`;
      list.append(el("li", {}, el("a", { href: o.url, text: label }), ` ${fmtBytes(o.size)}`,
        o.width ? ` · ${o.width}×${o.height}` : ""));
    }
  }
  if (m.source && m.source.url) list.append(el("li", {}, el("a", { href: m.source.url, text: "source" }), ` ${fmtBytes(m.source.size)}`));
  if (!list.children.length) list.append(el("li", { text: "No outputs yet." }));
  return list;
}

function player(m) {
  const frame = el("iframe", { class: "player-frame", src: m.play_url || `/play/${encodeURIComponent(m.file_id)}`,
    title: `Player: ${m.name || m.file_id}`, allow: "fullscreen; autoplay", allowfullscreen: true });
  // The framed player reports its height (static/player.js), so it fits without scroll bars.
  const onMessage = (ev) => {
    if (ev.origin !== location.origin || ev.source !== frame.contentWindow) return;
    const h = ev.data && ev.data.openvodPlayerHeight;
    if (Number.isFinite(h) && h > 0) frame.style.height = `${Math.ceil(h)}px`;
  };
  window.addEventListener("message", onMessage);
  return { frame, leave: () => window.removeEventListener("message", onMessage) };
}

function stepRows(task, detail, onRetry) {
  const results = (detail.ProcedureTask && detail.ProcedureTask.MediaProcessResultSet) || [];
  return results.map((r, index) => {
    const body = RESULT_FIELDS.map((f) => r[f]).find(Boolean) || {};
    const definition = body.Input && body.Input.Definition;
    const failed = body.Status === "FAIL";
    return el("tr", { "data-step": String(index), "data-status": body.Status || "" },
      el("td", { text: `${r.Type}${definition !== undefined && definition !== null ? ` ${definition}` : ""}` }),
      el("td", {}, el("span", { class: `state state-${(body.Status || "").toLowerCase()}`, text: body.Status || "–" })),
      el("td", { class: "nowrap" }, progressBar(body.Progress || 0, `Progress of ${r.Type} step ${index + 1}`)),
      el("td", { class: failed ? "error" : "", text: failed ? `${body.ErrCodeExt || body.ErrCode}: ${body.Message}` : "" }),
      el("td", {}, failed && task.state !== "exec" && task.state !== "init"
        ? el("button", { type: "button", text: "Run again", "aria-label": `Run step ${index + 1} (${r.Type}) again`,
          onclick: () => onRetry(index) })
        : null));
  });
}

function historyItem(task, detail, onRetry, open) {
  const title = `${task.procedure ? `Flow ${task.procedure}` : "Processing"} · ${task.state} · ${new Date(task.created_at).toLocaleString()}`;
  return el("details", { class: "history", "data-task-id": task.task_id, "data-state": task.state, open },
    el("summary", {}, title, " ", progressBar(Math.floor(task.progress || 0), `Progress of task ${task.task_id}`)),
    task.error ? el("p", { class: "error", text: `${task.error.code}: ${task.error.message}` }) : null,
    el("div", { class: "scroll" }, el("table", { class: "steps" },
      el("caption", { class: "sr-only", text: `Steps of task ${task.task_id}` }),
      el("thead", {}, el("tr", {}, ["Step", "Status", "Progress", "Message", ""].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, stepRows(task, detail, onRetry)))),
    perTitleTables(detail));
}

export async function showMedia(view, fileId) {
  const path = `/v1/media/${encodeURIComponent(fileId)}`;
  let m = await api("GET", path);
  const { frame, leave } = player(m);
  const meta = el("div", { class: "tables" }, metadataTables(m));
  const outputs = el("div", {}, outputList(m));
  const history = el("div", { class: "history-list" });
  const alert = el("p", { class: "error", role: "alert" });
  const flow = el("select", { id: "run-flow", required: true }, el("option", { value: "", text: "Choose a flow" }));
  const runForm = el("form", { class: "row", "aria-label": "Run a task flow",
    onsubmit: async (ev) => {
      ev.preventDefault();
      alert.textContent = "";
      if (!flow.value) return;
      try { await api("POST", `${path}/procedures/${encodeURIComponent(flow.value)}`, {}); }
      catch (err) { alert.textContent = errorText(err); }
    } },
  el("label", { for: "run-flow", text: "Task flow" }), flow, el("button", { type: "submit", text: "Run flow" }));

  const retry = (taskId) => async (index) => {
    alert.textContent = "";
    try { await api("POST", `/v1/tasks/${taskId}/steps/${index}/retry`); } catch (err) { alert.textContent = errorText(err); }
  };
  let lastStates = null;
  async function renderHistory(page) {
    const details = await Promise.all(page.items.map((t) => api("GET", `/v1/tasks/${t.task_id}/detail`).catch(() => ({}))));
    const open = new Set([...history.querySelectorAll("details[open]")].map((d) => d.dataset.taskId));
    history.replaceChildren(...page.items.map((t, i) =>
      historyItem(t, details[i], retry(t.task_id), open.has(t.task_id) || (i === 0 && lastStates === null))));
    if (!page.items.length) history.append(el("p", { text: "No processing yet." }));
    // A task finished: its outputs (and perhaps the cover) changed.
    const states = page.items.map((t) => t.state).join();
    if (lastStates !== null && states !== lastStates) {
      m = await api("GET", path);
      outputs.replaceChildren(outputList(m));
      meta.replaceChildren(...metadataTables(m));
    }
    lastStates = states;
  }
  const watch = watchTasks(() => new URLSearchParams({ file_id: m.file_id, order: "desc", limit: "20" }),
    renderHistory, (err) => { alert.textContent = errorText(err); });

  const title = el("h1", { text: m.name || m.file_id });
  const saved = (fresh) => {
    m = fresh;
    title.textContent = m.name || m.file_id;
    meta.replaceChildren(...metadataTables(m));
  };
  const reloadPlayer = () => { frame.src = frame.src; };
  view.append(title, actionsRow(m, path), frame,
    el("p", {}, el("a", { href: m.play_url || `/play/${encodeURIComponent(m.file_id)}`, text: "Open the player page" })),
    el("div", { class: "dash-cols" }, detailsPanel(m, path, saved), sharingPanel(m, path)),
    subtitlesPanel(m, path, reloadPlayer),
    el("h2", { text: "Metadata" }), meta,
    el("details", { class: "probe" }, el("summary", { text: "Probe JSON" }), el("pre", { text: JSON.stringify(m.probe, null, 2) })),
    el("h2", { text: "Outputs" }), outputs,
    el("h2", { text: "Processing" }), runForm, alert, history);
  try {
    const flows = await api("GET", "/v1/procedures");
    for (const p of flows.items) flow.append(el("option", { value: p.name, text: p.name }));
  } catch (err) { alert.textContent = errorText(err); }
  return () => { watch.stop(); leave(); };
}
