// The zones of one device, on its admin page: listed with the values their driver charts
// (the zone attributes its metadata marks as history), removed, and added by name and
// address. What an address means is the driver's business (a serial, a channel...); a
// driver's own pages may offer to add its zones for you.

import { api } from "./api.js";
import { fill, h, labelCells, setValue } from "./dom.js";
import { get, load, subscribe } from "./state.js";

/** Returns {el, refresh(), unsubscribe()}; `info` is the driver's details, or null. */
export function zonesPanel(deviceId, info) {
  const readings = info ? info.zone.filter((spec) => spec.history) : [];
  const message = h("p", { class: "alert", role: "status", hidden: true, id: "zones-message" });
  const tbody = h("tbody");
  const name = h("input", { id: "zone-name", name: "name", required: true, maxlength: 100, autocomplete: "off" });
  const address = h("input", {
    id: "zone-address",
    name: "address",
    maxlength: 100,
    autocomplete: "off",
    spellcheck: "false",
  });
  const form = h(
    "form",
    { class: "zone-add", id: "zone-form", novalidate: true },
    h("div", {}, h("label", { for: "zone-name" }, "Name"), name),
    h("div", {}, h("label", { for: "zone-address" }, "Address"), address),
    h("div", {}, h("button", { class: "primary", type: "submit", id: "add-zone" }, "Add zone")),
  );
  const el = h(
    "section",
    { class: "card", "aria-labelledby": "zones-h" },
    h("h2", { id: "zones-h" }, "Zones"),
    h(
      "p",
      { class: "muted small" },
      "The parts of the device its driver reports on one by one; the address tells the driver which part.",
    ),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { id: "zone-table", class: "cards" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "Name"),
            h("th", { scope: "col" }, "Address"),
            readings.map((spec) => h("th", { scope: "col", class: "n", title: spec.description }, spec.name)),
            h("th", { scope: "col" }, ""),
          ),
        ),
        tbody,
      ),
    ),
    form,
    message,
  );

  async function refresh() {
    const zones = await api(`/api/data/zones?device=${deviceId}`);
    await Promise.allSettled(zones.map((z) => load("zone", z.id)));
    fill(
      tbody,
      zones.length
        ? zones.map((z) =>
            h(
              "tr",
              { dataset: { zone: z.id } },
              h("td", {}, z.name),
              h("td", { class: "mono" }, z.address),
              readings.map((spec) => valueCell(z.id, spec.name)),
              h(
                "td",
                {},
                h(
                  "button",
                  {
                    class: "ghost danger",
                    type: "button",
                    "aria-label": `Remove ${z.name}`,
                    on: { click: () => removeZone(z) },
                  },
                  "Remove",
                ),
              ),
            ),
          )
        : h("tr", {}, h("td", { colspan: readings.length + 3, class: "muted" }, "No zones yet.")),
    );
    labelCells(tbody.parentElement);
  }

  function valueCell(zoneId, attr) {
    const td = h("td", { class: "n", dataset: { zone: zoneId, attr } });
    show(td, get("zone", zoneId).values[attr]);
    return td;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!name.value.trim()) return say("Give the zone a name.");
    try {
      await api("/api/data/zones", {
        method: "POST",
        body: { device: deviceId, name: name.value.trim(), address: address.value.trim() },
      });
      name.value = address.value = "";
      await refresh();
      say("Zone added. Its values appear with the driver's next report.", "ok");
    } catch (err) {
      say(err.message);
    }
  });

  async function removeZone(zone) {
    if (!confirm(`Remove the zone “${zone.name}” and its history?`)) return;
    try {
      await api(`/api/data/zones/${zone.id}`, { method: "DELETE" });
      await refresh();
    } catch (err) {
      say(err.message);
    }
  }

  function say(text, kind = "") {
    message.className = `alert ${kind}`.trim();
    message.textContent = text;
    message.hidden = false;
  }

  // The value columns follow the zones' values as the host pushes them.
  const unsubscribe = subscribe((type, id, values) => {
    if (type !== "zone") return;
    for (const td of tbody.querySelectorAll(`td[data-zone="${id}"]`)) {
      if (td.dataset.attr in values) show(td, values[td.dataset.attr]);
    }
  });

  return { el, refresh: () => refresh().catch((err) => say(err.message)), unsubscribe };
}

function show(td, value) {
  setValue(td, value === undefined || value === null ? "—" : String(value), value);
}
