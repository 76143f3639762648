// The dashboard (the first page after sign-in): the app's media and storage, tasks by state,
// processing minutes per day as an SVG bar chart drawn here, and the week's latest failures.
// Numbers come from GET /v1/stats, read again when the task list changes (long-poll, no timer).
import { api, el, errorText, fmtBytes, watchTasks } from "./api.js";

const SVG = "http://www.w3.org/2000/svg";
const STATES = [["init", "Queued"], ["exec", "Running"], ["succ", "Succeeded"], ["fail", "Failed"],
  ["canceled", "Canceled"]];

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const c of children) node.append(c);
  return node;
}

function weekday(date) {
  return new Date(`${date}T00:00:00Z`).toLocaleDateString(undefined, { weekday: "short", timeZone: "UTC" });
}

// Minutes per day as bars; the summary is the image's accessible name, each bar has a tooltip.
function chart(days) {
  const W = 560; const H = 200; const left = 36; const bottom = 24; const top = 16;
  const max = Math.max(1, ...days.map((d) => d.minutes));
  const step = (W - left) / days.length;
  const summary = days.map((d) => `${weekday(d.date)} ${d.minutes} min`).join(", ");
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img",
    "aria-label": `Processing minutes per day, last 7 days: ${summary}` });
  root.append(svg("line", { x1: left, y1: H - bottom, x2: W, y2: H - bottom, class: "axis" }));
  root.append(svg("text", { x: 2, y: top, "aria-hidden": "true" }, document.createTextNode(`${max} min`)));
  days.forEach((d, i) => {
    const h = ((H - bottom - top) * d.minutes) / max;
    const x = left + i * step + step * 0.15;
    const rect = svg("rect", { x, y: H - bottom - h, width: step * 0.7, height: Math.max(h, d.minutes ? 1 : 0),
      class: "bar-rect", "data-date": d.date, "data-minutes": d.minutes },
    svg("title", {}, document.createTextNode(`${d.date}: ${d.minutes} min, ${d.steps} steps`)));
    root.append(rect, svg("text", { x: x + step * 0.35, y: H - 6, "text-anchor": "middle", "aria-hidden": "true" },
      document.createTextNode(weekday(d.date))));
  });
  return root;
}

function tile(stat, label, value, small) {
  return el("div", { class: "tile" }, el("dt", { text: label }),
    el("dd", { "data-stat": stat }, el("span", { class: "value", text: value }), small ? el("small", { text: small }) : null));
}

function render(s) {
  const tiles = el("dl", { class: "tiles", "aria-label": "This app at a glance" },
    tile("media_count", "Media", String(s.media_count)),
    tile("storage_bytes", "Storage used", fmtBytes(s.storage_bytes), `sources ${fmtBytes(s.source_bytes)}`),
    tile("encoding_minutes_today", "Encoding minutes today", String(s.encoding_minutes_today), "UTC day"),
    tile("encoding_minutes_week", "Encoding minutes, last 7 days", String(s.encoding_minutes_week)));
  tiles.querySelector('[data-stat="storage_bytes"]').dataset.value = String(s.storage_bytes);
  const states = el("table", { class: "dash-states" }, el("caption", { text: "Tasks by state" }),
    el("tbody", {}, STATES.map(([key, label]) => el("tr", { "data-state": key },
      el("th", { scope: "row" }, el("span", { class: `state state-${key}`, text: label })),
      el("td", { class: "num", text: String(s.tasks_by_state[key] ?? 0) })))));
  const failures = s.recent_failures.length
    ? el("ul", { class: "failures", "aria-label": "Recent failures" }, s.recent_failures.map((f) => el("li",
      { "data-task-id": f.task_id },
      el("code", { title: f.task_id, text: f.task_id.slice(0, 12) }), ` ${f.procedure ? `flow ${f.procedure}` : f.kind} `,
      f.file_id ? el("a", { href: `#/media/${encodeURIComponent(f.file_id)}`, text: f.file_id }) : null,
      ` · ${new Date(f.finished_at || f.created_at).toLocaleString()}`,
      el("span", { class: "msg", text: `${f.error.code}: ${f.error.message}` }))))
    : el("p", { text: "No failed tasks in the last 7 days." });
  return [el("p", { class: "hint", text: `App ${s.app_name} (${s.app_id})` }), tiles,
    el("div", { class: "dash-cols" },
      el("section", { "aria-labelledby": "dash-chart-h" }, el("h2", { id: "dash-chart-h", text: "Processing per day" }),
        chart(s.days)),
      el("section", { "aria-labelledby": "dash-states-h" }, el("h2", { id: "dash-states-h", text: "Tasks" }), states)),
    el("section", { "aria-labelledby": "dash-fail-h" },
      el("h2", { id: "dash-fail-h", text: "Recent failures" }), failures)];
}

export async function showDashboard(view) {
  const body = el("div", { class: "dashboard", "aria-busy": "true" });
  const alert = el("p", { class: "error", role: "alert" });
  view.append(el("h1", { text: "Dashboard" }), alert, body);
  async function load() {
    body.setAttribute("aria-busy", "true");
    const s = await api("GET", "/v1/stats");
    body.replaceChildren(...render(s));
    body.dataset.now = s.now;
    body.setAttribute("aria-busy", "false");
  }
  await load();
  let first = true;
  const watch = watchTasks(() => new URLSearchParams({ limit: "20", order: "desc" }), async () => {
    if (first) { first = false; return; }
    try { await load(); alert.textContent = ""; } catch (err) { alert.textContent = errorText(err); }
  }, (err) => { alert.textContent = errorText(err); });
  return () => watch.stop();
}
