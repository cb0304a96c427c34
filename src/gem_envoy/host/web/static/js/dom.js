// Tiny DOM helpers: build elements without innerHTML, so no value can ever become markup.

const SVG_NS = "http://www.w3.org/2000/svg";

/** Sets attributes, properties and listeners: {class, text, on: {click}, dataset, style}. */
function apply(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") el.textContent = String(value);
    else if (key === "on") for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style") for (const [name, v] of Object.entries(value)) el.style.setProperty(name, v);
    else if (key === "value" || key === "checked" || key === "selected") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An HTML element: h("p", {class: "muted"}, "text", otherElement). */
export function h(tag, attrs, ...children) {
  return append(apply(document.createElement(tag), attrs), children);
}

/** An SVG element, same shape as h(). */
export function s(tag, attrs, ...children) {
  return append(apply(document.createElementNS(SVG_NS, tag), attrs), children);
}

/** Gives each body cell of a table its column's heading as data-label, which a table drawn
 * as cards on phones (app.css, table.cards) shows beside the value. */
export function labelCells(table) {
  const labels = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const row of table.querySelectorAll("tbody tr")) {
    [...row.cells].forEach((td, index) => {
      if (td.colSpan === 1) td.dataset.label = labels[index] || "";
    });
  }
}

/** Appends children to `el`, skipping null, undefined and false (DOM append would print them). */
export function add(el, ...children) {
  return append(el, children);
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Sets the text of `el` and keeps the raw value beside it, for people who inspect and for tests. */
export function setValue(el, text, raw) {
  if (!el) return;
  if (el.textContent !== text) el.textContent = text;
  if (raw === undefined || raw === null) delete el.dataset.raw;
  else el.dataset.raw = String(raw);
}
