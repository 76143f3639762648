// The library: a grid of media, search by name, filter by class and date, paging, select and delete.
import { api, el, errorText, fmtDuration, watchTasks } from "./api.js";

const PAGE = 24;

function card(m, selected) {
  const out = m.outputs || {};
  const cover = m.cover_url || (out.cover && out.cover[0] && out.cover[0].url);
  const anim = out.animated_graphics && out.animated_graphics[0] && out.animated_graphics[0].url;
  const img = cover || anim
    ? el("img", { src: cover || anim, alt: "", loading: "lazy", class: "thumb" })
    : el("div", { class: "thumb none", "aria-hidden": "true", text: "no cover" });
  const check = el("input", { type: "checkbox", "aria-label": `Select ${m.name}`, checked: selected.has(m.file_id),
    onchange: (ev) => { if (ev.target.checked) selected.add(m.file_id); else selected.delete(m.file_id); } });
  const li = el("li", { class: "card", "data-file-id": m.file_id },
    img,
    el("div", { class: "meta" },
      check,
      el("a", { href: `#/media/${encodeURIComponent(m.file_id)}`, class: "name", text: m.name || m.file_id }),
      el("span", { class: "dur", text: fmtDuration(m.metadata && m.metadata.Duration) }),
      el("span", { class: `state state-${m.state}`, text: m.state })));
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

export async function showLibrary(view) {
  const selected = new Set();
  const markers = [""]; // the marker of each page seen, to go back
  let page = 0;
  const grid = el("ul", { class: "grid", "aria-label": "Media" });
  const status = el("p", { role: "status" });
  const search = el("input", { type: "search", id: "lib-search", name: "name" });
  const klass = el("input", { type: "number", id: "lib-class", name: "class_id", min: "0", inputmode: "numeric" });
  const from = el("input", { type: "date", id: "lib-from", name: "from" });
  const to = el("input", { type: "date", id: "lib-to", name: "to" });
  const prev = el("button", { type: "button", text: "Previous page", disabled: true });
  const next = el("button", { type: "button", text: "Next page", disabled: true });

  async function load() {
    const q = new URLSearchParams({ limit: String(PAGE), marker: markers[page] });
    if (search.value.trim()) q.set("name", search.value.trim());
    if (klass.value !== "") q.set("class_id", klass.value);
    if (from.value) q.set("created_from", `${from.value}T00:00:00Z`);
    if (to.value) q.set("created_to", `${to.value}T23:59:59.999Z`);
    const data = await api("GET", `/v1/media?${q}`);
    grid.replaceChildren(...data.items.map((m) => card(m, selected)));
    status.textContent = data.items.length ? "" : "No media.";
    if (data.next_marker) markers[page + 1] = data.next_marker;
    next.disabled = !data.next_marker;
    prev.disabled = page === 0;
  }
  const run = (f) => async () => { try { await f(); } catch (err) { status.textContent = errorText(err); } };
  prev.addEventListener("click", run(async () => { page -= 1; await load(); }));
  next.addEventListener("click", run(async () => { page += 1; await load(); }));
  const form = el("form", { role: "search", class: "row",
    onsubmit: (ev) => { ev.preventDefault(); page = 0; markers.length = 1; run(load)(); } },
    el("label", { for: "lib-search", text: "Search by name" }), search,
    el("label", { for: "lib-class", text: "Class" }), klass,
    el("label", { for: "lib-from", text: "Created from" }), from,
    el("label", { for: "lib-to", text: "to" }), to,
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
  view.append(el("h1", { text: "Library" }), form, el("div", { class: "row" }, del), status, grid,
    el("nav", { class: "row", "aria-label": "Pages" }, prev, next));
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
