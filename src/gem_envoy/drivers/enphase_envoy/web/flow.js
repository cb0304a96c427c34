// The power-flow picture: solar, home, grid and battery around a hub. Which way power moves
// is drawn twice: an arrowhead on each active line (it stays when motion is reduced), and dots
// moving along it (solar.css stops them for prefers-reduced-motion). The <title> says it all
// in words for screen readers. Values come from the device attributes:
//   production_now_w   solar -> hub
//   consumption_now_w  hub -> home
//   net_power_w        positive = export (hub -> grid), negative = import (grid -> hub)
//   battery_now_w      positive = discharging (battery -> hub), negative = charging

import { h, s, setValue } from "/js/dom.js";
import { isNum, percent, power } from "/js/format.js";

// Two drawings: a wide one, and a narrow one for phones, where the wide one would shrink its
// text to a squint. Both in user units that end up close to CSS pixels.
const LAYOUTS = {
  wide: {
    width: 520,
    height: 380,
    r: 36,
    hub: { x: 260, y: 190 },
    nodes: {
      solar: { x: 260, y: 62, text: "right" },
      grid: { x: 84, y: 190, text: "below" },
      home: { x: 436, y: 190, text: "below" },
      battery: { x: 260, y: 318, text: "right" },
    },
  },
  // Wide enough for the longest words beside a node ("discharging · 100 %", "no consumption
  // meter") at a 360 px phone's width: an SVG clips what lies past its box.
  narrow: {
    width: 360,
    height: 400,
    r: 30,
    hub: { x: 160, y: 200 },
    nodes: {
      solar: { x: 160, y: 50, text: "right" },
      grid: { x: 54, y: 200, text: "below" },
      home: { x: 268, y: 200, text: "below" },
      battery: { x: 160, y: 345, text: "right" },
    },
  },
};
const NARROW_BELOW_PX = 480;
const LABELS = { solar: "Solar", grid: "Grid", home: "Home", battery: "Battery" };
// The attribute each node's value shows (data-attr, for people who inspect and for tests).
const ATTRS = { solar: "production_now_w", grid: "net_power_w", home: "consumption_now_w", battery: "battery_now_w" };
// Below this, a line is drawn still: noise, not a flow.
const IDLE_W = 10;

// 24x24 line icons, drawn around (12, 12).
const ICONS = {
  solar:
    "M12 7.5a4.5 4.5 0 1 0 0 9a4.5 4.5 0 1 0 0-9M12 1.5v2.5M12 20v2.5M1.5 12H4M20 12h2.5M4.6 4.6l1.8 1.8M17.6 17.6l1.8 1.8M4.6 19.4l1.8-1.8M17.6 6.4l1.8-1.8",
  home: "M3 11.5L12 4l9 7.5M5.5 9.5V20h13V9.5M10 20v-5.5h4V20",
  grid: "M12 2L7 22M12 2l5 20M8.6 15h6.8M9.7 10h4.6M5 6h14M6.5 6l5.5 4 5.5-4M8 22h8",
  battery: "M3 7.5h16v9H3zM19 10.5h2v3h-2",
};

/** The picture, redrawn to fit its width; returns {el, update(values)}. */
export function createFlow() {
  const el = h("div", { class: "flow-box" });
  let drawn = null; // {layout name, parts, title}
  let last = {};
  const draw = () => {
    const name = el.clientWidth && el.clientWidth < NARROW_BELOW_PX ? "narrow" : "wide";
    if (drawn && drawn.name === name) return;
    drawn = { name, ...build(LAYOUTS[name]) };
    el.replaceChildren(drawn.svg);
    update(drawn.parts, drawn.title, last);
  };
  new ResizeObserver(draw).observe(el);
  draw();
  return {
    el,
    update(values) {
      last = values;
      update(drawn.parts, drawn.title, values);
    },
  };
}

function build(layout) {
  const { hub: HUB, r: R } = layout;
  const parts = {};
  const lines = s("g", {});
  const nodes = s("g", {});
  for (const [key, node] of Object.entries(layout.nodes)) {
    // Each line runs from its node to the hub; "reverse" animates it hub -> node.
    const dx = HUB.x - node.x;
    const dy = HUB.y - node.y;
    const len = Math.hypot(dx, dy);
    const x1 = node.x + (dx / len) * (R + 4);
    const y1 = node.y + (dy / len) * (R + 4);
    const x2 = HUB.x - (dx / len) * 14;
    const y2 = HUB.y - (dy / len) * 14;
    const line = s("path", { class: `line ${key}`, d: `M${x1} ${y1}L${x2} ${y2}` });
    // The arrowhead sits mid-line, its tip at local (4, 0), pointing node -> hub until
    // update() turns it round; hidden while the line is idle.
    const arrow = s(
      "g",
      { class: `arrow ${key}`, dataset: { x: (x1 + x2) / 2, y: (y1 + y2) / 2, angle: (Math.atan2(dy, dx) * 180) / Math.PI } },
      s("path", { d: "M-5 -6L4 0L-5 6" }),
    );
    lines.append(line, arrow);

    const group = s("g", { class: `node ${key}` });
    group.append(s("circle", { class: `node-ring ${key}`, cx: node.x, cy: node.y, r: R }));
    // Icons are 24 units wide, drawn at 1.5x (1.25x on the narrow layout) around the centre.
    const scale = R >= 36 ? 1.5 : 1.25;
    const half = 12 * scale;
    if (key === "battery") {
      // The battery icon fills up with its state of charge (the icon's body: x 3..19, y 7.5..16.5).
      const fillRect = s("rect", {
        class: "soc-fill",
        x: node.x - half + 3 * scale,
        y: node.y - half + 7.5 * scale,
        width: 0,
        height: 9 * scale,
      });
      group.append(fillRect);
      parts.socFill = { rect: fillRect, full: 16 * scale };
    }
    group.append(
      s("path", {
        class: `icon ${key}`,
        d: ICONS[key],
        transform: `translate(${node.x - half} ${node.y - half}) scale(${scale})`,
      }),
    );
    const texts = textBlock(node, R, LABELS[key]);
    texts.value.dataset.attr = ATTRS[key];
    if (key === "battery") texts.detail.dataset.attr = "battery_soc_percent";
    for (const t of Object.values(texts)) group.append(t);
    nodes.append(group);
    parts[key] = { line, arrow, group, ...texts };
  }
  const hub = s("circle", { class: "hub", cx: HUB.x, cy: HUB.y, r: 12 });
  const title = s("title", { id: "flow-title" }, "Power flow");
  const svg = s(
    "svg",
    {
      viewBox: `0 0 ${layout.width} ${layout.height}`,
      role: "img",
      "aria-labelledby": "flow-title",
      id: "flow",
    },
    title,
    lines,
    hub,
    nodes,
  );
  return { svg, parts, title };
}

function textBlock(node, R, label) {
  const anchor = node.text === "right" ? "start" : "middle";
  const x = node.text === "right" ? node.x + R + 14 : node.x;
  const y = node.text === "right" ? node.y - 16 : node.y + R + 22;
  return {
    label: s("text", { class: "label", x, y, "text-anchor": anchor }, label),
    value: s("text", { class: "value", x, y: y + 23, "text-anchor": anchor }, "—"),
    detail: s("text", { class: "detail", x, y: y + 42, "text-anchor": anchor }, ""),
  };
}

/** A line's state: idle, or active toward the hub, or (outward) from the hub to its node.
 * Live values arrive every second: a line whose state stays is not touched, so its dots keep
 * moving without a restart and nothing is restyled. */
function setLine({ line, arrow }, watts, outward) {
  const active = isNum(watts) && Math.abs(watts) >= IDLE_W;
  const direction = !active ? "" : outward ? "from-hub" : "to-hub";
  if (arrow.hasAttribute("transform") && arrow.dataset.direction === direction) return;
  line.classList.toggle("active", active);
  line.classList.toggle("reverse", active && outward);
  arrow.classList.toggle("active", active);
  arrow.dataset.direction = direction;
  const { x, y, angle } = arrow.dataset;
  arrow.setAttribute("transform", `translate(${x} ${y}) rotate(${Number(angle) + (outward ? 180 : 0)})`);
}

/** Text and style writes that skip what is already there (see setLine). */
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}
function setDisplay(el, display) {
  if (el.style.getPropertyValue("display") !== display) {
    if (display) el.style.setProperty("display", display);
    else el.style.removeProperty("display");
  }
}

function update(parts, title, v) {
  const solar = v.production_now_w;
  const home = v.consumption_now_w;
  const net = v.net_power_w;
  const battery = v.battery_now_w;
  const hasBattery = isNum(battery) || isNum(v.battery_soc_percent);

  setValue(parts.solar.value, power(solar), solar);
  setText(parts.solar.detail, !isNum(solar) ? "" : solar >= IDLE_W ? "producing" : "not producing");
  setLine(parts.solar, solar, false);

  setValue(parts.home.value, power(home), home);
  setText(parts.home.detail, isNum(home) ? "using" : "no consumption meter");
  setLine(parts.home, home, true);

  setValue(parts.grid.value, power(isNum(net) ? Math.abs(net) : net), net);
  const gridWay = !isNum(net) ? "no grid meter" : net >= IDLE_W ? "exporting" : net <= -IDLE_W ? "importing" : "balanced";
  setText(parts.grid.detail, gridWay);
  // Exporting: power leaves the hub for the grid.
  setLine(parts.grid, net, isNum(net) && net > 0);

  setDisplay(parts.battery.group, hasBattery ? "inline" : "none");
  setDisplay(parts.battery.line, hasBattery ? "inline" : "none");
  // Not "inline": the stylesheet shows the arrow only while its line is active.
  setDisplay(parts.battery.arrow, hasBattery ? "" : "none");
  if (hasBattery) {
    setValue(parts.battery.value, power(isNum(battery) ? Math.abs(battery) : battery), battery);
    const state = v.battery_state || (isNum(battery) ? (battery > 0 ? "discharging" : "charging") : "");
    const soc = v.battery_soc_percent;
    setText(parts.battery.detail, [state, isNum(soc) ? percent(soc) : null].filter(Boolean).join(" · "));
    if (isNum(soc) && parts.battery.detail.dataset.raw !== String(soc)) parts.battery.detail.dataset.raw = String(soc);
    // Charging: power leaves the hub for the battery.
    setLine(parts.battery, battery, isNum(battery) && battery < 0);
    const level = isNum(soc) ? Math.max(0, Math.min(100, soc)) / 100 : 0;
    const width = String(parts.socFill.full * level);
    if (parts.socFill.rect.getAttribute("width") !== width) parts.socFill.rect.setAttribute("width", width);
  }
  setText(title, describe(v, hasBattery));
}

/** The picture in words, for screen readers. */
function describe(v, hasBattery) {
  const out = [`Solar ${power(v.production_now_w)}`, `home uses ${power(v.consumption_now_w)}`];
  if (isNum(v.net_power_w)) {
    out.push(v.net_power_w >= 0 ? `exporting ${power(v.net_power_w)}` : `importing ${power(-v.net_power_w)}`);
  }
  if (hasBattery && isNum(v.battery_now_w)) {
    const what = v.battery_now_w >= 0 ? "discharging" : "charging";
    out.push(`battery ${what} ${power(Math.abs(v.battery_now_w))} at ${percent(v.battery_soc_percent)}`);
  }
  return `Power flow: ${out.join(", ")}.`;
}
