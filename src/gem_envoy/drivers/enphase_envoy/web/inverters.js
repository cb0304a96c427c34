// Every inverter (zone) of the device: a compact array of tiles that shows at a glance which
// panel under-produces, and a sortable table of the same figures.
//
// How a panel is judged (daylight from the plant's production, yield against its peers,
// reports that lag or stopped) is panels.js; this module draws it. Each inverter shows when it
// last reported itself, since its figures are that report's, not the last poll's.
//
// Admins also get the button that adds a zone per inverter from the gateway's own list.

import { api } from "/js/api.js";
import { fill, h, setValue } from "/js/dom.js";
import { ago, clock, isNum, parseIso, power } from "/js/format.js";
import { get, load, subscribe } from "/js/state.js";
import { judge, REPORT_PERIOD_S } from "./panels.js";
import { useStyle } from "./style.js";
import { addInverterZones, describeOutcome } from "./zonesync.js";

const AGE_TICK_MS = 15000; // report ages are shown in minutes: redraw them this often

const WORDS = {
  under: "under-producing",
  low: "low",
  ok: "normal",
  idle: "no sun",
  none: "no report yet",
  silent: "stopped reporting",
  waiting: "waiting for its next report",
  unrated: "not compared",
};

const COLUMNS = [
  { key: "name", label: "Inverter", text: true },
  { key: "address", label: "Serial", text: true },
  { key: "last_w", label: "Now", n: true },
  { key: "max_w", label: "Best", n: true },
  { key: "yield", label: "Now / best", n: true },
  { key: "relative", label: "Vs. array", n: true },
  { key: "reportMs", label: "Reported", n: true },
];

export function mount(root, ctx) {
  const device = ctx.device;
  useStyle();
  document.title = "Inverters · gem-envoy";
  const summary = h("span", { class: "sub", id: "inverter-summary" });
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Inverters"), summary));
  if (!device) {
    root.append(h("section", { class: "card empty" }, "No device yet."));
    return null;
  }
  if (ctx.isAdmin) root.append(zoneTools(device, () => start()));
  const array = h("div", { class: "array", id: "array", role: "list", "aria-label": "Panel array" });
  const tbody = h("tbody");
  const headRow = h("tr");
  const table = h(
    "table",
    { id: "inverter-table" },
    h("caption", { class: "visually-hidden" }, "Inverters, sortable by any column"),
    h("thead", {}, headRow),
    tbody,
  );
  const body = h("div", { class: "grid" });
  // Said in words when a panel under-produces, for whoever does not read tile colours.
  const notice = h("p", { class: "alert warn", id: "inverter-notice", role: "status", hidden: true });
  root.append(notice, body);

  let zones = [];
  let sort = { key: "name", dir: 1 };

  for (const col of COLUMNS) {
    const th = h("th", {
      class: col.n ? "n" : "",
      scope: "col",
      "aria-sort": "none",
      dataset: { key: col.key },
    });
    th.append(h("button", { type: "button", on: { click: () => sortBy(col.key) } }, col.label));
    headRow.append(th);
  }

  function sortBy(key) {
    sort = { key, dir: sort.key === key ? -sort.dir : COLUMNS.find((c) => c.key === key).n ? -1 : 1 };
    render();
  }

  function plantW() {
    const v = get("device", device.id).values.production_now_w;
    return isNum(v) ? v : null;
  }

  function rows() {
    const list = zones.map((z) => {
      const v = get("zone", z.id).values;
      return {
        zone: z,
        name: z.name,
        address: z.address,
        last_w: isNum(v.last_w) ? v.last_w : null,
        max_w: isNum(v.max_w) ? v.max_w : null,
        reportMs: parseIso(v.last_report_time),
      };
    });
    const verdict = judge(list, plantW());
    for (const [index, r] of list.entries()) Object.assign(r, verdict.panels[index]);
    return { list, verdict };
  }

  function render() {
    const { list, verdict } = rows();
    const total = list.reduce((sum, r) => sum + (r.last_w || 0), 0);
    const counted = (status) => list.filter((r) => r.status === status);
    const under = counted("under");
    const silent = counted("silent");
    const low = counted("low").length;
    const parts = [`${list.length} inverters`, `${power(total)} in their last reports`];
    if (plantW() !== null) parts.push(`plant ${power(plantW())} now`);
    if (under.length) parts.push(`${under.length} under-producing`);
    if (low) parts.push(`${low} low`);
    if (silent.length) parts.push(`${silent.length} stopped reporting`);
    if (list.length && !verdict.daylight) parts.push("no sun: nothing to compare");
    summary.textContent = parts.join(" · ");
    notice.hidden = !(under.length || silent.length || verdict.lagging);
    notice.textContent = [
      verdict.lagging
        ? `The inverters report every ${REPORT_PERIOD_S / 60} minutes: their last reports add up ` +
          `to ${power(total)} while the plant makes ${power(plantW())} now, so nobody is ` +
          "judged until their next reports arrive."
        : "",
      under.length
        ? `${names(under)} ${under.length === 1 ? "produces" : "produce"} well below the rest of ` +
          "the array for its size. Shade, dirt or a fault are the usual causes: worth a look if " +
          "it lasts for days."
        : "",
      silent.length
        ? `${names(silent)} stopped reporting: ${silent.length === 1 ? "its" : "their"} last ` +
          `report is ${minutes(Math.max(...silent.map((r) => r.silentS)))} older than the ` +
          "others'. A fault, or lost contact with the gateway (power line), are the usual causes."
        : "",
    ]
      .filter(Boolean)
      .join(" ");

    // Tiles stay in name order, as the panels are numbered on the roof plan.
    const byName = [...list].sort((a, b) => compareText(a.name, b.name));
    fill(array, byName.map(tile));

    const sorted = [...list].sort((a, b) => compare(a, b, sort));
    fill(tbody, sorted.map(row));
    for (const th of headRow.children) {
      th.setAttribute(
        "aria-sort",
        th.dataset.key === sort.key ? (sort.dir > 0 ? "ascending" : "descending") : "none",
      );
    }
  }

  async function start() {
    try {
      zones = await api(`/api/data/zones?device=${device.id}`);
    } catch (err) {
      fill(body, h("p", { class: "alert" }, `Could not list the inverters: ${err.message}`));
      return;
    }
    for (const z of zones) ids.add(z.id);
    if (!zones.length) {
      fill(
        body,
        h(
          "section",
          { class: "card empty" },
          h("h2", {}, "No inverters yet"),
          ctx.isAdmin
            ? h(
                "p",
                {},
                "Add one zone per inverter with the button above, or one by one on the ",
                h("a", { href: `#/admin/devices/${device.id}` }, "device page"),
                ".",
              )
            : h("p", {}, "An installer has to add the inverters (zones) first."),
        ),
      );
      return;
    }
    fill(
      body,
      h(
        "section",
        { class: "card", "aria-labelledby": "array-h" },
        h("h2", { id: "array-h" }, "Array"),
        array,
        h(
          "div",
          { class: "legend" },
          h(
            "span",
            {},
            h("span", { class: "sw" }),
            "fill: output now against the panel's own best · %: against the array, allowing for panel size",
          ),
          h("span", {}, h("span", { class: "sw low" }), "low (under 90 % of the array)"),
          h("span", {}, h("span", { class: "sw under" }), "under-producing (under 80 %)"),
          h("span", {}, h("span", { class: "sw silent" }), "stopped reporting"),
          h("span", {}, `inverters report every ${REPORT_PERIOD_S / 60} minutes`),
        ),
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "table-h" },
        h("h2", { id: "table-h" }, "All inverters"),
        h("div", { class: "table-wrap" }, table),
      ),
    );
    render();
    await Promise.allSettled(zones.map((z) => load("zone", z.id)));
    render();
  }

  const ids = new Set(); // the zones shown here, whose changes redraw the page
  const unsubscribe = subscribe((type, id) => {
    if ((type === "zone" && ids.has(id)) || (type === "device" && id === device.id))
      scheduleRender();
  });
  const ticking = setInterval(() => zones.length && scheduleRender(), AGE_TICK_MS);
  load("device", device.id).catch(() => {}); // the plant's production, for daylight
  // A poll reports every zone at once: draw once for the lot.
  let pending = false;
  function scheduleRender() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      render();
    });
  }
  start();
  return () => {
    clearInterval(ticking);
    unsubscribe();
  };
}

const names = (list) => list.map((r) => r.name).join(", ");
const minutes = (s) => `${Math.round(s / 60)} min`;

/** The admin's button that adds the missing zones from the gateway's inverter list. */
function zoneTools(device, reload) {
  const message = h("p", { class: "alert", role: "status", hidden: true, id: "zones-message" });
  const button = h(
    "button",
    { class: "primary", type: "button", id: "add-zones", on: { click: () => run() } },
    "Add zones from the inverter list",
  );
  async function run() {
    button.disabled = true;
    say("Asking the gateway for its inverters…", "warn");
    try {
      const outcome = await addInverterZones(device.id);
      say(describeOutcome(outcome), outcome.added || outcome.known ? "ok" : "warn");
      if (outcome.added) await reload();
    } catch (err) {
      say(err.message, "");
    } finally {
      button.disabled = false;
    }
  }
  function say(text, kind) {
    message.className = `alert ${kind}`.trim();
    message.textContent = text;
    message.hidden = false;
  }
  return h(
    "section",
    { class: "card zone-tools" },
    h(
      "p",
      { class: "muted small" },
      "One zone per microinverter, named by its serial. The button asks the gateway for its inverters (get_inverters, installer token) and adds those without a zone.",
    ),
    button,
    message,
  );
}

function tile(r) {
  const ratio = r.relative === null ? "" : `${Math.round(r.relative * 100)} %`;
  const words = WORDS[r.status];
  const reported = r.reportMs === null ? "" : `, reported ${ago(r.reportMs)}`;
  const el = h(
    "div",
    {
      class: "panel",
      role: "listitem",
      dataset: { status: r.status, zone: r.zone.id },
      title: `${r.name} (${r.address}): ${power(r.last_w)}${reported}, best ${power(r.max_w)}; ${words}`,
      "aria-label": `${r.name}: ${power(r.last_w)}${reported}, ${words}`,
      style: { "--level": String(r.yield === null ? 0 : Math.min(1, r.yield)) },
    },
    h("span", { class: "pname" }, r.name),
    h("span", { class: "pw", dataset: { attr: "last_w" } }, power(r.last_w)),
    h("span", { class: "pratio" }, ratio && r.status !== "silent" ? ratio : words),
    h("span", { class: "page", dataset: { attr: "last_report_time" } }, ago(r.reportMs)),
  );
  setValue(el.querySelector(".pw"), power(r.last_w), r.last_w);
  return el;
}

function row(r) {
  const cell = (name, text, raw) => {
    const td = h("td", { class: "n", dataset: { attr: name } });
    setValue(td, text, raw);
    return td;
  };
  return h(
    "tr",
    { dataset: { status: r.status, zone: r.zone.id } },
    h("td", {}, r.name),
    h("td", { class: "mono" }, r.address),
    cell("last_w", power(r.last_w), r.last_w),
    cell("max_w", power(r.max_w), r.max_w),
    h(
      "td",
      { class: "n" },
      r.yield === null ? "—" : `${Math.round(r.yield * 100)} % `,
      r.yield === null
        ? null
        : h("span", { class: "bar", style: { "--level": String(Math.min(1, r.yield)) } }, h("span")),
    ),
    h("td", { class: "n" }, r.relative === null ? "—" : `${Math.round(r.relative * 100)} %`),
    h(
      "td",
      { class: "n", dataset: { attr: "last_report_time" }, title: r.reportMs ? clock(r.reportMs) : "" },
      ago(r.reportMs),
      r.status === "silent" ? h("span", { class: "visually-hidden" }, ", stopped reporting") : null,
    ),
  );
}

// "Inverter 2" before "Inverter 10".
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
const compareText = (a, b) => collator.compare(a || "", b || "");

function compare(a, b, { key, dir }) {
  const x = a[key];
  const y = b[key];
  // Missing values sort last whichever way.
  if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1;
  if (y === null || y === undefined) return -1;
  const order = typeof x === "string" ? compareText(x, y) : x - y;
  return order * dir || compareText(a.name, b.name);
}
