// Recent events and push deliveries (to be built).
import { el } from "./api.js";

export async function showEvents(view) {
  view.append(el("h1", { text: "Events" }));
  return null;
}
