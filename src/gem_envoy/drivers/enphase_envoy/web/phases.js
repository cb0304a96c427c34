// Power per phase, under the flow, on multi-phase sites only: one row per phase the driver
// reports (L1-L3 on three-phase, L1-L2 on split-phase; nothing on single-phase), with solar,
// home and grid, and which way the grid's power goes on that phase (one phase may export
// while another imports). A real table, so that screen readers name each cell's row and
// column. Rows are made once and only their text changes, at the live rate.

import { h, setValue } from "/js/dom.js";
import { isNum, power } from "/js/format.js";

const PHASES = ["l1", "l2", "l3"];
const COLUMNS = [
  ["production_now_w", "Solar"],
  ["consumption_now_w", "Home"],
  ["net_power_w", "Grid"],
];
const IDLE_W = 10; // as flow.js: below this, neither way

export function createPhases() {
  const rows = {};
  const body = h("tbody");
  for (const phase of PHASES) {
    // Each value keeps its attribute's name and raw value beside it (setValue), as the flow's do.
    const value = (name) => h("span", { dataset: { attr: `${name}_${phase}` } }, "—");
    const cells = {
      solar: value("production_now_w"),
      home: value("consumption_now_w"),
      grid: value("net_power_w"),
      direction: h("span", { class: "direction" }),
    };
    const row = h(
      "tr",
      { hidden: true, dataset: { phase } },
      h("th", { scope: "row" }, phase.toUpperCase()),
      h("td", { class: "n" }, cells.solar),
      h("td", { class: "n" }, cells.home),
      h("td", { class: "n" }, cells.grid, " ", cells.direction),
    );
    rows[phase] = { row, cells };
    body.append(row);
  }
  const el = h(
    "table",
    { class: "phases", id: "phases", hidden: true },
    h("caption", { class: "small muted" }, "Per phase"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Phase")),
        COLUMNS.map(([, label]) => h("th", { scope: "col", class: "n" }, label)),
      ),
    ),
    body,
  );

  function update(v) {
    let shown = 0;
    for (const phase of PHASES) {
      const { row, cells } = rows[phase];
      const present = COLUMNS.some(([name]) => isNum(v[`${name}_${phase}`]));
      if (row.hidden === present) row.hidden = !present;
      if (!present) continue;
      shown += 1;
      const solar = v[`production_now_w_${phase}`];
      const home = v[`consumption_now_w_${phase}`];
      const net = v[`net_power_w_${phase}`];
      setValue(cells.solar, power(solar), solar);
      setValue(cells.home, power(home), home);
      setValue(cells.grid, power(isNum(net) ? Math.abs(net) : net), net);
      // Positive net = export, as net_power_w.
      const way = !isNum(net) ? "" : net >= IDLE_W ? "export" : net <= -IDLE_W ? "import" : "balanced";
      if (cells.direction.textContent !== way) cells.direction.textContent = way;
      cells.direction.dataset.direction = way;
    }
    if (el.hidden !== (shown === 0)) el.hidden = shown === 0;
  }

  return { el, update };
}
