// The energy page: what the plant produced, the home consumed, the grid and the battery
// exchanged, per day of a month, per month of a year, or per year, in the plant's own time
// zone (GET /api/energy); the totals and the two shares, the same period a year earlier
// beside it, and a CSV file of exactly the numbers shown.
//
// Routes: #/energy/days/2026-03, #/energy/months/2026, #/energy/years; without a date, the
// period that holds today.

import { api } from "/js/api.js";
import { fill, h } from "/js/dom.js";
import { energy, isNum, percent } from "/js/format.js";
import { barChart } from "./bars.js";
import { useStyle } from "./style.js";

const VIEWS = {
  days: { period: "day", label: "Days" },
  months: { period: "month", label: "Months" },
  years: { period: "year", label: "Years" },
};
const ROLES = [
  { key: "production", label: "Produced", cls: "production" },
  { key: "consumption", label: "Consumed", cls: "consumption" },
  { key: "grid_import", label: "Imported", cls: "import" },
  { key: "grid_export", label: "Exported", cls: "export" },
  { key: "storage_charge", label: "Battery charged", cls: "charge" },
  { key: "storage_discharge", label: "Battery discharged", cls: "discharge" },
];
const SHARES = [
  { key: "self_consumption_pct", label: "Self-consumption", hint: "of the production used on site" },
  { key: "self_sufficiency_pct", label: "Self-sufficiency", hint: "of the consumption not bought" },
];

const pad = (n) => String(n).padStart(2, "0");
const monthEnd = (y, m) => new Date(Date.UTC(y, m, 0)).getUTCDate(); // m: 1-12
const monthName = (y, m, form = "long") =>
  new Date(Date.UTC(y, m - 1, 1)).toLocaleDateString([], { month: form, timeZone: "UTC" });
const kwhTick = (wh) => {
  const v = Math.abs(wh / 1000);
  return (wh / 1000).toFixed(v >= 10 || Number.isInteger(v) ? 0 : v >= 1 ? 1 : 2);
};

/** Today's date (YYYY-MM-DD) in the plant's time zone. */
function todayIn(zone) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });
  return parts.format(new Date());
}

function dayBefore(date) {
  const [y, m, d] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10);
}

/** The same date a year earlier (29 February becomes the 28th). */
function yearEarlier(date) {
  const [y, m, d] = date.split("-").map(Number);
  return `${y - 1}-${pad(m)}-${pad(Math.min(d, monthEnd(y - 1, m)))}`;
}

/** The API query of a view at an anchor ("2026-03" for days, "2026" for months). */
function query(view, anchor) {
  const period = VIEWS[view].period;
  if (view === "days" && /^\d{4}-\d{2}$/.test(anchor || "")) {
    const [y, m] = anchor.split("-").map(Number);
    return `period=${period}&from=${anchor}-01&to=${anchor}-${pad(monthEnd(y, m))}`;
  }
  if (view === "months" && /^\d{4}$/.test(anchor || "")) return `period=${period}&from=${anchor}-01-01&to=${anchor}-12-31`;
  return `period=${period}`;
}

function anchorOf(view, from) {
  return view === "days" ? from.slice(0, 7) : view === "months" ? from.slice(0, 4) : "";
}

function shift(view, anchor, step) {
  if (view === "days") {
    const [y, m] = anchor.split("-").map(Number);
    const index = y * 12 + (m - 1) + step;
    return `${Math.floor(index / 12)}-${pad((index % 12) + 1)}`;
  }
  return String(Number(anchor) + step);
}

/** The anchor of the same period a year earlier. */
function yearBefore(view, anchor) {
  return shift(view, anchor, view === "days" ? -12 : -1);
}

/** How a period is named in titles: "March 2026", "2026", "2017 – 2026". */
function periodName(view, anchor, answer) {
  if (view === "days") {
    const [y, m] = anchor.split("-").map(Number);
    return `${monthName(y, m)} ${y}`;
  }
  if (view === "months") return anchor;
  const years = answer.buckets.map((b) => b.label);
  return years.length > 1 ? `${years[0]} – ${years[years.length - 1]}` : years[0] || "";
}

function bucketTitle(view, label) {
  if (view === "days") {
    const [y, m, d] = label.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString([], {
      weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC",
    });
  }
  if (view === "months") {
    const [y, m] = label.split("-").map(Number);
    return `${monthName(y, m)} ${y}`;
  }
  return label;
}

function axisLabel(view, label) {
  if (view === "days") return String(Number(label.slice(8, 10)));
  if (view === "months") return monthName(Number(label.slice(0, 4)), Number(label.slice(5, 7)), "short");
  return label;
}

/** The CSV of an answer: one line per bucket and a total, the API's numbers as they are. */
export function toCsv(answer) {
  const roles = ROLES.filter((r) => answer.roles.includes(r.key));
  const head = ["label", "start", "end", ...roles.map((r) => `${r.key}_wh`), ...SHARES.map((x) => x.key)];
  const cell = (v) => (v === null || v === undefined ? "" : String(v));
  const line = (label, start, end, values) =>
    [label, start, end, ...roles.map((r) => cell(values[r.key])), ...SHARES.map((x) => cell(values[x.key]))].join(",");
  return [
    head.join(","),
    ...answer.buckets.map((b) => line(b.label, b.start, b.end, b)),
    line("total", answer.from, answer.to, answer.totals),
  ].join("\r\n") + "\r\n";
}

export function mount(root, ctx) {
  const device = ctx.device;
  const view = VIEWS[ctx.params[0]] ? ctx.params[0] : "days";
  useStyle();
  document.title = "Energy · gem-envoy";
  const go = (v, anchor) => (location.hash = `#/${ctx.route}/${v}${anchor ? `/${anchor}` : ""}`);

  const picker = h(
    "div",
    { class: "segmented", role: "group", "aria-label": "Bars per" },
    Object.entries(VIEWS).map(([key, v]) =>
      h("button", { type: "button", "aria-pressed": key === view ? "true" : "false", on: { click: () => go(key) } }, v.label),
    ),
  );
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Energy"), picker));
  if (!device) {
    root.append(h("section", { class: "card empty" }, "No device yet."));
    return null;
  }

  const status = h("p", { class: "chart-note", role: "status" }, "Loading energy…");
  const nav = h("div", { class: "energy-nav" });
  const totalsCard = h("section", { class: "card", "aria-labelledby": "totals-h" });
  const charts = h("div", { class: "stack" });
  const tableCard = h("section", { class: "card" });
  root.append(nav, status, h("div", { class: "stack energy-page" }, totalsCard, charts, tableCard));
  const made = [];
  let gone = false;

  async function start() {
    const base = `/api/energy/${device.id}?`;
    let answer;
    try {
      answer = await api(base + query(view, ctx.params[1]));
    } catch (err) {
      status.textContent = `The energy could not be read: ${err.message}`;
      return;
    }
    if (gone) return;
    const anchor = anchorOf(view, answer.from);
    const today = todayIn(answer.time_zone);
    const yesterday = dayBefore(today);
    const current = answer.from <= today && today <= answer.to;
    // The same buckets a year earlier, outlined behind this period's bars.
    const earlier = view === "years" ? null : api(base + query(view, yearBefore(view, anchor))).catch(() => null);
    // The totals compared: a finished period with the same one a year earlier; the period
    // under way (the current year in the years view) by its finished days, with the same
    // days a year earlier, so that half a month meets half a month.
    const since = view === "years" ? `${today.slice(0, 4)}-01-01` : answer.from;
    const toDate =
      (current || view === "years") && yesterday >= since
        ? Promise.all([
            api(`${base}period=day&from=${since}&to=${yesterday}`),
            api(`${base}period=day&from=${yearEarlier(since)}&to=${yearEarlier(yesterday)}`),
          ]).catch(() => null)
        : null;
    const [prior, pair] = await Promise.all([earlier, toDate]);
    if (gone) return;
    let comparison = null;
    if (pair) {
      const label = `${shortDate(pair[1].from)} – ${shortDate(pair[1].to)}`;
      const note = `Changes compare the finished days (${shortDate(pair[0].from)} – ${shortDate(pair[0].to)}) with the same days a year earlier.`;
      // In the years view the tiles hold every year; the change is the current year's.
      const prefix = view === "years" ? `${today.slice(0, 4)} so far: ` : "";
      comparison = { own: pair[0].totals, before: pair[1].totals, label, note, prefix };
    } else if (prior && !current) {
      comparison = { own: answer.totals, before: prior.totals, label: periodName(view, yearBefore(view, anchor), prior), note: "", prefix: "" };
    }
    render(answer, anchor, prior, comparison);
  }

  function render(answer, anchor, prior, comparison) {
    // A role the driver knows but this plant never recorded (no battery) is left out.
    const recorded = (key) => [answer, prior].some((a) => a && a.buckets.some((b) => b[key] !== null));
    const roles = ROLES.filter((r) => answer.roles.includes(r.key) && recorded(r.key));
    const name = periodName(view, anchor, answer);
    status.textContent = `Local time of the plant: ${answer.time_zone}.`;

    fill(
      nav,
      view === "years"
        ? h("span", {})
        : h("button", { type: "button", class: "ghost", "aria-label": "Previous period", on: { click: () => go(view, shift(view, anchor, -1)) } }, "‹"),
      h("h2", { class: "energy-title", id: "energy-period" }, name),
      view === "years"
        ? h("span", {})
        : h("button", { type: "button", class: "ghost", "aria-label": "Next period", on: { click: () => go(view, shift(view, anchor, 1)) } }, "›"),
      h("button", { type: "button", id: "energy-csv", on: { click: () => download(answer, name) } }, "Download CSV"),
    );

    fill(
      totalsCard,
      h("h2", { id: "totals-h" }, view === "years" ? `Totals ${name}` : `Totals, ${name}`),
      h(
        "div",
        { class: "energy-totals" },
        roles.map((r) =>
          tile(
            r.label,
            energy(answer.totals[r.key]),
            r.cls,
            comparison ? comparison.prefix + change(comparison.own[r.key], comparison.before[r.key], comparison.label) : "",
            r.key,
          ),
        ),
        SHARES.map((x) =>
          tile(
            x.label,
            percent(answer.totals[x.key]),
            null,
            comparison && isNum(comparison.before[x.key]) ? `${percent(comparison.before[x.key])} in ${comparison.label}` : x.hint,
            x.key,
          ),
        ),
      ),
      comparison && comparison.note ? h("p", { class: "small muted" }, comparison.note) : null,
    );

    for (const chart of made.splice(0)) chart.destroy();
    const labels = answer.buckets.map((b) => axisLabel(view, b.label));
    const values = (data, key) => (data ? data.buckets.map((b) => b[key]) : []);
    const priorAt = (i, key) => (prior && prior.buckets[i] ? prior.buckets[i][key] : null);
    const tip = (keys) => (i) => {
      const b = answer.buckets[i];
      const rows = roles.filter((r) => keys.includes(r.key)).map((r) => [r.cls, r.label, energy(b[r.key])]);
      if (prior && keys.includes("production")) {
        rows.push(...roles.filter((r) => r.key === "production" || r.key === "consumption").map((r) => [null, `${r.label} a year earlier`, energy(priorAt(i, r.key))]));
      }
      rows.push(...SHARES.map((x) => [null, x.label, percent(b[x.key])]));
      return [bucketTitle(view, b.label), rows];
    };
    const pick = view === "days" ? null : (i) => go(view === "years" ? "months" : "days", answer.buckets[i].label);
    const cards = [];
    const add = (id, title, legend, series, keys) => {
      const chart = barChart({
        height: 240,
        label: `${title} per ${VIEWS[view].period}, ${name}`,
        yTitle: "Energy (kWh)",
        yTick: kwhTick,
        minSpan: 1000, // 1 kWh: a month without import still gets a readable axis
        tip: tip(keys),
        onPick: pick,
      });
      made.push(chart);
      cards.push(h("section", { class: "card", id, "aria-labelledby": `${id}-h` }, h("h2", { id: `${id}-h` }, title), legendOf(legend), chart.el));
      return () => chart.set({ labels, series });
    };
    const draws = [];
    const main = roles.filter((r) => r.key === "production" || r.key === "consumption");
    if (main.length) {
      const legend = main.map((r) => [r.cls, r.label]);
      const series = main.map((r) => ({ key: r.key, cls: r.cls, stack: r.key, values: values(answer, r.key) }));
      if (prior) {
        legend.push(["ghost", "A year earlier (outline)"]);
        series.push(...main.map((r) => ({ key: `${r.key}-earlier`, cls: r.cls, stack: r.key, ghost: true, values: values(prior, r.key) })));
      }
      draws.push(add("energy-main", "Production and consumption", legend, series, ["production", "consumption"]));
    }
    const twoWay = (id, title, upRole, downRole) => {
      const pair = roles.filter((r) => r.key === upRole || r.key === downRole);
      if (!pair.length) return;
      draws.push(
        add(
          id,
          title,
          pair.map((r) => [r.cls, `${r.label}${r.key === downRole ? " (below)" : ""}`]),
          pair.map((r) => ({ key: r.key, cls: r.cls, stack: id, down: r.key === downRole, values: values(answer, r.key) })),
          [upRole, downRole],
        ),
      );
    };
    twoWay("energy-grid", "Grid", "grid_import", "grid_export");
    twoWay("energy-storage", "Battery", "storage_discharge", "storage_charge");
    fill(charts, cards);
    for (const draw of draws) draw();

    fill(
      tableCard,
      h(
        "details",
        {},
        h("summary", {}, "Table of values"),
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "energy-table" },
            h("caption", { class: "visually-hidden" }, `Energy per ${VIEWS[view].period}, ${name}`),
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Period"), roles.map((r) => h("th", { scope: "col" }, r.label)), SHARES.map((x) => h("th", { scope: "col" }, x.label)))),
            h(
              "tbody",
              {},
              answer.buckets.map((b) =>
                h(
                  "tr",
                  {},
                  h("th", { scope: "row" }, pick ? h("a", { href: `#/${ctx.route}/${view === "years" ? "months" : "days"}/${b.label}` }, bucketTitle(view, b.label)) : bucketTitle(view, b.label)),
                  roles.map((r) => h("td", { class: "num" }, energy(b[r.key]))),
                  SHARES.map((x) => h("td", { class: "num" }, percent(b[x.key]))),
                ),
              ),
            ),
            h("tfoot", {}, h("tr", {}, h("th", { scope: "row" }, "Total"), roles.map((r) => h("td", { class: "num" }, energy(answer.totals[r.key]))), SHARES.map((x) => h("td", { class: "num" }, percent(answer.totals[x.key]))))),
          ),
        ),
      ),
    );
  }

  function download(answer, name) {
    const blob = new Blob([toCsv(answer)], { type: "text/csv" });
    const link = h("a", { href: URL.createObjectURL(blob), download: `energy-${device.name}-${answer.period}-${answer.from}-${answer.to}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    status.textContent = `Downloaded the energy of ${name} as CSV.`;
  }

  start();
  return () => {
    gone = true;
    for (const chart of made) chart.destroy();
  };
}

function shortDate(date) {
  const [y, m, d] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString([], { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
}

/** "+6 % vs March 2025", in words a screen reader says as they are. */
function change(now, before, since) {
  if (!isNum(before)) return `nothing recorded in ${since}`;
  if (!isNum(now) || before <= 0) return `${energy(before)} in ${since}`;
  const p = Math.round((100 * (now - before)) / before);
  return `${p > 0 ? "+" : p < 0 ? "−" : "±"}${Math.abs(p)} % vs ${since}`;
}

function tile(label, value, cls, note, key) {
  return h(
    "div",
    { class: "energy-tile", dataset: { role: key } },
    h("span", { class: "tile-label" }, cls ? h("span", { class: `swatch c-${cls}` }) : null, label),
    h("span", { class: "tile-value" }, value),
    h("span", { class: "tile-note" }, note),
  );
}

function legendOf(items) {
  return h(
    "div",
    { class: "series-toggles", "aria-hidden": "true" },
    items.map(([cls, text]) => h("span", { class: "legend-item" }, h("span", { class: `swatch c-${cls}` }), text)),
  );
}
