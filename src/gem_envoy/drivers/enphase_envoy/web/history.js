// The charts page: power (production, consumption, grid, battery) and the battery's state of
// charge over the last 24 hours or 7 days, from the host's attribute history, extended live
// as the host pushes new values.

import { api } from "/js/api.js";
import { h } from "/js/dom.js";
import { DAY_MS, isNum, percent, power } from "/js/format.js";
import { lineChart } from "./charts.js";
import { subscribe } from "/js/state.js";
import { useStyle } from "./style.js";

const RANGES = { "24h": { label: "24 hours", ms: DAY_MS }, "7d": { label: "7 days", ms: 7 * DAY_MS } };
const POWER = [
  { key: "production", attr: "production_now_w", label: "Solar production", cls: "production", area: true },
  { key: "consumption", attr: "consumption_now_w", label: "Home consumption", cls: "consumption" },
  { key: "net", attr: "net_power_w", label: "Grid (+ export, − import)", cls: "net" },
  { key: "battery", attr: "battery_now_w", label: "Battery (+ discharge, − charge)", cls: "battery" },
];
const SOC = { key: "soc", attr: "battery_soc_percent", label: "State of charge", cls: "soc", area: true };
const REDRAW_MS = 2000;

const kw = (w) => {
  const v = w / 1000;
  return Math.abs(v) >= 10 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1);
};

export function mount(root, ctx) {
  const device = ctx.device;
  const rangeKey = RANGES[ctx.params[0]] ? ctx.params[0] : "24h";
  const span = RANGES[rangeKey].ms;
  useStyle();
  document.title = "Charts · gem-envoy";

  const picker = h(
    "div",
    { class: "segmented", role: "group", "aria-label": "Period" },
    Object.entries(RANGES).map(([key, r]) =>
      h(
        "button",
        {
          type: "button",
          "aria-pressed": key === rangeKey ? "true" : "false",
          on: { click: () => (location.hash = `#/${ctx.route}/${key}`) },
        },
        r.label,
      ),
    ),
  );
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Charts"), picker));
  if (!device) {
    root.append(h("section", { class: "card empty" }, "No device yet."));
    return null;
  }

  const series = Object.fromEntries([...POWER, SOC].map((d) => [d.key, { ...d, points: [], hidden: false }]));
  const powerChart = lineChart({
    height: 280,
    yTitle: "Power (kW)",
    xTitle: "Local time",
    yTick: kw,
    tipValue: (v) => power(v, { signed: true }),
    includeZero: true,
    label: `Power over the last ${RANGES[rangeKey].label}`,
  });
  const socChart = lineChart({
    height: 200,
    yTitle: "Charge (%)",
    xTitle: "Local time",
    yTick: (v) => `${v}`,
    tipValue: percent,
    yMin: 0,
    yMax: 100,
    label: `Battery state of charge over the last ${RANGES[rangeKey].label}`,
  });

  const toggles = h(
    "div",
    { class: "series-toggles", role: "group", "aria-label": "Lines shown" },
    POWER.map((d) =>
      h(
        "label",
        {},
        h("input", {
          type: "checkbox",
          checked: true,
          on: {
            change: (e) => {
              series[d.key].hidden = !e.target.checked;
              redraw();
            },
          },
        }),
        h("span", { class: `swatch c-${d.cls}` }),
        d.label,
      ),
    ),
  );
  const socCard = h(
    "section",
    { class: "card", "aria-labelledby": "soc-h", hidden: true },
    h("h2", { id: "soc-h" }, "Battery state of charge"),
    socChart.el,
  );
  const note = h("p", { class: "chart-note" }, "Loading history…");
  root.append(
    h(
      "div",
      { class: "grid" },
      h(
        "section",
        { class: "card", "aria-labelledby": "power-h" },
        h("h2", { id: "power-h" }, "Power"),
        toggles,
        powerChart.el,
        note,
      ),
      socCard,
    ),
  );

  function window_() {
    const now = Date.now();
    return [now - span, now];
  }

  function redraw() {
    const range = window_();
    powerChart.set(
      POWER.map((d) => series[d.key]),
      range,
    );
    socCard.hidden = !series.soc.points.length;
    if (!socCard.hidden) socChart.set([series.soc], range);
  }

  async function start() {
    const since = (Date.now() - span) / 1000;
    const results = await Promise.allSettled(
      [...POWER, SOC].map((d) => api(`/api/history/device/${device.id}/${d.attr}?since=${since}`)),
    );
    [...POWER, SOC].forEach((d, i) => {
      const r = results[i];
      series[d.key].points = r.status === "fulfilled" ? r.value.points.map(([t, v]) => [t * 1000, v]) : [];
    });
    const failed = results.find((r) => r.status === "rejected");
    const total = Object.values(series).reduce((n, x) => n + x.points.length, 0);
    note.textContent = failed
      ? `Some history could not be read: ${failed.reason.message}`
      : total
        ? `Points recorded at each poll; the host keeps them for its retention period. ${rangeKey === "7d" ? "Long periods are averaged." : ""}`
        : "No history yet: the host records values each time it polls the gateway.";
    redraw();
  }

  // New values extend the lines; drawing is throttled so a busy stream stays cheap.
  let timer = null;
  const unsubscribe = subscribe((type, id, values) => {
    if (type !== "device" || id !== device.id) return;
    const now = Date.now();
    for (const d of [...POWER, SOC]) {
      if (isNum(values[d.attr])) series[d.key].points.push([now, values[d.attr]]);
    }
    if (!timer) timer = setTimeout(() => ((timer = null), redraw()), REDRAW_MS);
  });
  start();
  return () => {
    unsubscribe();
    clearTimeout(timer);
    powerChart.destroy();
    socChart.destroy();
  };
}
