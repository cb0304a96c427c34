// "Find on the network", on the add-device form: what each driver finds by itself
// (GET /api/discovery, e.g. gateways announced over mDNS), offered as one button each.
// Picking one fills the form with the driver and the attributes it found; nothing is saved
// until the admin adds the device.

import { api } from "./api.js";
import { fill, h } from "./dom.js";

const LISTEN_S = 3;

/** onPick({driver, label, attributes}) is called with the finding chosen. */
export function discoveryPanel(onPick) {
  const list = h("ul", { class: "discovered", id: "discovered" });
  const status = h("span", { class: "hint", id: "discovery-status" });
  const look = h("button", { type: "button", id: "discover", on: { click: () => find() } }, "Find on the network");

  async function find() {
    look.disabled = true;
    status.textContent = `Listening for ${LISTEN_S} s…`;
    fill(list);
    try {
      const found = await api(`/api/discovery?timeout=${LISTEN_S}`);
      status.textContent = found.length
        ? `Found ${found.length}: pick one to fill the form.`
        : "Nothing answered. Is this host on the same network as the device?";
      fill(
        list,
        found.map((item) =>
          h(
            "li",
            {},
            h(
              "button",
              { type: "button", class: "link", dataset: { driver: item.driver }, on: { click: () => onPick(item) } },
              item.label,
            ),
            h("span", { class: "muted mono" }, ` ${item.driver}`),
          ),
        ),
      );
    } catch (err) {
      status.textContent = err.message;
    } finally {
      look.disabled = false;
    }
  }

  return h("div", { class: "wide discovery" }, h("div", {}, look, " ", status), list);
}
