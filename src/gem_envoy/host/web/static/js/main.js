// The page's entry point: sign-in, the top bar, the device picker and the router.
// Routes are hash fragments (#/admin/devices/3), so the host serves one file. The host's own
// pages are the landing page and the admin ones; every other tab is a page of a driver,
// loaded from the driver's own files (see pages.js).

import { api } from "./api.js";
import { resume, signIn, signOut } from "./auth.js";
import { h, fill } from "./dom.js";
import { forgetDrivers } from "./drivers.js";
import { ago } from "./format.js";
import { closeLive, followDevices, openLive } from "./live.js";
import { driverPages, pageModule } from "./pages.js";
import { clear as clearCache } from "./state.js";
import * as home from "./home.js";
import * as devices from "./admin.js";
import * as console_ from "./console.js";

const OWN_ROUTES = {
  home,
  "admin/devices": devices,
  "admin/console": console_,
};
const DEVICE_KEY = "gem-envoy.device";

const ctx = {
  session: null,
  devices: [],
  device: null, // the device picked in the top bar, which the drivers' pages show
  isAdmin: false,
  refreshDevices,
};
let pages = []; // the drivers' pages: [{route, title, module, driver}]
let unmount = null;
let running = false;
let routing = 0; // counts route() calls, so that a slow page load cannot mount over a newer one

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
  showTabs();
}

function chooseDevice(id) {
  ctx.device = ctx.devices.find((d) => d.id === id) || ctx.device;
  localStorage.setItem(DEVICE_KEY, String(id));
  // On a page of another driver, go to the first page of the chosen device's driver.
  const current = pages.find((p) => p.route === parseHash().name);
  if (current && ctx.device && current.driver !== ctx.device.driver) {
    const first = pages.find((p) => p.driver === ctx.device.driver);
    location.hash = first ? `#/${first.route}` : "#/home";
    return;
  }
  route();
}

// -- tabs -----------------------------------------------------------------------------------

// One tab per page of each driver that some device uses, before the admin tabs.
function showTabs() {
  const nav = document.querySelector(".tabs");
  for (const old of nav.querySelectorAll("[data-driver]")) old.remove();
  const used = new Set(ctx.devices.map((d) => d.driver));
  const before = nav.querySelector("[data-admin]");
  for (const page of pages.filter((p) => used.has(p.driver))) {
    nav.insertBefore(
      h("a", { href: `#/${page.route}`, dataset: { route: page.route, driver: page.driver } }, page.title),
      before,
    );
  }
  markCurrentTab();
}

function markCurrentTab() {
  const { name } = parseHash();
  for (const link of document.querySelectorAll(".tabs a")) {
    if (link.dataset.route === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

// -- routing --------------------------------------------------------------------------------

function isRoute(name) {
  return name in OWN_ROUTES || pages.some((p) => p.route === name);
}

// Where #/ leads: the first tab of the drivers' pages, else the landing page.
function defaultRoute() {
  const tab = document.querySelector(".tabs a[data-driver]");
  return tab ? tab.dataset.route : "home";
}

function parseHash() {
  const path = location.hash.replace(/^#\/?/, "").replace(/\/+$/, "");
  const parts = path ? path.split("/") : [];
  // The longest route name that starts the path; the rest are its parameters.
  for (let n = parts.length; n > 0; n--) {
    const name = parts.slice(0, n).join("/");
    if (isRoute(name)) return { name, params: parts.slice(n) };
  }
  return { name: parts.length ? null : defaultRoute(), params: [] };
}

async function route() {
  if (!running) return;
  const ask = ++routing;
  if (unmount) unmount();
  unmount = null;
  const main = document.getElementById("main");
  main.replaceChildren();
  const { name, params } = parseHash();
  markCurrentTab();
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
  const page = pages.find((p) => p.route === name);
  const context = page ? pageContext(page, params) : { ...ctx, params };
  // A driver's page shows one device: only it needs to be live. The host's own views list
  // every device.
  followDevices(page && context.device ? [context.device.id] : null);
  try {
    const view = page ? await pageModule(page) : OWN_ROUTES[name];
    if (ask !== routing || !running) return; // another route was asked for meanwhile
    unmount = view.mount(main, context) || null;
  } catch (err) {
    if (ask !== routing) return;
    console.error(err);
    fill(main, h("p", { class: "alert" }, `This page failed to load: ${err.message}`));
  }
}

// What a driver's page sees: the devices of its driver, the picked one if it is of them.
function pageContext(page, params) {
  const mine = ctx.devices.filter((d) => d.driver === page.driver);
  const device = mine.find((d) => ctx.device && d.id === ctx.device.id) || mine[0] || null;
  return { ...ctx, devices: mine, device, params, route: page.route, driver: page.driver };
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
    h("a", { href: "#/" }, "Back to the start page"),
  );
}

function notFound() {
  return h(
    "section",
    { class: "card empty" },
    h("h1", {}, "No such page"),
    h("a", { href: "#/" }, "Go to the start page"),
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
    pages = await driverPages(Object.keys(OWN_ROUTES)).catch((err) => {
      if (err.status === 401) throw err;
      console.warn(`the drivers' pages are not shown: ${err.message}`); // the rest still works
      return [];
    });
    await refreshDevices();
  } catch (err) {
    if (err.status === 401) return; // handled by the "gem:unauthorized" listener
    fill(document.getElementById("main"), h("p", { class: "alert" }, err.message));
    return;
  }
  running = true;
  route(); // first: it tells the live stream which devices the first view needs
  openLive();
  showNotice();
}

// The host's notice above every view; a page without one loses nothing.
async function showNotice() {
  const box = document.getElementById("notice");
  const { notice } = await api("/api/notice").catch(() => ({ notice: "" }));
  box.textContent = notice;
  box.hidden = !notice;
}

function stop() {
  running = false;
  routing++; // a page still loading is not mounted
  closeLive();
  clearCache();
  forgetDrivers();
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
