// A line chart in plain SVG: time on x, one unit on y, any number of series, gaps where the
// host recorded nothing, and a cursor with the values under the pointer (mouse or finger).

import { h, s } from "/js/dom.js";

const M = { top: 12, right: 14, bottom: 46, left: 54 };
const HOUR = 3600 * 1000;
const X_STEPS = [HOUR, 2 * HOUR, 3 * HOUR, 4 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR, 48 * HOUR];

/**
 * options: {height, yTitle, xTitle, yTick(v) -> text, tipValue(v) -> text, yMin, yMax,
 *           includeZero, label (for screen readers)}
 * Returns {el, set(series, [t0, t1]), destroy()}; a series is
 * {key, label, cls, points: [[epochMs, value], ...] oldest first, area, hidden}.
 */
export function lineChart(options) {
  const el = h("div", { class: "chart" });
  const svg = s("svg", { role: "img", "aria-label": options.label || options.yTitle });
  const tip = h("div", { class: "tip", hidden: true });
  el.append(svg, tip);
  let series = [];
  let range = [Date.now() - 24 * HOUR, Date.now()];
  let layout = null; // scales of the last drawing, for the cursor

  function draw() {
    const width = Math.max(280, Math.round(el.clientWidth || 640));
    const height = options.height || 260;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("height", String(height));
    svg.replaceChildren();
    const pw = width - M.left - M.right;
    const ph = height - M.top - M.bottom;
    const [t0, t1] = range;
    const shown = series.filter((x) => !x.hidden);

    // y domain from what is shown, widened to nice round ticks
    let lo = options.yMin;
    let hi = options.yMax;
    if (lo === undefined || hi === undefined) {
      const values = shown.flatMap((x) => x.points.filter((p) => p[0] >= t0).map((p) => p[1]));
      if (options.includeZero) values.push(0);
      const min = values.length ? Math.min(...values) : 0;
      const max = values.length ? Math.max(...values) : 1;
      lo = lo ?? min;
      hi = hi ?? (max > min ? max : min + 1);
    }
    const ticks = niceTicks(lo, hi, Math.max(3, Math.floor(ph / 42)));
    lo = Math.min(lo, ticks[0]);
    hi = Math.max(hi, ticks[ticks.length - 1]);
    const x = (t) => M.left + ((t - t0) / (t1 - t0)) * pw;
    const y = (v) => M.top + ph - ((v - lo) / (hi - lo || 1)) * ph;
    layout = { x, y, t0, t1, pw, ph, width };

    const axis = s("g", { class: "axis" });
    for (const v of ticks) {
      axis.append(
        s("line", { class: v === 0 ? "zero" : "gridline", x1: M.left, x2: M.left + pw, y1: y(v), y2: y(v) }),
      );
      axis.append(s("text", { x: M.left - 8, y: y(v) + 4, "text-anchor": "end" }, options.yTick(v)));
    }
    const step = X_STEPS.find((st) => (t1 - t0) / st <= pw / 70) || X_STEPS[X_STEPS.length - 1];
    for (const t of timeTicks(t0, t1, step)) {
      axis.append(s("line", { class: "gridline", x1: x(t), x2: x(t), y1: M.top, y2: M.top + ph }));
      axis.append(s("text", { x: x(t), y: M.top + ph + 16, "text-anchor": "middle" }, timeLabel(t, step)));
    }
    svg.append(axis);
    svg.append(
      s(
        "text",
        {
          class: "axis-title",
          x: 12,
          y: M.top + ph / 2,
          transform: `rotate(-90 12 ${M.top + ph / 2})`,
          "text-anchor": "middle",
        },
        options.yTitle,
      ),
      s(
        "text",
        { class: "axis-title", x: M.left + pw / 2, y: height - 6, "text-anchor": "middle" },
        options.xTitle || "Time",
      ),
    );

    const plot = s("g", {});
    const baseline = y(Math.max(lo, Math.min(hi, 0)));
    for (const serie of shown) {
      for (const run of runs(serie.points, t0)) {
        const d = run.map((p, i) => `${i ? "L" : "M"}${x(p[0]).toFixed(1)} ${y(p[1]).toFixed(1)}`).join("");
        if (serie.area && run.length > 1) {
          const closing = `L${x(run[run.length - 1][0]).toFixed(1)} ${baseline}L${x(run[0][0]).toFixed(1)} ${baseline}Z`;
          plot.append(s("path", { class: `area s-${serie.cls}`, d: d + closing }));
        }
        plot.append(s("path", { class: `series s-${serie.cls}`, d: run.length > 1 ? d : `${d}h0.01` }));
      }
    }
    svg.append(plot);
    if (!shown.some((x) => x.points.some((p) => p[0] >= t0))) {
      svg.append(
        s(
          "text",
          { class: "nodata", x: M.left + pw / 2, y: M.top + ph / 2, "text-anchor": "middle" },
          "No data for this period yet",
        ),
      );
    }
    layout.cursor = s("line", { class: "cursor", y1: M.top, y2: M.top + ph, visibility: "hidden" });
    svg.append(layout.cursor);
  }

  function pointer(event) {
    if (!layout) return;
    const box = svg.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * layout.width;
    const t = layout.t0 + ((px - M.left) / layout.pw) * (layout.t1 - layout.t0);
    if (t < layout.t0 || t > layout.t1) return leave();
    const rows = [];
    for (const serie of series.filter((x) => !x.hidden)) {
      const p = nearest(serie.points, t);
      if (p && Math.abs(p[0] - t) <= gapLimit(serie.points)) rows.push([serie, p[1]]);
    }
    if (!rows.length) return leave();
    layout.cursor.setAttribute("x1", String(layout.x(t)));
    layout.cursor.setAttribute("x2", String(layout.x(t)));
    layout.cursor.setAttribute("visibility", "visible");
    tip.replaceChildren(
      h(
        "div",
        { class: "t" },
        new Date(t).toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" }),
      ),
      ...rows.map(([serie, v]) =>
        h(
          "div",
          {},
          h("span", { class: `swatch c-${serie.cls}` }),
          " ",
          `${serie.label}: `,
          h("b", {}, options.tipValue(v)),
        ),
      ),
    );
    tip.hidden = false;
    const left = (px / layout.width) * box.width;
    const flip = left > box.width / 2;
    tip.style.setProperty("left", flip ? "auto" : `${left + 12}px`);
    tip.style.setProperty("right", flip ? `${box.width - left + 12}px` : "auto");
    tip.style.setProperty("top", `${M.top}px`);
  }

  function leave() {
    tip.hidden = true;
    if (layout && layout.cursor) layout.cursor.setAttribute("visibility", "hidden");
  }

  svg.addEventListener("pointermove", pointer);
  svg.addEventListener("pointerdown", pointer);
  svg.addEventListener("pointerleave", leave);
  const resize = new ResizeObserver(() => draw());
  resize.observe(el);

  return {
    el,
    set(newSeries, newRange) {
      series = newSeries;
      if (newRange) range = newRange;
      draw();
    },
    destroy() {
      resize.disconnect();
    },
  };
}

/** The points split where the host recorded nothing for a while (an outage, a restart). */
function runs(points, t0) {
  const limit = gapLimit(points);
  const out = [];
  let run = [];
  let last = null;
  for (const p of points) {
    if (p[0] < t0) continue;
    if (last !== null && p[0] - last > limit) {
      out.push(run);
      run = [];
    }
    run.push(p);
    last = p[0];
  }
  if (run.length) out.push(run);
  return out;
}

/** A gap is over 4 times the usual spacing of the points, and never under 2 minutes. */
function gapLimit(points) {
  if (points.length < 3) return 2 * HOUR;
  const steps = [];
  for (let i = 1; i < points.length; i++) steps.push(points[i][0] - points[i - 1][0]);
  steps.sort((a, b) => a - b);
  return Math.max(2 * 60 * 1000, 4 * steps[Math.floor(steps.length / 2)]);
}

function nearest(points, t) {
  let lo = 0;
  let hi = points.length - 1;
  if (hi < 0) return null;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (points[mid][0] < t) lo = mid;
    else hi = mid;
  }
  return Math.abs(points[lo][0] - t) <= Math.abs(points[hi][0] - t) ? points[lo] : points[hi];
}

/** Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(lo, hi, count) {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((st) => st >= raw) || 10 * power;
  const first = Math.floor(lo / step) * step;
  const ticks = [];
  for (let v = first; v <= hi + step * 1e-9; v += step) ticks.push(Math.round(v / step) * step);
  if (ticks[ticks.length - 1] < hi) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

/** Ticks at round local times: every `step` from the local midnight before `t0`. */
function timeTicks(t0, t1, step) {
  const start = new Date(t0);
  start.setHours(0, 0, 0, 0);
  const out = [];
  for (let t = start.getTime(); t <= t1; t += step) if (t >= t0) out.push(t);
  return out;
}

function timeLabel(t, step) {
  const d = new Date(t);
  const midnight = d.getHours() === 0 && d.getMinutes() === 0;
  if (step >= 24 * HOUR || midnight) {
    return d.toLocaleDateString([], { weekday: "short", day: "numeric" });
  }
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
