// The task list, refreshed every few seconds while shown (never faster than once a second).
import { api, el, progressBar } from "./api.js";

const REFRESH_MS = 2000;

function taskRow(t, reload) {
  const act = (method, path) => async () => {
    try { await api(method, path); } catch (err) { alert(err.message); }
    await reload();
  };
  const live = t.state === "init" || t.state === "exec";
  return el("tr", { "data-task-id": t.task_id, "data-state": t.state },
    el("td", {}, el("code", { text: t.task_id.slice(0, 12) }), " ", t.kind),
    el("td", { class: `state state-${t.state}`, text: t.state }),
    el("td", {}, progressBar(t.progress || 0, `Progress of task ${t.task_id}`), ` ${t.progress || 0}%`),
    el("td", { text: t.queue_position ?? "–" }),
    el("td", { text: t.error ? t.error.message : "" }),
    el("td", {},
      live ? el("button", { type: "button", text: "Cancel", "aria-label": `Cancel task ${t.task_id}`,
        onclick: act("DELETE", `/v1/tasks/${t.task_id}`) }) : null,
      t.state === "init" ? el("button", { type: "button", text: "Move to top", "aria-label": `Move task ${t.task_id} to top`,
        onclick: act("POST", `/v1/tasks/${t.task_id}/top`) }) : null));
}

export async function showTasks(view) {
  const state = el("select", { id: "task-state" }, ["", "init", "exec", "succ", "fail", "canceled"].map(
    (s) => el("option", { value: s, text: s || "any" })));
  const body = el("tbody");
  const status = el("p", { role: "status" });
  let timer = null;
  let stopped = false;
  async function reload() {
    const q = new URLSearchParams({ limit: "100" });
    if (state.value) q.set("state", state.value);
    try {
      const data = await api("GET", `/v1/tasks?${q}`);
      body.replaceChildren(...data.items.slice().reverse().map((t) => taskRow(t, reload)));
      status.textContent = `${data.total} tasks`;
    } catch (err) { status.textContent = err.message; }
  }
  async function loop() {
    await reload();
    if (!stopped) timer = setTimeout(loop, REFRESH_MS);
  }
  state.addEventListener("change", reload);
  view.append(el("h1", { text: "Tasks" }),
    el("div", { class: "row" }, el("label", { for: "task-state", text: "State" }), state), status,
    el("div", { class: "scroll" }, el("table", { class: "tasks" },
      el("thead", {}, el("tr", {}, ["Task", "State", "Progress", "Queue", "Message", "Actions"].map(
        (h) => el("th", { scope: "col", text: h })))), body)));
  await loop();
  return () => { stopped = true; clearTimeout(timer); };
}
