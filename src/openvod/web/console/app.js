// The console: sign-in and the hash routes (#/dashboard, the first page; #/library, #/upload,
// #/media/{id}, #/tasks, #/presets[/{tab}], #/events).
import { api, el } from "./api.js";
import { showDashboard } from "./dashboard.js";
import { showLibrary } from "./library.js";
import { showMedia } from "./media.js";
import { showEvents } from "./events.js";
import { showPresets } from "./presets.js";
import { showTasks } from "./tasks.js";
import { showUpload } from "./upload.js";

const view = document.getElementById("view");
const menu = document.getElementById("menu");

// On a phone the nav folds behind the Menu button (console.css); picking a page folds it again.
function openMenu(open) {
  menu.setAttribute("aria-expanded", String(open));
  document.getElementById("bar").classList.toggle("open", open);
}
menu.addEventListener("click", () => openMenu(menu.getAttribute("aria-expanded") !== "true"));
document.getElementById("nav-links").addEventListener("click", (ev) => { if (ev.target.closest("a")) openMenu(false); });
document.getElementById("bar").addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && menu.getAttribute("aria-expanded") === "true") { openMenu(false); menu.focus(); }
});
let leave = null; // the current page's clean-up (stops its refresh loop)

function signedOut() {
  if (leave) leave();
  leave = null;
  document.getElementById("bar").hidden = true;
  view.replaceChildren();
  document.getElementById("signin").hidden = false;
  document.getElementById("secret-id").focus();
}

const PAGES = { dashboard: showDashboard, library: showLibrary, upload: showUpload, tasks: showTasks,
  media: showMedia, presets: showPresets, events: showEvents };

let generation = 0; // bumped per navigation: a page that finishes loading late cleans up after itself

async function route() {
  if (leave) leave();
  leave = null;
  const mine = ++generation;
  openMenu(false);
  const [, page, arg] = (location.hash || "#/dashboard").split("/");
  const current = PAGES[page] ? page : "dashboard";
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  // Each navigation renders into its own element: a page still loading from before writes into
  // a detached one, never into the page shown now.
  const root = el("div", { class: "page" });
  view.replaceChildren(root);
  const show = PAGES[page] || showDashboard;
  try {
    const cleanUp = await show(root, decodeURIComponent(arg || ""));
    if (mine === generation) leave = cleanUp;
    else if (cleanUp) cleanUp(); // the user moved on while this page loaded
  } catch (err) {
    if (mine === generation) root.replaceChildren(el("p", { class: "error", role: "alert", text: err.message }));
  }
}

async function start() {
  document.getElementById("signin").hidden = true;
  document.getElementById("bar").hidden = false;
  await route();
}

for (const [form, error] of [["signin-form", "signin-error"], ["password-form", "password-error"]]) {
  document.getElementById(form).addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = document.getElementById(error);
    out.textContent = "";
    try {
      await api("POST", "/console/session", new URLSearchParams(new FormData(ev.target)));
      ev.target.reset();
      if (!location.hash) location.hash = "#/dashboard";
      await start();
    } catch (err) {
      out.textContent = `Sign-in failed: ${err.message}`;
    }
  });
}
api("GET", "/console/options").then((o) => { document.getElementById("password-form").hidden = !o.password_sign_in; },
  () => {});

document.getElementById("logout").addEventListener("click", async () => {
  try { await api("POST", "/console/logout"); } finally { signedOut(); }
});

window.addEventListener("hashchange", route);
window.addEventListener("openvod:signed-out", signedOut);

api("GET", "/console/session").then(start, () => {});
