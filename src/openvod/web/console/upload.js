// Uploads over tus (tus-js-client, vendored): drag and drop or pick files, a progress bar per
// file, an optional task flow; an interrupted upload resumes when the same file is picked again.
import { api, el, errorText, fmtBytes, progressBar } from "./api.js";

const CHUNK = 4 * 1024 * 1024;

function row(file) {
  const bar = progressBar(0, `Upload progress of ${file.name}`);
  const pct = el("span", { class: "pct", text: "0%" });
  const info = el("span", { class: "info", text: fmtBytes(file.size) });
  const li = el("li", { class: "upload" }, el("span", { class: "name", text: file.name }), bar, pct, info);
  return { li, bar, pct, info };
}

function startUpload(file, procedure, list) {
  const r = row(file);
  list.append(r.li);
  const started = performance.now();
  let firstBytes = null;
  let pause = null;
  const upload = new window.tus.Upload(file, {
    endpoint: "/v1/uploads",
    chunkSize: CHUNK,
    retryDelays: [0, 1000, 3000, 5000],
    metadata: { filename: file.name, filetype: file.type || "application/octet-stream" },
    removeFingerprintOnSuccess: true,
    onProgress(sent, total) {
      const p = total ? Math.floor((sent / total) * 100) : 0;
      if (r.li.dataset.firstPercent === undefined) r.li.dataset.firstPercent = String(p);
      r.bar.value = p;
      r.pct.textContent = `${p}%`;
      if (firstBytes === null) firstBytes = sent;
      const secs = (performance.now() - started) / 1000;
      const rate = secs > 0 ? (sent - firstBytes) / secs : 0;
      const left = rate > 0 ? Math.ceil((total - sent) / rate) : null;
      r.info.textContent = `${fmtBytes(sent)} of ${fmtBytes(total)}` +
        (rate > 0 ? ` · ${fmtBytes(rate)}/s` : "") + (left !== null ? ` · ${left} s left` : "");
    },
    onSuccess() {
      r.bar.value = 100;
      r.pct.textContent = "100%";
      r.info.textContent = "Uploaded";
      r.li.dataset.state = "done";
      if (pause) pause.remove();
    },
    onError(err) {
      // tus-js-client's message carries the server's answer (its code and message) when there is one.
      r.info.textContent = `Failed: ${err.message}`;
      r.li.dataset.state = "error";
    },
  });
  pause = el("button", { type: "button", text: "Pause", onclick: () => {
    if (pause.textContent === "Pause") { upload.abort(); pause.textContent = "Resume"; }
    else { upload.start(); pause.textContent = "Pause"; }
  } });
  r.li.append(pause);
  (async () => {
    // An upload is created with a one-time signature the console asks for (kept even when
    // resuming, in case the stored upload has expired and tus creates a new one); the upload URL
    // creation returns is then the capability for the rest of the upload.
    const { signature } = await api("POST", "/console/upload-signature", { procedure });
    upload.options.headers = { "X-VOD-Signature": signature };
    const previous = await upload.findPreviousUploads();
    if (previous.length) {
      upload.resumeFromPreviousUpload(previous[0]);
      r.li.dataset.resumed = previous[0].uploadUrl;
      r.info.textContent = "Resuming";
    }
    upload.start();
  })().catch((err) => { r.info.textContent = `Failed: ${errorText(err)}`; r.li.dataset.state = "error"; });
}

export async function showUpload(view) {
  const list = el("ul", { class: "uploads", "aria-label": "Uploads" });
  const flow = el("select", { id: "up-flow", name: "procedure" }, el("option", { value: "", text: "None" }));
  // The picker offers audio and video first; "All files" in the browser's dialog still takes anything
  // (a file the server cannot probe is kept, marked "not a media file").
  const input = el("input", { type: "file", id: "up-file", multiple: true, accept: "video/*,audio/*" });
  const go = (files) => { for (const f of files) startUpload(f, flow.value, list); };
  input.addEventListener("change", () => { go(input.files); input.value = ""; });
  const drop = el("div", { class: "drop", tabindex: "0", role: "button",
    "aria-label": "Drop video files here, or press Enter to choose files",
    onclick: () => input.click(),
    onkeydown: (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); input.click(); } },
    ondragover: (ev) => { ev.preventDefault(); ev.currentTarget.classList.add("over"); },
    ondragleave: (ev) => ev.currentTarget.classList.remove("over"),
    ondrop: (ev) => { ev.preventDefault(); ev.currentTarget.classList.remove("over"); go(ev.dataTransfer.files); } },
  "Drop video files here");
  const pending = el("ul", { class: "pending", "aria-label": "Unfinished uploads" });
  view.append(el("h1", { text: "Upload" }),
    el("div", { class: "row" }, el("label", { for: "up-flow", text: "Task flow after upload" }), flow),
    el("div", { class: "row" }, el("label", { for: "up-file", text: "Files" }), input),
    drop, list, pending);
  try {
    const flows = await api("GET", "/v1/procedures");
    for (const p of flows.items) flow.append(el("option", { value: p.name, text: p.name }));
  } catch (err) { flow.after(el("span", { class: "error", text: err.message })); }
  const storage = window.tus.defaultOptions.urlStorage;
  const stored = await storage.findAllUploads().catch(() => []);
  if (stored.length) {
    pending.before(el("h2", { id: "pending-title", text: "Unfinished uploads — choose the same file again to resume" }));
    for (const u of stored) {
      const name = (u.metadata && u.metadata.filename) || u.uploadUrl;
      const forget = el("button", { type: "button", text: "Discard", "aria-label": `Discard the unfinished upload of ${name}`,
        onclick: async () => {
          // tus termination frees the partial upload on the server, then the browser forgets it.
          await fetch(u.uploadUrl, { method: "DELETE", headers: { "Tus-Resumable": "1.0.0" } }).catch(() => {});
          await storage.removeUpload(u.urlStorageKey);
          li.remove();
        } });
      const li = el("li", { class: "upload pending-upload" }, el("span", { class: "name", text: name }),
        ` ${fmtBytes(u.size)} · started ${new Date(u.creationTime).toLocaleString()} `, forget);
      pending.append(li);
    }
  }
  return null;
}
