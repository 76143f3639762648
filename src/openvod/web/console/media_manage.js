// The media page's management panels: edit the name, description and class; delete; download
// the original; share (public/private switch, link and embed code with a chosen lifetime for
// private media); subtitles (a WebVTT or SRT file per language).
import { api, copyText, el, errorText } from "./api.js";

const LIFETIMES = [[3600, "1 hour"], [86400, "1 day"], [7 * 86400, "7 days"], [30 * 86400, "30 days"]];
const SUBTITLE_TYPES = { vtt: "text/vtt", srt: "application/x-subrip" };

function panel(id, title, ...children) {
  return el("section", { class: "panel", "aria-labelledby": id }, el("h2", { id, text: title }), ...children);
}

function say(node, text, ok = true) {
  node.textContent = text;
  node.className = ok ? "status-ok" : "error";
}

// Name, description and class (PATCH /v1/media/{id}); `onSaved(media)` redraws the page's parts.
export function detailsPanel(m, path, onSaved) {
  const name = el("input", { id: "media-name", name: "name", required: true, maxlength: "256", value: m.name || "" });
  const description = el("textarea", { id: "media-description", name: "description", rows: "3" });
  description.value = m.description || "";
  const klass = el("input", { id: "media-class", name: "class_id", type: "number", min: "0", step: "1",
    inputmode: "numeric", value: String(m.class_id ?? 0) });
  const out = el("p", { role: "status", id: "media-edit-status" });
  const form = el("form", { class: "edit-form", "aria-label": "Edit media details",
    onsubmit: async (ev) => {
      ev.preventDefault();
      out.textContent = "";
      try {
        const saved = await api("PATCH", path, { name: name.value.trim(), description: description.value,
          class_id: Number(klass.value || 0) });
        say(out, "Saved.");
        onSaved(saved);
      } catch (err) { say(out, errorText(err), false); }
    } },
  el("label", { for: name.id, text: "Name" }), name,
  el("label", { for: description.id, text: "Description" }), description,
  el("label", { for: klass.id, text: "Class ID" }), klass,
  el("div", { class: "row" }, el("button", { type: "submit", text: "Save details" })), out);
  return panel("media-details-h", "Details", form);
}

// Download, delete: the row of actions under the title.
export function actionsRow(m, path) {
  const out = el("span", { role: "status" });
  const source = m.source && m.source.url;
  return el("div", { class: "media-actions" },
    // Named as stored (the uploaded file's name), whatever the media is called now.
    source ? el("a", { class: "button", href: source, download: m.source.key.split("/").pop() || m.file_id,
      text: "Download original" }) : null,
    el("button", { type: "button", class: "danger", text: "Delete media", onclick: async () => {
      if (!confirm(`Delete ${m.name || m.file_id} with its outputs? This cannot be undone.`)) return;
      try {
        await api("DELETE", path);
        location.hash = "#/library";
      } catch (err) { say(out, errorText(err), false); }
    } }), out);
}

// Public/private switch, and the link and embed code (POST /v1/media/{id}/embed-url).
export function sharingPanel(m, path) {
  let media = m;
  const toggle = el("input", { type: "checkbox", role: "switch", id: "media-public", checked: Boolean(m.public) });
  const mode = el("span", { class: "hint", id: "media-sharing-mode" });
  const lifetime = el("select", { id: "embed-ttl", name: "ttl" },
    LIFETIMES.map(([s, label]) => el("option", { value: String(s), text: label })));
  lifetime.value = "86400";
  const lifetimeField = el("span", { class: "field" }, el("label", { for: lifetime.id, text: "Link lifetime" }), lifetime);
  const snippet = el("textarea", { id: "embed-code", class: "snippet", rows: "3", readonly: true });
  const link = el("input", { id: "share-link", class: "snippet", readonly: true });
  const out = el("p", { role: "status", id: "share-status" });
  const made = el("div", { class: "edit-form", hidden: true }, // shown once a link is made
    el("label", { for: link.id, text: "Link" }), link, el("label", { for: snippet.id, text: "Embed code" }), snippet);
  const appDefault = el("button", { type: "button", text: "Use the app's setting", onclick: () => setPublic(null) });

  function show() {
    toggle.checked = Boolean(media.public);
    const how = { public: "public: anyone with the link can watch", private: "private: links are signed and expire",
      app: `as the app: ${media.public ? "public" : "private"}` }[media.sharing] || (media.public ? "public" : "private");
    mode.textContent = `Now ${how}.`;
    lifetimeField.hidden = Boolean(media.public);
    appDefault.hidden = !media.sharing || media.sharing === "app";
  }

  async function setPublic(value) {
    out.textContent = "";
    try {
      media = await api("PUT", `${path}/sharing`, { public: value });
      say(out, value === null ? "Sharing follows the app's setting." : value ? "The media is public." : "The media is private.");
    } catch (err) { say(out, errorText(err), false); }
    show();
  }
  toggle.addEventListener("change", () => setPublic(toggle.checked));

  async function embed(what) {
    out.textContent = "";
    try {
      const ttl = media.public ? undefined : Number(lifetime.value);
      const e = await api("POST", `${path}/embed-url`, ttl ? { ttl } : {});
      snippet.value = e.iframe;
      link.value = e.url;
      made.hidden = false;
      const text = what === "code" ? e.iframe : e.url;
      const expires = e.expires_at ? ` It works until ${new Date(e.expires_at).toLocaleString()}.` : "";
      if (await copyText(text)) say(out, `${what === "code" ? "Embed code" : "Link"} copied.${expires}`);
      else {
        (what === "code" ? snippet : link).select();
        say(out, `Press Ctrl+C (⌘C) to copy the selected ${what === "code" ? "embed code" : "link"}.${expires}`);
      }
    } catch (err) { say(out, errorText(err), false); }
  }

  show();
  return panel("media-share-h", "Sharing",
    el("div", { class: "row" }, toggle, el("label", { for: toggle.id, text: "Public" }), mode, appDefault),
    el("div", { class: "row" }, lifetimeField,
      el("button", { type: "button", text: "Copy link", onclick: () => embed("link") }),
      el("button", { type: "button", text: "Copy embed code", onclick: () => embed("code") })),
    made, out);
}

// Subtitles: list, upload per language, delete. `onChange` reloads the player.
export function subtitlesPanel(m, path, onChange) {
  const list = el("ul", { class: "outputs", "aria-label": "Subtitles" });
  const language = el("input", { id: "sub-language", name: "language", required: true, maxlength: "35",
    pattern: "[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", placeholder: "en", autocomplete: "off" });
  const label = el("input", { id: "sub-label", name: "label", maxlength: "64", placeholder: "English", autocomplete: "off" });
  const file = el("input", { id: "sub-file", name: "file", type: "file", required: true, accept: ".vtt,.srt,text/vtt" });
  const out = el("p", { role: "status", id: "sub-status" });

  async function reload() {
    const data = await api("GET", `${path}/subtitles`);
    list.replaceChildren(...data.items.map((s) => el("li", { "data-language": s.language },
      el("a", { href: s.url, text: `${s.label || s.language} (${s.language})` }), " ",
      el("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete the ${s.language} subtitles`,
        onclick: async () => {
          try {
            await api("DELETE", `${path}/subtitles/${encodeURIComponent(s.language)}`);
            say(out, `Deleted the ${s.language} subtitles.`);
            await reload();
            onChange();
          } catch (err) { say(out, errorText(err), false); }
        } }))));
    if (!data.items.length) list.append(el("li", { text: "No subtitles yet." }));
  }

  const form = el("form", { class: "row", "aria-label": "Add subtitles", onsubmit: async (ev) => {
    ev.preventDefault();
    out.textContent = "";
    const f = file.files[0];
    if (!f) return;
    const ext = f.name.split(".").pop().toLowerCase();
    const type = SUBTITLE_TYPES[ext] || f.type || "text/plain";
    const lang = language.value.trim();
    const q = new URLSearchParams({ label: label.value.trim() || lang });
    try {
      await api("PUT", `${path}/subtitles/${encodeURIComponent(lang)}?${q}`, new Blob([f], { type }));
      say(out, `Added the ${lang} subtitles.`);
      form.reset();
      await reload();
      onChange();
    } catch (err) { say(out, errorText(err), false); }
  } },
  el("span", { class: "field" }, el("label", { for: language.id, text: "Language" }), language),
  el("span", { class: "field" }, el("label", { for: label.id, text: "Label" }), label),
  el("span", { class: "field" }, el("label", { for: file.id, text: "WebVTT or SRT file" }), file),
  el("button", { type: "submit", text: "Upload subtitles" }));
  const node = panel("media-subs-h", "Subtitles", list, form, out);
  reload().catch((err) => say(out, `Could not list subtitles: ${errorText(err)}`, false));
  return node;
}
