// The page's entry point: sign-in, the top bar, the device picker and the router.
// Routes are hash fragments (#/overview, #/admin/devices/3), so the host serves one file.

import { api } from "./api.js";
import { resume, signIn, signOut } from "./auth.js";
import { h, fill } from "./dom.js";
import { ago } from "./format.js";
import { closeLive, openLive } from "./live.js";
import { clear as clearCache } from "./state.js";
import * as overview from "./overview.js";
import * as inverters from "./inverters.js";
import * as charts from "./history.js";
import * as devices from "./admin.js";
import * as console_ from "./console.js";

const ROUTES = {
  overview,
  inverters,
  charts,
  "admin/devices": devices,
  "admin/console": console_,
};
const DEVICE_KEY = "gem-envoy.device";

const ctx = {
  session: null,
  devices: [],
  device: null, // the device the overview, inverter and chart pages show
  isAdmin: false,
  refreshDevices,
};
let unmount = null;
let running = false;

// -- devices --------------------------------------------------------------------------------

async function refreshDevices() {
  ctx.devices = await api("/api/data/devices");
  const wanted = Number(localStorage.getItem(DEVICE_KEY));
  ctx.device = ctx.devices.find((d) => d.id === wanted) || ctx.devices[0] || null;
  const picker = document.getElementById("device-picker");
  const select = document.getElementById("device-select");
  fill(
    select,
    ctx.devices.map((d) =>
      h("option", { value: d.id, selected: ctx.device && d.id === ctx.device.id }, d.label || d.name),
    ),
  );
  picker.hidden = ctx.devices.length < 2;
}

function chooseDevice(id) {
  ctx.device = ctx.devices.find((d) => d.id === id) || ctx.device;
  localStorage.setItem(DEVICE_KEY, String(id));
  route();
}

// -- routing --------------------------------------------------------------------------------

function parseHash() {
  const path = location.hash.replace(/^#\/?/, "").replace(/\/+$/, "");
  const parts = path ? path.split("/") : [];
  // The longest route name that starts the path; the rest are its parameters.
  for (let n = parts.length; n > 0; n--) {
    const name = parts.slice(0, n).join("/");
    if (ROUTES[name]) return { name, params: parts.slice(n) };
  }
  return { name: parts.length ? null : "overview", params: [] };
}

function route() {
  if (!running) return;
  if (unmount) unmount();
  unmount = null;
  const main = document.getElementById("main");
  const { name, params } = parseHash();
  for (const link of document.querySelectorAll(".tabs a")) {
    if (link.dataset.route === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!name) {
    fill(main, notFound());
    return;
  }
  if (name.startsWith("admin/") && !ctx.isAdmin) {
    // The API refuses these actions anyway; the page does not even offer them.
    fill(main, adminOnly());
    document.title = "Not allowed · gem-envoy";
    return;
  }
  main.replaceChildren();
  const view = ROUTES[name];
  try {
    unmount = view.mount(main, { ...ctx, params }) || null;
  } catch (err) {
    console.error(err);
    fill(main, h("p", { class: "alert" }, `This page failed to load: ${err.message}`));
  }
}

function adminOnly() {
  return h(
    "section",
    { class: "card empty", id: "not-allowed" },
    h("h1", {}, "Not available"),
    h(
      "p",
      {},
      `This page is for installers and needs the admin role. You are signed in as ${ctx.session.username}.`,
    ),
    h("a", { href: "#/overview" }, "Back to the overview"),
  );
}

function notFound() {
  return h(
    "section",
    { class: "card empty" },
    h("h1", {}, "No such page"),
    h("a", { href: "#/overview" }, "Go to the overview"),
  );
}

// -- session --------------------------------------------------------------------------------

async function start(session) {
  ctx.session = session;
  ctx.isAdmin = session.role === "admin";
  document.getElementById("boot").hidden = true;
  document.getElementById("signin").hidden = true;
  document.getElementById("app").hidden = false;
  document.getElementById("whoami").textContent = `${session.username} · ${session.role}`;
  for (const link of document.querySelectorAll("[data-admin]")) link.hidden = !ctx.isAdmin;
  try {
    await refreshDevices();
  } catch (err) {
    if (err.status === 401) return; // handled by the "gem:unauthorized" listener
    fill(document.getElementById("main"), h("p", { class: "alert" }, err.message));
    return;
  }
  running = true;
  openLive();
  route();
}

function stop() {
  running = false;
  closeLive();
  clearCache();
  if (unmount) unmount();
  unmount = null;
  document.getElementById("main").replaceChildren();
}

async function signInAndStart(message) {
  document.getElementById("boot").hidden = true;
  const session = await signIn(message);
  await start(session);
}

window.addEventListener("gem:unauthorized", () => {
  if (!running) return;
  stop();
  signInAndStart("Your session has ended. Please sign in again.");
});

window.addEventListener("hashchange", route);

document.getElementById("device-select").addEventListener("change", (event) => {
  chooseDevice(Number(event.target.value));
});

document.getElementById("signout").addEventListener("click", async () => {
  stop();
  await signOut();
  signInAndStart("You have signed out.");
});

// Relative times ("12 s ago") tick on their own: elements carry their instant as data-ago,
// and optionally a data-ago-format in which "%" stands for the relative time.
setInterval(() => {
  for (const el of document.querySelectorAll("[data-ago]")) {
    const text = ago(Number(el.dataset.ago));
    const format = el.dataset.agoFormat;
    el.textContent = format ? format.replace("%", text) : text;
  }
}, 1000);

(async function boot() {
  const session = await resume();
  if (session) await start(session);
  else await signInAndStart();
})();
