// Calls to the OpenVOD API with the console's session cookie and CSRF token.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function csrfToken() {
  const hit = document.cookie.split("; ").find((c) => c.startsWith("openvod_csrf="));
  return hit ? decodeURIComponent(hit.slice("openvod_csrf=".length)) : "";
}

// fetch() the API; JSON in (or a Blob sent as is) and out; throws ApiError with the server's message.
export async function api(method, path, body, { signal } = {}) {
  const headers = { Accept: "application/json" };
  if (!["GET", "HEAD"].includes(method)) headers["X-CSRF-Token"] = csrfToken();
  let payload;
  if (body instanceof URLSearchParams) payload = body;
  else if (body instanceof Blob) { // a file as it is (its type is the Content-Type)
    headers["Content-Type"] = body.type || "application/octet-stream";
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const r = await fetch(path, { method, headers, body: payload, credentials: "same-origin", signal });
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) {
    const err = (data && data.error) || {};
    if (r.status === 401) window.dispatchEvent(new CustomEvent("openvod:signed-out"));
    throw new ApiError(r.status, err.code || String(r.status), err.message || r.statusText);
  }
  return data;
}

// An element: el("a", {href: "#"}, "text", child...). Text is set as text, never as HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

export function fmtDuration(seconds) {
  if (seconds === undefined || seconds === null) return "–";
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function fmtBytes(n) {
  if (n === undefined || n === null) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function progressBar(value, label) {
  return el("progress", { max: "100", value: String(value), "aria-label": label }, `${value}%`);
}

// Keep a task list current: GET /v1/tasks with `query()`'s filters, then long-poll with
// ?since=<version> (the server answers when the page changes, or after 25 s). Errors back off
// (capped at 30 s). Returns { stop(), restart() }; restart() re-reads at once (filters changed).
export function watchTasks(query, onPage, onError) {
  let version = null;
  let ctrl = null;
  let stopped = false;
  (async () => {
    let failures = 0;
    while (!stopped) {
      ctrl = new AbortController();
      const q = query();
      if (version) { q.set("since", version); q.set("timeout", "25"); }
      try {
        const data = await api("GET", `/v1/tasks?${q}`, undefined, { signal: ctrl.signal });
        failures = 0;
        if (data.version !== version) {
          version = data.version;
          await onPage(data);
        }
      } catch (err) {
        if (err.name === "AbortError") continue;
        if (err.status === 401) return;
        version = null;
        failures += 1;
        if (onError) onError(err);
        await new Promise((ok) => setTimeout(ok, Math.min(30_000, 1000 * 2 ** failures)));
      }
    }
  })();
  return {
    stop() { stopped = true; if (ctrl) ctrl.abort(); },
    restart() { version = null; if (ctrl) ctrl.abort(); },
  };
}

export function errorText(err) {
  return err.code ? `${err.code}: ${err.message}` : err.message;
}

// Put `text` on the clipboard; false when the browser refuses (then the caller shows it to copy by hand).
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
