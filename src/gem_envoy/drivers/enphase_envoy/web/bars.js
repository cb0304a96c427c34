// A bar chart in plain SVG for energy per period: one slot per bucket (a day, a month, a
// year), bars side by side per stack, stacked within one (values below zero stack
// downwards, so import over export reads as one bar), an outlined "ghost" bar for the same
// bucket a year earlier, and the values of a bucket under the pointer, finger or arrow keys.

import { h, s } from "/js/dom.js";
import { niceTicks } from "./charts.js";

const M = { top: 12, right: 10, bottom: 30, left: 50 };
const LABEL_PX = 26; // the room an x label needs; labels are thinned out to fit

/**
 * options: {height, label (for screen readers), yTitle, yTick(v) -> text, minSpan (of the y axis),
 *           tip(index) -> [title, [[cls, text, value]...]], onPick(index) (a mouse click)}
 * set({labels: [text per slot], series: [{key, cls, values: [number|null], stack, down, ghost}]})
 * A series with `down` is drawn below zero; `ghost` draws an outline behind its stack.
 */
export function barChart(options) {
  const el = h("div", { class: "chart bars" });
  const svg = s("svg", { role: "img", tabindex: "0", "aria-label": options.label });
  const tip = h("div", { class: "tip", hidden: true, "aria-live": "polite" });
  el.append(svg, tip);
  let data = { labels: [], series: [] };
  let layout = null;
  let active = -1;
  let pointerType = "mouse";

  function draw() {
    const width = Math.max(280, Math.round(el.clientWidth || 640));
    const height = options.height || 240;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("height", String(height));
    svg.replaceChildren();
    const n = data.labels.length;
    const pw = width - M.left - M.right;
    const ph = height - M.top - M.bottom;
    const stacks = [...new Set(data.series.filter((x) => !x.ghost).map((x) => x.stack))];

    // Each stack's top and bottom per slot, which set the y domain.
    let hi = 0;
    let lo = 0;
    for (let i = 0; i < n; i++) {
      for (const stack of stacks) {
        const members = data.series.filter((x) => x.stack === stack && !x.ghost);
        hi = Math.max(hi, sum(members.filter((x) => !x.down), i));
        lo = Math.min(lo, -sum(members.filter((x) => x.down), i));
      }
      for (const ghost of data.series.filter((x) => x.ghost)) hi = Math.max(hi, ghost.values[i] || 0);
    }
    if (hi - lo < (options.minSpan || 1)) hi = lo + (options.minSpan || 1); // all zero: a sensible axis
    const ticks = niceTicks(lo, hi, Math.max(3, Math.floor(ph / 40)));
    lo = Math.min(lo, ticks[0]);
    hi = Math.max(hi, ticks[ticks.length - 1]);
    const y = (v) => M.top + ph - ((v - lo) / (hi - lo)) * ph;
    const slot = pw / Math.max(1, n);
    layout = { slot, width, n, ph };

    const axis = s("g", { class: "axis" });
    for (const v of ticks) {
      axis.append(
        s("line", { class: v === 0 ? "zero" : "gridline", x1: M.left, x2: M.left + pw, y1: y(v), y2: y(v) }),
        s("text", { x: M.left - 6, y: y(v) + 4, "text-anchor": "end" }, options.yTick(v)),
      );
    }
    const every = Math.max(1, Math.ceil(LABEL_PX / slot));
    data.labels.forEach((text, i) => {
      if (i % every) return;
      axis.append(s("text", { x: M.left + (i + 0.5) * slot, y: M.top + ph + 16, "text-anchor": "middle" }, text));
    });
    svg.append(
      axis,
      s(
        "text",
        { class: "axis-title", x: 11, y: M.top + ph / 2, transform: `rotate(-90 11 ${M.top + ph / 2})`, "text-anchor": "middle" },
        options.yTitle,
      ),
    );

    layout.hover = s("rect", { class: "slot-hover", y: M.top, height: ph, width: slot, visibility: "hidden" });
    svg.append(layout.hover);
    const plot = s("g", { class: "plot" });
    const gap = slot > 10 ? Math.min(4, slot * 0.15) : 0.5;
    const barW = Math.max(1, (slot - 2 * gap) / Math.max(1, stacks.length));
    for (let i = 0; i < n; i++) {
      stacks.forEach((stack, k) => {
        const x = M.left + i * slot + gap + k * barW;
        const w = Math.max(0.8, barW - (stacks.length > 1 && barW > 3 ? 1 : 0));
        for (const ghost of data.series.filter((g) => g.ghost && g.stack === stack)) {
          const v = ghost.values[i];
          if (v > 0) plot.append(s("rect", { class: `ghost g-${ghost.cls}`, x, y: y(v), width: w, height: y(0) - y(v) }));
        }
        let up = 0;
        let down = 0;
        for (const serie of data.series.filter((x) => x.stack === stack && !x.ghost)) {
          const v = serie.values[i];
          if (!(v > 0)) continue;
          const from = serie.down ? down : up;
          const to = serie.down ? from - v : from + v;
          if (serie.down) down = to;
          else up = to;
          const top = y(Math.max(from, to));
          plot.append(
            s("rect", { class: `ebar b-${serie.cls}`, x, y: top, width: w, height: Math.max(0.5, y(Math.min(from, to)) - top) }),
          );
        }
      });
    }
    svg.append(plot);
    if (!data.series.some((x) => !x.ghost && x.values.some((v) => v !== null))) {
      svg.append(
        s("text", { class: "nodata", x: M.left + pw / 2, y: M.top + ph / 2, "text-anchor": "middle" }, "No data for this period"),
      );
    }
    if (active >= 0) show(active);
  }

  function show(index) {
    if (!layout || index < 0 || index >= layout.n) return hide();
    active = index;
    const [title, rows] = options.tip(index);
    tip.replaceChildren(
      h("div", { class: "t" }, title),
      ...rows.map(([cls, text, value]) =>
        h("div", {}, cls ? h("span", { class: `swatch c-${cls}` }) : null, cls ? " " : null, `${text}: `, h("b", {}, value)),
      ),
    );
    tip.hidden = false;
    layout.hover.setAttribute("x", String(M.left + index * layout.slot));
    layout.hover.setAttribute("visibility", "visible");
    // Beside the slot, on the side with more room, and never past the chart's edges (a
    // phone is narrower than the tip is wide next to a slot in the middle).
    const box = svg.getBoundingClientRect();
    const width = box.width || layout.width;
    const centre = ((M.left + (index + 0.5) * layout.slot) / layout.width) * width;
    const tipWidth = tip.offsetWidth;
    const wanted = centre > width / 2 ? centre - 10 - tipWidth : centre + 10;
    tip.style.setProperty("left", `${Math.max(0, Math.min(width - tipWidth, wanted))}px`);
    tip.style.setProperty("right", "auto");
    tip.style.setProperty("top", `${M.top}px`);
  }

  function hide() {
    active = -1;
    tip.hidden = true;
    if (layout) layout.hover.setAttribute("visibility", "hidden");
  }

  function indexAt(event) {
    const box = svg.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * layout.width;
    return Math.floor((px - M.left) / layout.slot);
  }

  svg.addEventListener("pointermove", (e) => layout && show(indexAt(e)));
  svg.addEventListener("pointerdown", (e) => {
    pointerType = e.pointerType;
    if (layout) show(indexAt(e));
  });
  svg.addEventListener("pointerleave", (e) => e.pointerType === "mouse" && hide());
  // A click picks the bucket (opens it) with a mouse; a tap only shows its values.
  svg.addEventListener("click", (e) => {
    if (pointerType === "mouse" && options.onPick && layout) {
      const index = indexAt(e);
      if (index >= 0 && index < layout.n) options.onPick(index);
    }
  });
  svg.addEventListener("keydown", (e) => {
    if (!layout || !layout.n) return;
    const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -Infinity, End: Infinity };
    if (e.key in moves) {
      e.preventDefault();
      const next = active < 0 ? 0 : active + moves[e.key];
      show(Math.max(0, Math.min(layout.n - 1, next)));
    } else if (e.key === "Enter" && active >= 0 && options.onPick) options.onPick(active);
    else if (e.key === "Escape") hide();
  });
  svg.addEventListener("blur", hide);
  const resize = new ResizeObserver(() => draw());
  resize.observe(el);

  return {
    el,
    set(next) {
      data = next;
      active = -1;
      tip.hidden = true;
      draw();
    },
    destroy() {
      resize.disconnect();
    },
  };
}

function sum(series, i) {
  return series.reduce((total, x) => total + (x.values[i] > 0 ? x.values[i] : 0), 0);
}
