// The landing page when no driver page applies: no devices yet, or only devices whose
// drivers bring no pages. It lists the devices with what the host itself records for every
// one of them (online, last_error, last_poll_ms), whatever their driver.

import { fill, h, labelCells, setValue } from "./dom.js";
import { ago, isNum } from "./format.js";
import { get, load, subscribe } from "./state.js";

export function mount(root, ctx) {
  document.title = "gem-envoy";
  if (!ctx.devices.length) {
    root.append(
      h(
        "section",
        { class: "card empty", id: "no-devices" },
        h("h1", {}, "No devices yet"),
        ctx.isAdmin
          ? h("p", {}, "Add a device to start: ", h("a", { href: "#/admin/devices/new" }, "add a device"), ".")
          : h("p", {}, "An installer (a user with the admin role) has to add a device first."),
      ),
    );
    return null;
  }
  const tbody = h("tbody");
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, "Devices")),
    h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { id: "status-table", class: "cards" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Device", "Driver", "Status", "Last poll"].map((t) => h("th", { scope: "col" }, t)),
            ),
          ),
          tbody,
        ),
      ),
    ),
  );
  const rows = new Map(ctx.devices.map((d) => [d.id, statusRow(d)]));
  fill(tbody, [...rows.values()].map((r) => r.el));
  labelCells(tbody.parentElement);
  const unsubscribe = subscribe((type, id) => {
    if (type === "device" && rows.has(id)) rows.get(id).render();
  });
  for (const d of ctx.devices) load("device", d.id).catch(() => {});
  return unsubscribe;
}

function statusRow(device) {
  const status = h("td", { dataset: { attr: "online" } });
  const polled = h("td", { dataset: { attr: "last_poll_ms" } });
  const el = h(
    "tr",
    { dataset: { device: device.id } },
    h("td", {}, h("strong", {}, device.label || device.name)),
    h("td", { class: "mono" }, device.driver),
    status,
    polled,
  );
  function render() {
    const v = get("device", device.id).values;
    const text = !device.enabled
      ? "disabled"
      : v.online === undefined
        ? "not polled yet"
        : v.online
          ? "online"
          : `offline: ${v.last_error || "no answer"}`;
    fill(status, h("span", { class: v.online ? "dot ok" : v.online === false ? "dot bad" : "dot" }), text);
    const ms = v.last_poll_ms;
    setValue(polled, isNum(ms) ? ago(ms) : "never", ms);
    if (isNum(ms)) polled.dataset.ago = String(ms); // kept ticking by main.js
  }
  render();
  return { el, render };
}
