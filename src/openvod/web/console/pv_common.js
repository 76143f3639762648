// Shared by the "Presets & flows" page's modules: labelled fields, JSON areas, errors, paging.
import { api, ApiError, el } from "./api.js";

export const PAGE = 100; // the most /v1/templates and /v1/procedures return per request
const MAX_PAGES = 20;

// A mistake found before sending: shown like a server error, and `input` gets the focus.
export class FormError extends Error {
  constructor(message, input) {
    super(message);
    this.input = input;
  }
}

// A labelled control in a grid cell; `hint` is read out with the control.
export function field(control, label, { hint, wide, check } = {}) {
  const hintNode = hint ? el("span", { class: "hint", id: `${control.id}-hint`, text: hint }) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  const cls = `pv-field${wide ? " wide" : ""}${check ? " check" : ""}`;
  const lab = el("label", { for: control.id, text: label });
  return el("div", { class: cls }, check ? [control, lab] : [lab, control], hintNode);
}

export function select(id, values, labels = {}) {
  return el("select", { id, name: id },
    values.map((v) => el("option", { value: String(v), text: labels[v] ?? String(v) })));
}

export function jsonArea(id) {
  return el("textarea", { id, name: id, class: "json", rows: "12", spellcheck: "false", required: true,
    autocapitalize: "off", autocomplete: "off" });
}

// What went wrong, for the page: the server's "code: message", or the browser's own message
// (a network failure, say).
export function describe(err) {
  return err instanceof ApiError ? `${err.code}: ${err.message}` : err.message;
}

export function readJson(area, what) {
  let value;
  try { value = JSON.parse(area.value); } catch (err) {
    throw new FormError(`${what} is not valid JSON: ${err.message}`, area);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new FormError(`${what} must be a JSON object like {"Key": "value"}`, area);
  }
  return value;
}

export async function listAll(path, signal) {
  const items = [];
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const data = await api("GET", `${path}?offset=${items.length}&limit=${PAGE}`, undefined, { signal });
    items.push(...data.items);
    if (!data.items.length || items.length >= data.total) break;
  }
  return items;
}
