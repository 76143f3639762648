// Presets, templates and task flows (to be built).
import { el } from "./api.js";

export async function showPresets(view) {
  view.append(el("h1", { text: "Presets & flows" }));
  return null;
}
