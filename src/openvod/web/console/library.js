// The library: media as a grid of cards or a list, search by name, filter by class and date,
// sort, paging, select and delete; the app's total count and storage used above.
import { api, el, errorText, fmtBytes, fmtDuration, watchTasks } from "./api.js";

const VIEW_KEY = "openvod.library.view";
// Media per page: 24, or 1-100 stored under this key (the console tests page a small library).
const PAGE_KEY = "openvod.library.pageSize";
// The server sorts the whole library (GET /v1/media?sort=&order=) and pages it by marker; media
// without a size or duration come last.
const SORTS = {
  "date-desc": ["Date, newest first", "created", "desc"],
  "date-asc": ["Date, oldest first", "created", "asc"],
  name: ["Name", "name", "asc"],
  size: ["Size, largest first", "size", "desc"],
  duration: ["Duration, longest first", "duration", "desc"],
};

function pageSize() {
  const n = Number(localStorage.getItem(PAGE_KEY));
  return Number.isInteger(n) && n >= 1 && n <= 100 ? n : 24;
}

function size(m) {
  return (m.metadata && m.metadata.Size) ?? (m.source && m.source.size) ?? 0;
}

function day(m) {
  return new Date(m.created_at).toLocaleDateString();
}

function badge(m) {
  if (m.media_type !== "unknown") return null;
  return el("span", { class: "badge-unknown", title: (m.probe_error && m.probe_error.message) || "the file could not be read as audio or video",
    text: "not a media file" });
}

function checkbox(m, selected) {
  return el("input", { type: "checkbox", "aria-label": `Select ${m.name}`, checked: selected.has(m.file_id),
    onchange: (ev) => { if (ev.target.checked) selected.add(m.file_id); else selected.delete(m.file_id); } });
}

function nameLink(m) {
  return el("a", { href: `#/media/${encodeURIComponent(m.file_id)}`, class: "name", text: m.name || m.file_id });
}

function card(m, selected) {
  const out = m.outputs || {};
  const cover = m.cover_url || (out.cover && out.cover[0] && out.cover[0].url);
  const anim = out.animated_graphics && out.animated_graphics[0] && out.animated_graphics[0].url;
  const img = cover || anim
    ? el("img", { src: cover || anim, alt: "", loading: "lazy", class: "thumb" })
    : el("div", { class: "thumb none", "aria-hidden": "true", text: m.media_type === "unknown" ? "no preview" : "no cover" });
  const li = el("li", { class: "card", "data-file-id": m.file_id },
    img,
    el("div", { class: "meta" }, checkbox(m, selected), nameLink(m), badge(m),
      el("span", { class: `state state-${m.state}`, text: m.state })),
    el("div", { class: "facts" },
      el("span", { class: "dur", title: "Duration", text: fmtDuration(m.metadata && m.metadata.Duration) }),
      el("span", { class: "size", title: "Size", text: fmtBytes(size(m)) }),
      el("time", { class: "date", datetime: m.created_at, title: new Date(m.created_at).toLocaleString(), text: day(m) })));
  if (anim && img.tagName === "IMG") {
    // The animated preview plays while the pointer (or keyboard focus) is on the card.
    const still = img.src;
    const on = () => { img.src = anim; };
    const off = () => { img.src = still; };
    img.dataset.preview = anim;
    li.addEventListener("mouseenter", on); li.addEventListener("mouseleave", off);
    li.addEventListener("focusin", on); li.addEventListener("focusout", off);
  }
  return li;
}

function listRow(m, selected) {
  return el("tr", { class: "item", "data-file-id": m.file_id },
    el("td", {}, checkbox(m, selected)),
    el("td", { class: "name" }, nameLink(m), " ", badge(m)),
    el("td", { class: "num size", text: fmtBytes(size(m)) }),
    el("td", { class: "num dur", text: fmtDuration(m.metadata && m.metadata.Duration) }),
    el("td", { class: "date" }, el("time", { datetime: m.created_at, text: new Date(m.created_at).toLocaleString() })),
    el("td", {}, el("span", { class: `state state-${m.state}`, text: m.state })));
}

// A label kept beside its field, even on a phone.
function field(label, control) {
  return el("span", { class: "field" }, el("label", { for: control.id, text: label }), control);
}

export async function showLibrary(view) {
  const selected = new Set();
  const markers = [""]; // the marker of each page seen, to go back
  let page = 0;
  let items = [];
  let mode = localStorage.getItem(VIEW_KEY) === '"list"' ? "list" : "grid"; // JSON, like tus's entries
  const grid = el("ul", { class: "grid", "aria-label": "Media" });
  const rows = el("tbody");
  const table = el("div", { class: "scroll" }, el("table", { class: "lib-table", "aria-label": "Media" },
    el("thead", {}, el("tr", {}, ["Select", "Name", "Size", "Duration", "Created", "State"].map((h, i) =>
      el("th", { scope: "col", class: i === 2 || i === 3 ? "num" : null }, i === 0 ? el("span", { class: "sr-only", text: h }) : h)))),
    rows));
  const status = el("p", { role: "status" });
  const summary = el("p", { class: "lib-summary", id: "lib-summary" });
  const search = el("input", { type: "search", id: "lib-search", name: "name" });
  const klass = el("input", { type: "number", id: "lib-class", name: "class_id", min: "0", inputmode: "numeric" });
  const from = el("input", { type: "date", id: "lib-from", name: "from" });
  const to = el("input", { type: "date", id: "lib-to", name: "to" });
  const sort = el("select", { id: "lib-sort", name: "sort" },
    Object.entries(SORTS).map(([k, [label]]) => el("option", { value: k, text: label })));
  const prev = el("button", { type: "button", text: "Previous page", disabled: true });
  const next = el("button", { type: "button", text: "Next page", disabled: true });
  const gridButton = el("button", { type: "button", text: "Grid" });
  const listButton = el("button", { type: "button", text: "List" });

  function draw() {
    grid.replaceChildren(...items.map((m) => card(m, selected)));
    rows.replaceChildren(...items.map((m) => listRow(m, selected)));
    grid.hidden = mode !== "grid";
    table.hidden = mode !== "list";
    gridButton.setAttribute("aria-pressed", String(mode === "grid"));
    listButton.setAttribute("aria-pressed", String(mode === "list"));
  }

  async function loadSummary() {
    const s = await api("GET", "/v1/stats");
    summary.textContent = `${s.media_count} media · ${fmtBytes(s.storage_bytes)} used`;
    summary.dataset.count = String(s.media_count);
  }

  let latest = 0; // the newest load: an older answer arriving after it (a click, then a sort change) is dropped
  async function load() {
    const mine = ++latest;
    const [, by, order] = SORTS[sort.value];
    const q = new URLSearchParams({ limit: String(pageSize()), sort: by, order });
    if (markers[page]) q.set("marker", markers[page]);
    if (search.value.trim()) q.set("name", search.value.trim());
    if (klass.value !== "") q.set("class_id", klass.value);
    if (from.value) q.set("created_from", `${from.value}T00:00:00Z`);
    if (to.value) q.set("created_to", `${to.value}T23:59:59.999Z`);
    const [data] = await Promise.all([api("GET", `/v1/media?${q}`), loadSummary()]);
    if (mine !== latest) return;
    items = data.items;
    draw();
    status.textContent = data.items.length ? "" : "No media.";
    if (data.next_marker) markers[page + 1] = data.next_marker;
    next.disabled = !data.next_marker;
    prev.disabled = page === 0;
  }
  const run = (f) => async () => { try { await f(); } catch (err) { status.textContent = errorText(err); } };
  prev.addEventListener("click", run(async () => { page -= 1; await load(); }));
  next.addEventListener("click", run(async () => { page += 1; await load(); }));
  // A marker belongs to its sort: another sort starts again at its first page.
  const restart = () => { page = 0; markers.length = 1; run(load)(); };
  sort.addEventListener("change", restart);
  for (const [button, which] of [[gridButton, "grid"], [listButton, "list"]]) {
    button.addEventListener("click", () => { mode = which; localStorage.setItem(VIEW_KEY, JSON.stringify(which)); draw(); });
  }
  const form = el("form", { role: "search", class: "row",
    onsubmit: (ev) => { ev.preventDefault(); restart(); } },
    field("Search by name", search), field("Class", klass), field("Created from", from), field("to", to),
    el("button", { type: "submit", text: "Search" }));
  const del = el("button", { type: "button", class: "danger", text: "Delete selected",
    onclick: run(async () => {
      if (!selected.size || !confirm(`Delete ${selected.size} media?`)) return;
      for (const id of [...selected]) {
        await api("DELETE", `/v1/media/${encodeURIComponent(id)}`);
        selected.delete(id);
      }
      await load();
    }) });
  view.append(el("h1", { text: "Library" }), summary, form,
    el("div", { class: "row" }, field("Sort by", sort),
      el("span", { class: "view-switch row", role: "group", "aria-label": "View" }, gridButton, listButton), del),
    status, grid, table, el("nav", { class: "row", "aria-label": "Pages" }, prev, next));
  draw(); // the chosen view, empty, while the first page loads
  await load();
  // Covers and previews come from processing: redraw when a recent task starts or finishes, so a
  // cover shows up once its flow is done (the task list is long-polled; no timer).
  let states = null;
  const watch = watchTasks(() => new URLSearchParams({ limit: "20", order: "desc" }), async (data) => {
    const now = data.items.map((t) => `${t.task_id}:${t.state}`).join();
    if (states !== null && now !== states) await run(load)();
    states = now;
  }, (err) => { status.textContent = errorText(err); });
  return () => watch.stop();
}
