// The Events page: the app's push callback, its recent push deliveries (with redeliver) and its
// recent events. It reads events only through GET /v1/events/recent: the pull (GET /v1/events)
// hands events out, and would take them from the app's own consumer.
//
// No refresh loop: the page reloads when asked (Refresh) and after its own actions. After a
// redeliver it checks back a few times with growing gaps until the attempt is recorded, then stops.
import { api, el } from "./api.js";

const DELIVERIES = 50;
const EVENTS = 25;
const WATCH_MS = [500, 1000, 2000, 4000, 8000];

function addStyles() {
  if (document.querySelector("link[data-events-css]")) return;
  document.head.append(el("link", { rel: "stylesheet", href: "/console/assets/events.css", "data-events-css": true }));
}

function relative(iso) {
  const s = Math.round((Date.parse(iso) - Date.now()) / 1000);
  if (s <= 0) return "due now";
  if (s < 90) return `in ${s} s`;
  if (s < 90 * 60) return `in ${Math.round(s / 60)} min`;
  return `in ${Math.round(s / 3600)} h`;
}

// A <time>: local date and time, or only the time of day if `short`; the exact UTC time as its title.
function time(iso, { withRelative = false, short = false } = {}) {
  if (!iso) return "–";
  const when = new Date(iso);
  const shown = short ? when.toLocaleTimeString() : when.toLocaleString();
  return el("time", { datetime: iso, title: iso }, withRelative ? `${shown} (${relative(iso)})` : shown);
}

function section(id, title, ...children) {
  return el("section", { class: "events-part", "aria-labelledby": id }, el("h2", { id, text: title }), ...children);
}

function table(labelId, columns, body) {
  return el("div", { class: "scroll" }, el("table", { "aria-labelledby": labelId },
    el("thead", {}, el("tr", {}, columns.map((h) => el("th", { scope: "col", text: h })))), body));
}

// A <details> whose open state survives re-rendering: `open` remembers the keys of the open ones.
function folded(open, key, summary, ...content) {
  const d = el("details", { open: open.has(key) },
    el("summary", { "data-key": `summary-${key}`, text: summary }), ...content);
  d.addEventListener("toggle", () => (d.open ? open.add(key) : open.delete(key)));
  return d;
}

// Replace a tbody's rows, keeping keyboard focus on the same control if it was inside.
function replaceRows(body, rows) {
  const key = body.contains(document.activeElement) ? document.activeElement.dataset.key : undefined;
  body.replaceChildren(...rows);
  if (key) body.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

function attemptLog(d, open) {
  if (!d.log.length) return String(d.attempts);
  return folded(open, `log-${d.id}`, d.attempts === 1 ? "1 attempt" : `${d.attempts} attempts`,
    el("ol", { class: "log" }, d.log.map((a) => el("li", {},
      time(a.at, { short: true }), ` · ${a.status === null ? "no response" : `HTTP ${a.status}`} · ${a.ms} ms`,
      a.error && a.error !== `HTTP ${a.status}` ? el("span", { class: "error", text: ` · ${a.error}` }) : null))));
}

function deliveryRow(d, open, redeliver) {
  return el("tr", { "data-delivery-id": String(d.id), "data-state": d.state },
    el("td", { class: "event" }, d.event_type, el("br"), el("code", { class: "id", text: d.event_id })),
    el("td", { class: "url" }, `${d.method} `, el("code", { text: d.url })),
    el("td", { class: "state-cell" }, el("span", { class: `state state-${d.state}`, text: d.state }),
      el("button", { type: "button", text: "Redeliver", "data-key": `redeliver-${d.id}`,
        "aria-label": `Redeliver delivery ${d.id} (${d.event_type} ${d.event_id})`, onclick: () => redeliver(d) })),
    el("td", { class: "attempts" }, attemptLog(d, open)),
    el("td", { class: "status", text: d.last_status ?? "–" }),
    el("td", { class: "last-error", text: d.last_error || "" }),
    el("td", { class: "next" }, time(d.next_attempt_at, { withRelative: true })));
}

function eventRow(e, open) {
  const pulled = e.confirmed_at ? "confirmed" : e.pulls ? `pulled ×${e.pulls}` : "not pulled";
  return el("tr", { "data-event-id": e.event_id },
    el("td", { text: e.type }),
    el("td", {}, time(e.created_at)),
    el("td", {}, el("code", { class: "id", text: e.event_id })),
    el("td", { text: pulled }),
    el("td", { class: "payload" }, folded(open, `payload-${e.event_id}`, "JSON",
      el("pre", { text: JSON.stringify(e.payload, null, 2) }))));
}

function callbackPart(run) {
  const current = el("p", { class: "current" });
  const secret = el("div");
  const url = el("input", { id: "cb-url", name: "url", type: "url", autocomplete: "off",
    placeholder: "https://example.com/openvod-hook", "aria-describedby": "cb-help" });
  const method = el("select", { id: "cb-method", name: "method" },
    ["POST", "PUT"].map((m) => el("option", { value: m, text: m })));
  const error = el("p", { class: "error", role: "alert" });
  const clear = el("button", { type: "button", class: "danger", text: "Stop pushing" });

  function show(cb) {
    current.replaceChildren(cb.url ? "Pushing to " : "Not set: events are only available by pull.",
      cb.url ? el("code", { text: `${cb.method} ${cb.url}` }) : "");
    if (cb.url) { url.value = cb.url; method.value = cb.method; }
    clear.hidden = !cb.url;
    secret.replaceChildren(cb.secret ? el("details", {}, el("summary", { text: "Signing secret" }),
      el("p", {}, "Verify each push's OpenVOD-Signature header with ", el("code", { class: "id", text: cb.secret }))) : "");
  }
  async function change(call) {
    error.textContent = "";
    try { show(await run(call)); } catch (err) { if (err.name !== "AbortError") error.textContent = err.message; }
  }
  const form = el("form", { class: "callback", novalidate: true },
    el("div", { class: "field url-field" }, el("label", { for: "cb-url", text: "Callback URL" }), url),
    el("div", { class: "field" }, el("label", { for: "cb-method", text: "Method" }), method),
    el("button", { type: "submit", text: "Save callback" }), clear);
  // novalidate: the server's checks (scheme, allowlist, link-local) say more than the browser's.
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!url.value.trim()) {
      error.textContent = "Enter a callback URL, or use Stop pushing to clear it.";
      url.focus();
      return;
    }
    change((signal) => api("PUT", "/v1/app/callback", { url: url.value.trim(), method: method.value }, { signal }));
  });
  clear.addEventListener("click", () => change((signal) => api("DELETE", "/v1/app/callback", undefined, { signal })));
  const part = section("events-callback", "Push callback", current,
    el("p", { id: "cb-help", class: "help",
      text: "Each event is sent as a signed JSON request to this URL and retried with backoff until it gets a 2xx." }),
    form, error, secret);
  return { part, load: () => change((signal) => api("GET", "/v1/app/callback", undefined, { signal })) };
}

export async function showEvents(view) {
  addStyles();
  let stopped = false;
  const inflight = new Set();
  let watchTimer = null;
  const root = el("div", { class: "events" });
  const openLogs = new Set();
  const openPayloads = new Set();

  // Every request of the page goes through run(), so leaving the page aborts them.
  async function run(call) {
    const ctl = new AbortController();
    inflight.add(ctl);
    try { return await call(ctl.signal); } finally { inflight.delete(ctl); }
  }
  const live = () => !stopped && root.isConnected;

  const callback = callbackPart(run);

  const state = el("select", { id: "delivery-state" }, ["", "pending", "done", "failed"].map(
    (s) => el("option", { value: s, text: s || "any" })));
  const deliveryBody = el("tbody");
  const deliveryError = el("p", { class: "error", role: "alert" });
  const deliveryNote = el("p", { class: "help" });

  const eventBody = el("tbody");
  const eventError = el("p", { class: "error", role: "alert" });
  const eventNote = el("p", { class: "help" });
  const older = el("button", { type: "button", text: "Load older events", hidden: true });
  let marker = null;

  const status = el("p", { role: "status", class: "help" });
  const refresh = el("button", { type: "button", text: "Refresh" });

  // Loads may overlap (Refresh, a redeliver's check-backs); only the latest one is shown.
  let deliverySeq = 0;
  let eventSeq = 0;

  async function loadDeliveries() {
    const seq = ++deliverySeq;
    const q = new URLSearchParams({ limit: String(DELIVERIES) });
    if (state.value) q.set("state", state.value);
    try {
      const data = await run((signal) => api("GET", `/v1/events/deliveries?${q}`, undefined, { signal }));
      if (!live() || seq !== deliverySeq) return data.items;
      deliveryError.textContent = "";
      replaceRows(deliveryBody, data.items.map((d) => deliveryRow(d, openLogs, redeliver)));
      deliveryNote.textContent = data.items.length ? "" : "No deliveries yet. Set a callback URL to have events pushed.";
      return data.items;
    } catch (err) {
      if (live() && seq === deliverySeq) deliveryError.textContent = `Could not load deliveries: ${err.message}`;
      return null;
    }
  }

  async function loadEvents(more = false) {
    const seq = ++eventSeq;
    const q = new URLSearchParams({ limit: String(EVENTS) });
    if (more && marker) q.set("marker", marker);
    try {
      const data = await run((signal) => api("GET", `/v1/events/recent?${q}`, undefined, { signal }));
      if (!live() || seq !== eventSeq) return;
      eventError.textContent = "";
      const rows = data.items.map((e) => eventRow(e, openPayloads));
      if (more) eventBody.append(...rows); else replaceRows(eventBody, rows);
      marker = data.next_marker;
      older.hidden = !marker;
      eventNote.textContent = eventBody.children.length ? "" : "No events yet.";
    } catch (err) {
      if (live() && seq === eventSeq) eventError.textContent = `Could not load events: ${err.message}`;
    }
  }

  async function reload() {
    await Promise.all([loadDeliveries(), loadEvents()]);
    if (live()) status.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  }

  // After a redeliver the dispatcher sends at once; look again until the attempt is recorded.
  function watch(id, attempts, step = 0) {
    clearTimeout(watchTimer);
    if (!live() || step >= WATCH_MS.length) return;
    watchTimer = setTimeout(async () => {
      const items = await loadDeliveries();
      const d = items && items.find((x) => x.id === id);
      if (d && d.state === "pending" && d.attempts <= attempts) watch(id, attempts, step + 1);
    }, WATCH_MS[step]);
  }

  // The button stays enabled (a disabled button drops keyboard focus); a second click while the
  // first is on its way is ignored.
  const redelivering = new Set();
  async function redeliver(d) {
    if (redelivering.has(d.id)) return;
    redelivering.add(d.id);
    deliveryError.textContent = "";
    try {
      await run((signal) => api("POST", `/v1/events/deliveries/${d.id}/redeliver`, undefined, { signal }));
      await loadDeliveries();
      watch(d.id, d.attempts);
    } catch (err) {
      if (live()) deliveryError.textContent = `Redeliver of delivery ${d.id} failed: ${err.message}`;
    } finally { redelivering.delete(d.id); }
  }

  refresh.addEventListener("click", reload);
  state.addEventListener("change", loadDeliveries);
  older.addEventListener("click", () => loadEvents(true));

  root.append(
    el("div", { class: "row heading" }, el("h1", { text: "Events" }), refresh, status),
    callback.part,
    section("events-deliveries", "Deliveries",
      el("div", { class: "row" }, el("label", { for: "delivery-state", text: "State" }), state),
      deliveryError,
      table("events-deliveries", ["Event (type, ID)", "URL", "State", "Attempts", "Response", "Last error",
        "Next retry"], deliveryBody),
      deliveryNote),
    section("events-recent", "Recent events", eventError,
      table("events-recent", ["Type", "Time", "Event ID", "Pull", "Payload"], eventBody), eventNote, older));
  view.append(root);
  await Promise.all([callback.load(), reload()]);
  return () => {
    stopped = true;
    clearTimeout(watchTimer);
    for (const ctl of inflight) ctl.abort();
  };
}
