// Admin: the devices page (list, add, edit, delete) with each device's zones. Only shown to
// the admin role; the API enforces it.
//
// The form knows no driver: its attribute fields are the driver's own declaration (its
// required and optional attributes, from GET /api/drivers/{name}; see fields.js), so a
// secret such as a token is write-only there: set or not set, never shown.

import { api } from "./api.js";
import { discoveryPanel } from "./discovery.js";
import { add, fill, h, labelCells } from "./dom.js";
import { driverInfo, driverNames } from "./drivers.js";
import { attributeField } from "./fields.js";
import { get, load } from "./state.js";
import { zonesPanel } from "./zones.js";

let flash = null; // a message for the next page, after a save that navigates

export function mount(root, ctx) {
  const [param] = ctx.params;
  if (!param) return listPage(root, ctx);
  if (param === "new") return formPage(root, ctx, null);
  return formPage(root, ctx, Number(param));
}

// -- the list -------------------------------------------------------------------------------

function listPage(root, ctx) {
  document.title = "Devices · gem-envoy";
  const tbody = h("tbody");
  add(
    root,
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Devices"),
      h("a", { class: "button primary", href: "#/admin/devices/new", id: "add-device" }, "Add a device"),
    ),
    flashMessage(),
    h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { id: "device-table", class: "cards" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Name", "Label", "Driver", "Status", "Zones", ""].map((t) => h("th", { scope: "col" }, t)),
            ),
          ),
          tbody,
        ),
      ),
    ),
  );
  (async () => {
    try {
      await ctx.refreshDevices();
      const [devices, zones] = await Promise.all([api("/api/data/devices"), api("/api/data/zones")]);
      if (!devices.length) {
        fill(tbody, h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No devices yet.")));
        return;
      }
      await Promise.allSettled(devices.map((d) => load("device", d.id)));
      fill(
        tbody,
        devices.map((d) => {
          const v = get("device", d.id).values;
          const status = !d.enabled
            ? "disabled"
            : v.online === undefined
              ? "not polled yet"
              : v.online
                ? "online"
                : "offline";
          const dot = status === "online" ? "dot ok" : status === "offline" ? "dot bad" : "dot";
          return h(
            "tr",
            { dataset: { device: d.id } },
            h("td", {}, h("strong", {}, d.name)),
            h("td", {}, d.label || h("span", { class: "muted" }, "—")),
            h("td", { class: "mono" }, d.driver),
            h("td", {}, h("span", { class: dot }), status),
            h("td", { class: "n" }, String(zones.filter((z) => z.device === d.id).length)),
            h("td", {}, h("a", { href: `#/admin/devices/${d.id}` }, "Edit")),
          );
        }),
      );
      labelCells(tbody.parentElement);
    } catch (err) {
      fill(tbody, h("tr", {}, h("td", { colspan: 6 }, h("span", { class: "alert" }, err.message))));
    }
  })();
  return null;
}

// -- add or edit one device ------------------------------------------------------------------

function formPage(root, ctx, id) {
  const isNew = id === null;
  document.title = `${isNew ? "Add a device" : "Edit device"} · gem-envoy`;
  const message = h("p", { class: "alert", role: "alert", hidden: true, id: "device-message" });
  const input = (name, attrs = {}) => h("input", { name, id: `f-${name}`, ...attrs });
  const fields = {
    name: input("name", { required: true, autocomplete: "off", spellcheck: "false", maxlength: 100 }),
    label: input("label", { autocomplete: "off", maxlength: 100 }),
    driver: h("select", { name: "driver", id: "f-driver" }),
    enabled: input("enabled", { type: "checkbox", checked: true }),
    elevated: input("elevated", { type: "checkbox" }),
  };
  const attributesBox = h("div", { class: "form-grid", id: "attribute-fields" });
  const driverNote = h("p", { class: "hint", id: "driver-note" });
  const save = h("button", { class: "primary", type: "submit" }, isNew ? "Add device" : "Save");
  const remove = isNew
    ? null
    : h("button", { class: "danger", type: "button", on: { click: () => removeDevice() } }, "Delete device");
  const label = (name, text, hint) =>
    h("label", { for: `f-${name}` }, text, hint ? h("span", { class: "hint" }, hint) : null);

  const form = h(
    "form",
    { class: "card", id: "device-form", novalidate: true },
    h("h2", {}, "Device"),
    message,
    isNew ? h("div", { class: "form-grid" }, discoveryPanel((item) => pick(item))) : null,
    h(
      "div",
      { class: "form-grid" },
      h("div", {}, label("name", "Name", "Short, used in commands and the API"), fields.name),
      h("div", {}, label("label", "Label", "Shown on the page: Roof, Garage…"), fields.label),
      h("div", { class: "wide" }, label("driver", "Driver"), fields.driver, driverNote),
    ),
    h("h3", { class: "form-section" }, "Settings of the driver"),
    attributesBox,
    h(
      "div",
      { class: "form-grid" },
      h("div", { class: "wide" }, h("label", { class: "check" }, fields.enabled, "Enabled: poll this device")),
      h("div", { class: "wide" }, h("label", { class: "check" }, fields.elevated, "Commands need the admin role")),
    ),
    h(
      "div",
      { class: "actions" },
      save,
      h("a", { href: "#/admin/devices" }, "Cancel"),
      h("span", { class: "spacer" }),
      remove,
    ),
  );
  const side = isNew ? null : h("div", { id: "zones-slot" });
  add(
    root,
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, isNew ? "Add a device" : "Edit device"),
      h("a", { href: "#/admin/devices" }, "All devices"),
    ),
    flashMessage(),
    h("div", { class: "two-col" }, form, side),
  );

  let attributeFields = []; // one per attribute the chosen driver declares
  let before = {}; // attributes as loaded, to know which optional ones were cleared
  let zones = null;

  // The attribute fields of `driver`, showing `stored` (the device's attributes, if any).
  async function showDriver(driver, stored) {
    fill(attributesBox);
    attributeFields = [];
    driverNote.textContent = "";
    if (!driver) return null;
    const info = await driverInfo(driver);
    if (fields.driver.value !== driver) return info; // another driver was picked meanwhile
    driverNote.textContent = `${info.device_type}${info.status === "stable" ? "" : ` (${info.status})`}`;
    attributeFields = [
      ...info.required.map((spec) => attributeField(spec, true)),
      ...info.optional.map((spec) => attributeField(spec, false)),
    ];
    for (const f of attributeFields) f.fill(stored);
    fill(
      attributesBox,
      attributeFields.length
        ? attributeFields.map((f) => f.el)
        : h("p", { class: "muted wide" }, "This driver takes no settings."),
    );
    return info;
  }

  async function fillForm() {
    const drivers = await driverNames();
    fill(
      fields.driver,
      drivers.map((d) => h("option", { value: d }, d)),
    );
    if (isNew) {
      fields.driver.value = drivers[0] || "";
      fields.name.focus();
      await showDriver(fields.driver.value, {});
      return;
    }
    const [device, attrs] = await Promise.all([
      api(`/api/data/devices/${id}`),
      api(`/api/attributes/device/${id}`),
    ]);
    before = attrs;
    fields.name.value = device.name;
    fields.label.value = device.label;
    if (!drivers.includes(device.driver)) {
      fields.driver.append(h("option", { value: device.driver }, `${device.driver} (not installed)`));
    }
    fields.driver.value = device.driver;
    fields.enabled.checked = device.enabled;
    fields.elevated.checked = device.elevated;
    const info = await showDriver(device.driver, attrs).catch(() => null);
    if (!zones) {
      zones = zonesPanel(id, info);
      fill(side, zones.el);
      zones.refresh();
    }
  }

  // A device found on the network: its driver, and the attributes it announced.
  async function pick(item) {
    before = item.attributes;
    fields.driver.value = item.driver;
    await showDriver(item.driver, item.attributes).catch((err) => say(message, err.message));
    if (!fields.name.value) fields.name.focus();
  }

  fields.driver.addEventListener("change", () => {
    showDriver(fields.driver.value, before).catch((err) => say(message, err.message));
  });

  function collect() {
    const name = fields.name.value.trim();
    if (!name) throw new Error("Give the device a name.");
    const attributes = {};
    for (const f of attributeFields) {
      const value = f.read();
      if (value !== undefined) attributes[f.spec.name] = value;
    }
    return {
      name,
      label: fields.label.value.trim(),
      driver: fields.driver.value,
      enabled: fields.enabled.checked,
      elevated: fields.elevated.checked,
      attributes,
    };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.hidden = true;
    let body;
    try {
      body = collect();
    } catch (err) {
      return say(message, err.message);
    }
    save.disabled = true;
    try {
      if (isNew) {
        const device = await api("/api/data/devices", { method: "POST", body });
        for (const f of attributeFields) f.clearSecret();
        flash = `Device “${device.name}” added. It is polled within seconds.`;
        await ctx.refreshDevices();
        location.hash = `#/admin/devices/${device.id}`;
        return;
      }
      await api(`/api/data/devices/${id}`, { method: "PUT", body });
      for (const f of attributeFields) f.clearSecret();
      // Optional settings emptied in the form go back to the driver's defaults. (Secrets
      // left empty are kept: an empty field there means "no change".)
      for (const f of attributeFields) {
        const { name: attr, secure } = f.spec;
        if (!secure && attr in before && !(attr in body.attributes)) {
          await api(`/api/attributes/device/${id}/${encodeURIComponent(attr)}`, { method: "DELETE" });
        }
      }
      await ctx.refreshDevices();
      await fillForm();
      say(message, "Saved. The running driver picks the change up within seconds.", "ok");
    } catch (err) {
      say(message, err.message);
    } finally {
      save.disabled = false;
    }
  });

  async function removeDevice() {
    if (!confirm(`Delete the device “${fields.name.value}” with its zones and history?`)) return;
    try {
      await api(`/api/data/devices/${id}`, { method: "DELETE" });
      flash = "Device deleted.";
      await ctx.refreshDevices();
      location.hash = "#/admin/devices";
    } catch (err) {
      say(message, err.message);
    }
  }

  fillForm().catch((err) => say(message, `Could not load the device: ${err.message}`));
  return () => zones && zones.unsubscribe();
}

// -- helpers --------------------------------------------------------------------------------

function say(el, text, kind = "") {
  el.className = `alert ${kind}`.trim();
  el.textContent = text;
  el.hidden = false;
}

function flashMessage() {
  if (!flash) return null;
  const el = h("p", { class: "alert ok", role: "status" }, flash);
  flash = null;
  return el;
}
