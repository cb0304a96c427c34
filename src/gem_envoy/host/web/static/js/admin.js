// Admin: the devices page (list, add, edit, delete) and each device's zones, added from the
// gateway's own inverter list in one click. Only shown to the admin role; the API enforces it.
//
// The token field is write-only: the page says whether a token is set, never what it is.
// A new token is sent once, on save, and the field is emptied at once.

import { api } from "./api.js";
import { add, fill, h } from "./dom.js";
import { isNum, power } from "./format.js";
import { get, load, subscribe } from "./state.js";

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
          { id: "device-table" },
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
    } catch (err) {
      fill(tbody, h("tr", {}, h("td", { colspan: 6 }, h("span", { class: "alert" }, err.message))));
    }
  })();
  return null;
}

// -- add or edit one device ------------------------------------------------------------------

const SECONDS = [
  {
    name: "polling_interval",
    label: "Polling interval (seconds)",
    hint: "How often the gateway is read. At least 5; 30 if empty.",
    min: 5,
  },
  {
    name: "request_timeout",
    label: "Request timeout (seconds)",
    hint: "How long one request may take. 10 if empty.",
    min: 1,
  },
];

function formPage(root, ctx, id) {
  const isNew = id === null;
  document.title = `${isNew ? "Add a device" : "Edit device"} · gem-envoy`;
  const message = h("p", { class: "alert", role: "alert", hidden: true, id: "device-message" });
  const input = (name, attrs = {}) => h("input", { name, id: `f-${name}`, ...attrs });
  const fields = {
    name: input("name", { required: true, autocomplete: "off", spellcheck: "false", maxlength: 100 }),
    label: input("label", { autocomplete: "off", maxlength: 100 }),
    driver: h("select", { name: "driver", id: "f-driver" }),
    ip: input("ip", {
      required: true,
      autocomplete: "off",
      spellcheck: "false",
      inputmode: "decimal",
      placeholder: "192.168.1.50",
    }),
    port: input("port", { type: "number", min: 1, max: 65535, placeholder: "443" }),
    // Write-only: never filled from the host, emptied after every save.
    token: input("token", {
      type: "password",
      autocomplete: "new-password",
      spellcheck: "false",
      placeholder: isNew ? "Paste the token from Entrez" : "Paste a new token to replace it",
    }),
    enabled: input("enabled", { type: "checkbox", checked: true }),
    elevated: input("elevated", { type: "checkbox" }),
  };
  for (const sec of SECONDS) fields[sec.name] = input(sec.name, { type: "number", min: sec.min, step: 1 });
  const tokenState = h("span", { class: "badge", id: "token-state" }, isNew ? "not set" : "…");
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
    h(
      "div",
      { class: "form-grid" },
      h("div", {}, label("name", "Name", "Short, used in commands: envoy"), fields.name),
      h("div", {}, label("label", "Label", "Shown on the page: Roof, Garage…"), fields.label),
      h("div", {}, label("driver", "Driver"), fields.driver),
      h("div", {}, label("ip", "Gateway IP address"), fields.ip),
      h("div", {}, label("port", "HTTPS port", "443 unless your install is unusual"), fields.port),
      h(
        "div",
        { class: "wide" },
        label(
          "token",
          "Token",
          "The JWT from entrez.enphaseenergy.com. Stored encrypted; never shown again.",
        ),
        h("div", { class: "secret-state" }, "Current token:", tokenState),
        fields.token,
      ),
      SECONDS.map((sec) => h("div", {}, label(sec.name, sec.label, sec.hint), fields[sec.name])),
      h(
        "div",
        { class: "wide" },
        h("label", { class: "check" }, fields.enabled, "Enabled: poll this gateway"),
      ),
      h(
        "div",
        { class: "wide" },
        h("label", { class: "check" }, fields.elevated, "Commands need the admin role"),
      ),
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
  const zonesCard = isNew ? null : zonesPanel(id);
  add(
    root,
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, isNew ? "Add a device" : "Edit device"),
      h("a", { href: "#/admin/devices" }, "All devices"),
    ),
    flashMessage(),
    h("div", { class: "two-col" }, form, zonesCard && zonesCard.el),
  );

  let before = {}; // attributes as loaded, to know which optional ones were cleared

  async function fillForm() {
    const drivers = await api("/api/drivers");
    fill(
      fields.driver,
      drivers.map((d) => h("option", { value: d }, d)),
    );
    if (isNew) {
      fields.driver.value = drivers.includes("enphase_envoy") ? "enphase_envoy" : drivers[0];
      fields.name.focus();
      return;
    }
    const [device, attrs] = await Promise.all([
      api(`/api/data/devices/${id}`),
      api(`/api/attributes/device/${id}`),
    ]);
    before = attrs;
    fields.name.value = device.name;
    fields.label.value = device.label;
    fields.driver.value = device.driver;
    fields.enabled.checked = device.enabled;
    fields.elevated.checked = device.elevated;
    fields.ip.value = attrs.ip ?? "";
    fields.port.value = isNum(attrs.port) ? attrs.port : "";
    for (const sec of SECONDS) fields[sec.name].value = isNum(attrs[sec.name]) ? attrs[sec.name] / 1000 : "";
    showTokenState("token" in attrs);
  }

  function showTokenState(isSet) {
    tokenState.textContent = isSet ? "set" : "not set";
    tokenState.className = isSet ? "badge ok" : "badge warn";
  }

  function collect() {
    const name = fields.name.value.trim();
    const ip = fields.ip.value.trim();
    const token = fields.token.value.trim();
    if (!name) throw new Error("Give the device a name.");
    if (!ip) throw new Error("Enter the gateway's IP address.");
    if (isNew && !token)
      throw new Error("Paste the gateway token: the driver cannot read the gateway without it.");
    const attributes = { ip };
    if (token) attributes.token = token;
    if (fields.port.value !== "") {
      const port = Number(fields.port.value);
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw new Error("The port is a whole number from 1 to 65535.");
      attributes.port = port;
    }
    for (const sec of SECONDS) {
      if (fields[sec.name].value === "") continue;
      const seconds = Number(fields[sec.name].value);
      if (!Number.isFinite(seconds) || seconds < sec.min)
        throw new Error(`${sec.label} must be at least ${sec.min}.`);
      attributes[sec.name] = Math.round(seconds * 1000);
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
        fields.token.value = "";
        flash = `Device “${device.name}” added. It is polled within seconds; add its inverters below.`;
        await ctx.refreshDevices();
        location.hash = `#/admin/devices/${device.id}`;
        return;
      }
      await api(`/api/data/devices/${id}`, { method: "PUT", body });
      fields.token.value = "";
      // Optional settings emptied in the form go back to the driver's defaults.
      for (const name of ["port", ...SECONDS.map((sec) => sec.name)]) {
        if (name in before && !(name in body.attributes)) {
          await api(`/api/attributes/device/${id}/${name}`, { method: "DELETE" });
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
  if (zonesCard) zonesCard.refresh();
  return zonesCard ? zonesCard.unsubscribe : null;
}

// -- zones of one device --------------------------------------------------------------------

function zonesPanel(deviceId) {
  const result = h("p", { class: "alert", role: "status", hidden: true, id: "zones-message" });
  const tbody = h("tbody");
  const button = h(
    "button",
    { class: "primary", type: "button", id: "add-zones", on: { click: () => addFromInverters() } },
    "Add zones from the inverter list",
  );
  const el = h(
    "section",
    { class: "card", "aria-labelledby": "zones-h" },
    h("h2", { id: "zones-h" }, "Zones (inverters)"),
    h(
      "p",
      { class: "muted small" },
      "One zone per microinverter, named by its serial. The button asks the gateway for its inverters (get_inverters, installer token) and adds those without a zone.",
    ),
    button,
    result,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { id: "zone-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Name", "Serial", "Now", ""].map((t) => h("th", { scope: "col" }, t)),
          ),
        ),
        tbody,
      ),
    ),
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
              h("td", { class: "n", dataset: { now: z.id } }, power(get("zone", z.id).values.last_w)),
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
        : h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No zones yet.")),
    );
    return zones;
  }

  async function addFromInverters() {
    button.disabled = true;
    say(result, "Asking the gateway for its inverters…", "warn");
    let paused = false;
    try {
      const answer = await api("/api/control/command", {
        method: "POST",
        body: { device: deviceId, action: "get_inverters" },
      });
      const serials = Array.isArray(answer && answer.serials) ? answer.serials : [];
      const [device, zones] = await Promise.all([
        api(`/api/data/devices/${deviceId}`),
        api(`/api/data/zones?device=${deviceId}`),
      ]);
      const known = new Set(zones.map((z) => z.address));
      const names = new Set(zones.map((z) => z.name));
      const missing = serials
        .map((serial, index) => [serial, index])
        .filter(([serial]) => !known.has(serial));
      // A running driver reads the inverter list every 5 minutes; zones added one by one
      // while it runs would wait that long for values. Polling pauses while they are added,
      // and the restarted driver reads the list for all of them at once.
      if (missing.length && device.enabled) {
        await api(`/api/data/devices/${deviceId}`, { method: "PUT", body: { enabled: false } });
        paused = true;
      }
      for (const [serial, index] of missing) {
        const name = names.has(`Inverter ${index + 1}`) ? `Inverter ${serial}` : `Inverter ${index + 1}`;
        await api("/api/data/zones", { method: "POST", body: { device: deviceId, name, address: serial } });
        names.add(name);
      }
      if (paused) {
        paused = false;
        await api(`/api/data/devices/${deviceId}`, { method: "PUT", body: { enabled: true } });
      }
      await refresh();
      const added = missing.length;
      if (added)
        say(
          result,
          `Added ${added} zone${added === 1 ? "" : "s"}. Their values appear with the next poll.`,
          "ok",
        );
      else if (serials.length) say(result, `All ${serials.length} inverters already have a zone.`, "ok");
      else say(result, "The gateway reported no microinverters.", "warn");
    } catch (err) {
      say(
        result,
        `${err.message}${err.status === 400 || err.status === 502 ? " (the inverter list needs an installer token)" : ""}`,
      );
    } finally {
      // Whatever failed, a device that was polling is left polling.
      if (paused)
        await api(`/api/data/devices/${deviceId}`, { method: "PUT", body: { enabled: true } }).catch(
          () => {},
        );
      button.disabled = false;
    }
  }

  async function removeZone(zone) {
    if (!confirm(`Remove the zone “${zone.name}” and its history?`)) return;
    try {
      await api(`/api/data/zones/${zone.id}`, { method: "DELETE" });
      await refresh();
    } catch (err) {
      say(result, err.message);
    }
  }

  // The "Now" column follows the zones' values as the host pushes them.
  const unsubscribe = subscribe((type, id, values) => {
    if (type !== "zone" || !isNum(values.last_w)) return;
    const cell = tbody.querySelector(`td[data-now="${id}"]`);
    if (cell) cell.textContent = power(values.last_w);
  });

  return { el, refresh: () => refresh().catch((err) => say(result, err.message)), unsubscribe };
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
