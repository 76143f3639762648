// One media: the player (the /play page), its metadata and its outputs.
import { api, el, fmtBytes, fmtDuration } from "./api.js";

export async function showMedia(view, fileId) {
  const m = await api("GET", `/v1/media/${encodeURIComponent(fileId)}`);
  const md = m.metadata || {};
  const play = m.play_url || `/play/${encodeURIComponent(m.file_id)}`;
  const rows = [["File ID", m.file_id], ["State", m.state], ["Duration", fmtDuration(md.Duration)],
    ["Size", fmtBytes(md.Size ?? (m.source && m.source.size))], ["Dimensions", md.Width ? `${md.Width}×${md.Height}` : "–"],
    ["Created", m.created_at], ["Task flow", m.procedure || "–"]];
  const table = el("table", { class: "kv" }, el("caption", { text: "Metadata" }),
    el("tbody", {}, rows.map(([k, v]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: String(v ?? "–") })))));
  const outputs = el("ul", { class: "outputs", "aria-label": "Outputs" });
  for (const [kind, items] of Object.entries(m.outputs || {})) {
    for (const o of Array.isArray(items) ? items : [items]) {
      if (!o || !o.url) continue;
      const label = `${kind}${o.definition !== undefined ? ` ${o.definition}` : ""}`;
      outputs.append(el("li", {}, el("a", { href: o.url, text: label }), ` ${fmtBytes(o.size)}`,
        o.width ? ` · ${o.width}×${o.height}` : ""));
    }
  }
  if (!outputs.children.length) outputs.append(el("li", { text: "No outputs yet." }));
  view.append(el("h1", { text: m.name || m.file_id }),
    el("p", {}, el("a", { href: play, class: "button", text: "Play" })),
    table, el("h2", { text: "Outputs" }), outputs,
    el("details", {}, el("summary", { text: "Probe JSON" }), el("pre", { text: JSON.stringify(m.probe, null, 2) })));
  return null;
}
