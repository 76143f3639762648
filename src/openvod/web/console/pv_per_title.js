// A per-title ladder's report in a task's history (the AdaptiveDynamicStreaming step's Output.PerTitle,
// engine/jobs/per_title.py): each rung's bitrate picked, the VMAF it reaches and its target, and the
// rungs dropped for adding less than 2 VMAF over the one below.
import { el } from "./api.js";

const HEAD = ["Rung", "Bitrate", "VMAF", "Target", "Gain over the rung below", ""];

function row(r, dropped) {
  return el("tr", { "data-height": String(r.Height), "data-dropped": dropped ? "true" : "false" },
    el("th", { scope: "row", text: `${r.Width}×${r.Height}` }),
    el("td", { text: `${r.Bitrate} kb/s` }),
    el("td", { text: Number(r.Vmaf).toFixed(1) }),
    el("td", { text: Number(r.TargetVmaf).toFixed(1) }),
    el("td", { text: r.VmafGain === undefined ? "–" : Number(r.VmafGain).toFixed(1) }),
    el("td", { text: dropped ? "dropped" : "" }));
}

// One table per AdaptiveDynamicStreaming step of the task detail that made a per-title ladder.
export function perTitleTables(detail) {
  const results = (detail && detail.ProcedureTask && detail.ProcedureTask.MediaProcessResultSet) || [];
  return results.map((r, index) => {
    const body = r.AdaptiveDynamicStreamingTask;
    const report = body && body.Output && body.Output.PerTitle;
    if (!report) return null;
    const definition = body.Input && body.Input.Definition;
    return el("div", { class: "scroll per-title", "data-step": String(index) },
      el("table", { class: "steps" },
        el("caption", { text: `Per-title ladder of step ${index + 1} (Definition ${definition}), `
          + `analysed in ${Number(report.AnalysisSeconds).toFixed(1)} s` }),
        el("thead", {}, el("tr", {}, HEAD.map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, (report.Rungs || []).map((x) => row(x, false)),
          (report.DroppedRungs || []).map((x) => row(x, true)))));
  });
}
