// Every inverter (zone) of the device: a compact array of tiles that shows at a glance which
// panel under-produces, and a sortable table of the same figures.
//
// Panels differ in size, so a panel is judged against its own best report (max_w): its
// "yield" is last_w / max_w, and it under-produces when its yield is well below the array's
// median yield. At night (the array's median output under NIGHT_W) nobody is judged.
//
// Admins also get the button that adds a zone per inverter from the gateway's own list.

import { api } from "/js/api.js";
import { fill, h, setValue } from "/js/dom.js";
import { isNum, power } from "/js/format.js";
import { get, load, subscribe } from "/js/state.js";
import { useStyle } from "./style.js";
import { addInverterZones, describeOutcome } from "./zonesync.js";

const NIGHT_W = 20;
const UNDER = 0.8; // below 80 % of the array's median yield: under-producing
const LOW = 0.9; // below 90 %: low

const COLUMNS = [
  { key: "name", label: "Inverter", text: true },
  { key: "address", label: "Serial", text: true },
  { key: "last_w", label: "Now", n: true },
  { key: "max_w", label: "Best", n: true },
  { key: "yield", label: "Now / best", n: true },
  { key: "relative", label: "Vs. array", n: true },
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

  function rows() {
    const list = zones.map((z) => {
      const v = get("zone", z.id).values;
      const last = isNum(v.last_w) ? v.last_w : null;
      const best = isNum(v.max_w) ? v.max_w : null;
      return {
        zone: z,
        name: z.name,
        address: z.address,
        last_w: last,
        max_w: best,
        yield: last !== null && best ? last / best : null,
      };
    });
    const reporting = list.filter((r) => r.last_w !== null);
    const medianW = median(reporting.map((r) => r.last_w));
    const medianYield = median(list.map((r) => r.yield).filter((y) => y !== null));
    const daylight = medianW !== null && medianW >= NIGHT_W && medianYield > 0;
    for (const r of list) {
      r.relative = daylight && r.yield !== null ? r.yield / medianYield : null;
      r.status =
        r.last_w === null
          ? "none"
          : !daylight
            ? "idle"
            : r.relative < UNDER
              ? "under"
              : r.relative < LOW
                ? "low"
                : "ok";
    }
    return list;
  }

  function render() {
    const list = rows();
    const total = list.reduce((sum, r) => sum + (r.last_w || 0), 0);
    const under = list.filter((r) => r.status === "under").length;
    const low = list.filter((r) => r.status === "low").length;
    const parts = [`${list.length} inverters`, `${power(total)} now`];
    if (under) parts.push(`${under} under-producing`);
    if (low) parts.push(`${low} low`);
    if (list.length && list.every((r) => r.status === "idle" || r.status === "none"))
      parts.push("no sun: nothing to compare");
    summary.textContent = parts.join(" · ");
    const names = list.filter((r) => r.status === "under").map((r) => r.name);
    notice.hidden = !names.length;
    notice.textContent = names.length
      ? `${names.join(", ")} ${names.length === 1 ? "produces" : "produce"} well below the rest of the ` +
        "array for its size. Shade, dirt or a fault are the usual causes: worth a look if it lasts for days."
      : "";

    // Tiles stay in name order, as the panels are numbered on the roof plan.
    const byName = [...list].sort((a, b) => compareText(a.name, b.name));
    const top = Math.max(1, ...list.map((r) => r.last_w || 0));
    fill(
      array,
      byName.map((r) => tile(r, top)),
    );

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
    if (type === "zone" && ids.has(id)) scheduleRender();
  });
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
  return unsubscribe;
}

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

function tile(r, top) {
  const ratio = r.relative === null ? "" : `${Math.round(r.relative * 100)} %`;
  const words = { under: "under-producing", low: "low", ok: "normal", idle: "no sun", none: "no report yet" }[
    r.status
  ];
  const el = h(
    "div",
    {
      class: "panel",
      role: "listitem",
      dataset: { status: r.status, zone: r.zone.id },
      title: `${r.name} (${r.address}): ${power(r.last_w)} now, best ${power(r.max_w)}; ${words}`,
      "aria-label": `${r.name}: ${power(r.last_w)}, ${words}`,
      style: { "--level": String(r.yield === null ? 0 : Math.min(1, r.yield)) },
    },
    h("span", { class: "pname" }, r.name),
    h("span", { class: "pw", dataset: { attr: "last_w" } }, power(r.last_w)),
    h("span", { class: "pratio" }, ratio || words),
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
  );
}

function median(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
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
