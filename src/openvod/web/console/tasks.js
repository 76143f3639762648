// The live task list: newest first, kept current by long-polling (api.js watchTasks) — no timers.
import { api, el, errorText, fmtDuration, progressBar, watchTasks } from "./api.js";

const PAGE = 50;

// Seconds left for a running task, from how long it has run and how far it got.
export function eta(task, now) {
  if (task.state !== "exec" || !task.started_at || !(task.progress > 0) || task.progress >= 100) return null;
  const elapsed = (Date.parse(now) - Date.parse(task.started_at)) / 1000;
  return elapsed > 0 ? (elapsed * (100 - task.progress)) / task.progress : null;
}

function day(input) {
  return input.value ? input.value.replaceAll("-", "") : "";
}

function taskRow(t, now, act) {
  const live = t.state === "init" || t.state === "exec";
  const left = eta(t, now);
  const subject = t.file_id ? el("a", { href: `#/media/${encodeURIComponent(t.file_id)}`, text: t.file_id }) : t.preset || "";
  return el("tr", { "data-task-id": t.task_id, "data-state": t.state },
    el("td", {}, el("code", { title: t.task_id, text: t.task_id.slice(0, 12) }), " ", t.kind, " ", subject),
    el("td", {}, el("span", { class: `state state-${t.state}`, text: t.state })),
    el("td", { class: "nowrap" }, progressBar(Math.floor(t.progress || 0), `Progress of task ${t.task_id}`),
      el("span", { class: "pct", text: ` ${Math.floor(t.progress || 0)}%` })),
    el("td", { class: "queue", text: t.queue_position ?? "–" }),
    el("td", { class: "eta", text: left === null ? "–" : `${fmtDuration(left)} left` }),
    el("td", { text: new Date(t.created_at).toLocaleString() }),
    el("td", { class: "error", text: t.error ? `${t.error.code}: ${t.error.message}` : "" }),
    el("td", { class: "nowrap" },
      live ? el("button", { type: "button", text: "Cancel", "aria-label": `Cancel task ${t.task_id}`,
        onclick: act("DELETE", `/v1/tasks/${t.task_id}`) }) : null,
      t.state === "init" ? el("button", { type: "button", text: "Move to top",
        "aria-label": `Move task ${t.task_id} to top`, onclick: act("POST", `/v1/tasks/${t.task_id}/top`) }) : null));
}

export async function showTasks(view) {
  const state = el("select", { id: "task-state" }, ["", "init", "exec", "succ", "fail", "canceled"].map(
    (s) => el("option", { value: s, text: s || "any" })));
  const from = el("input", { type: "date", id: "task-from" });
  const to = el("input", { type: "date", id: "task-to" });
  const body = el("tbody");
  const status = el("p", { role: "status" });
  const alert = el("p", { class: "error", role: "alert" });
  const older = el("button", { type: "button", text: "Older tasks", hidden: true });
  const newer = el("button", { type: "button", text: "Newest tasks", hidden: true });
  let marker = "";

  function act(method, path) {
    return async () => {
      alert.textContent = "";
      try { await api(method, path); } catch (err) { alert.textContent = errorText(err); }
    };
  }

  function render(data) {
    alert.textContent = "";
    // Keep keyboard focus on the same button across a redraw.
    const focused = document.activeElement && document.activeElement.getAttribute("aria-label");
    body.replaceChildren(...data.items.map((t) => taskRow(t, data.now, act)));
    if (focused) {
      const again = [...body.querySelectorAll("button")].find((b) => b.getAttribute("aria-label") === focused);
      if (again) again.focus();
    }
    status.textContent = `${data.total} task${data.total === 1 ? "" : "s"}${data.items.length ? "" : " — none here"}`;
    older.hidden = !data.next_marker;
    older.dataset.marker = data.next_marker || "";
    newer.hidden = !marker;
  }

  function query() {
    const q = new URLSearchParams({ limit: String(PAGE), order: "desc" });
    if (state.value) q.set("state", state.value);
    if (day(from)) q.set("start", day(from));
    if (day(to)) q.set("end", day(to));
    if (marker) q.set("marker", marker);
    return q;
  }
  const watch = watchTasks(query, render, (err) => { alert.textContent = errorText(err); });
  const restart = () => { alert.textContent = ""; watch.restart(); };
  for (const input of [state, from, to]) input.addEventListener("change", () => { marker = ""; restart(); });
  older.addEventListener("click", () => { marker = older.dataset.marker; restart(); });
  newer.addEventListener("click", () => { marker = ""; restart(); });

  view.append(el("h1", { text: "Tasks" }),
    el("form", { class: "row", "aria-label": "Filter tasks", onsubmit: (ev) => ev.preventDefault() },
      el("label", { for: "task-state", text: "State" }), state,
      el("label", { for: "task-from", text: "Created from" }), from,
      el("label", { for: "task-to", text: "to" }), to),
    status, alert,
    el("div", { class: "scroll" }, el("table", { class: "tasks" },
      el("caption", { class: "sr-only", text: "Tasks, newest first" }),
      el("thead", {}, el("tr", {}, ["Task", "State", "Progress", "Queue", "ETA", "Created", "Message", "Actions"].map(
        (h) => el("th", { scope: "col", text: h })))), body)),
    el("nav", { class: "row", "aria-label": "Task pages" }, newer, older));
  return () => watch.stop();
}
