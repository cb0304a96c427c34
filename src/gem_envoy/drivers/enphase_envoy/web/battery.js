// The battery settings card: mode, reserve and charge-from-grid as the gateway holds them
// (storage_mode, battery_reserve_soc_percent, charge_from_grid), shown to everyone.
//
// Admins change them here. Nothing is written on the first click: a dry run (dry_run=true)
// reads the gateway's settings fresh and answers what would change, which the confirmation
// shows; only "Yes" sends the write, whose answer is what the gateway holds afterwards (the
// driver reads it back), or the error. A revert by the gateway afterwards (the cloud) shows as
// storage_warning.

import { api } from "/js/api.js";
import { h, setValue } from "/js/dom.js";
import { isNum } from "/js/format.js";

const MODES = {
  "self-consumption": {
    label: "Self-consumption",
    does: "the battery covers the home's load from stored solar, down to the reserve",
  },
  backup: {
    label: "Full backup",
    does: "the battery charges to full and is kept full for outages; it stops covering the home while the grid is up",
  },
  economy: {
    label: "Savings (economy)",
    does: "the battery covers the home in the tariff's expensive hours, as set up in the Enphase app",
  },
};
const FIELDS = {
  mode: "Mode",
  reserved_soc: "Reserve",
  charge_from_grid: "Charge from grid",
  opt_schedules: "Optimised schedules (opt_schedules)",
};

const modeLabel = (mode) => (MODES[mode] ? MODES[mode].label : String(mode));
const onOff = (on) => (on ? "On" : "Off");

function shown(field, value) {
  if (value === null || value === undefined) return "—";
  if (field === "mode") return modeLabel(value === "savings-mode" ? "economy" : value);
  if (field === "reserved_soc") return `${value} %`;
  if (typeof value === "boolean") return field === "opt_schedules" ? String(value) : onOff(value);
  return String(value);
}

/** The card for `device`; {el, render(values)}. */
export function createBatteryCard(device, isAdmin) {
  const f = {};
  const value = (name) => (f[name] = h("span", { class: "val", dataset: { attr: name } }, "—"));
  const warning = h("p", { class: "alert warn", id: "storage-warning", role: "alert", hidden: true });
  const outcome = h("p", { class: "small", id: "battery-outcome", role: "status", hidden: true });
  const confirm = h("div", { class: "confirm", id: "battery-confirm", role: "alertdialog", hidden: true });

  const modeSelect = h(
    "select",
    { id: "storage-mode-select", "aria-label": "New battery mode" },
    Object.entries(MODES).map(([mode, m]) => h("option", { value: mode }, m.label)),
  );
  const reserveInput = h("input", {
    id: "reserve-input",
    type: "number",
    min: 0,
    max: 100,
    step: 1,
    "aria-label": "New reserve in percent",
  });
  const gridButton = h("button", { type: "button", id: "grid-charge-toggle" }, "Turn on");
  const controls = {
    mode: h("span", { class: "battery-control" }, modeSelect, button("storage-mode-change", "Change…", () => ask("set_storage_mode", { mode: modeSelect.value }))),
    reserve: h("span", { class: "battery-control" }, reserveInput, " % ", button("reserve-change", "Set…", () => ask("set_reserve_soc", { percent: reserveInput.value }))),
    grid: h("span", { class: "battery-control" }, gridButton),
  };
  gridButton.addEventListener("click", () => ask("set_charge_from_grid", { enabled: gridButton.dataset.enable === "true" }));

  const el = h(
    "section",
    { class: "card", id: "battery-card", "aria-labelledby": "battery-h", hidden: true },
    h("h2", { id: "battery-h" }, "Battery settings"),
    warning,
    h(
      "dl",
      { class: "facts battery-facts" },
      h("dt", {}, "Mode"),
      h("dd", {}, value("storage_mode"), isAdmin ? controls.mode : null),
      h("dt", {}, "Reserve"),
      h("dd", {}, value("battery_reserve_soc_percent"), isAdmin ? controls.reserve : null),
      h("dt", {}, "Charge from grid"),
      h("dd", {}, value("charge_from_grid"), isAdmin ? controls.grid : null),
    ),
    confirm,
    outcome,
    isAdmin ? null : h("p", { class: "small muted", id: "battery-readonly" }, "Changing these needs the admin role."),
  );

  let busy = false;

  function button(id, text, onClick) {
    return h("button", { type: "button", id, on: { click: onClick } }, text);
  }

  function setBusy(on) {
    busy = on;
    for (const b of el.querySelectorAll("button, select, input")) b.disabled = on;
  }

  function say(text, bad = false) {
    outcome.hidden = !text;
    outcome.textContent = text || "";
    outcome.className = bad ? "small error-text" : "small";
  }

  async function command(action, args) {
    return api("/api/control/command", { method: "POST", body: { device: device.id, action, ...args } });
  }

  // Step 1: a dry run, so that the confirmation says what the gateway would really change.
  async function ask(action, args) {
    if (busy) return;
    confirm.hidden = true;
    say("Reading the gateway's settings…");
    setBusy(true);
    let plan;
    try {
      plan = await command(action, { ...args, dry_run: true });
    } catch (err) {
      say(`Not changed: ${err.message}`, true);
      return;
    } finally {
      setBusy(false);
    }
    const changes = Object.entries(plan.changed || {});
    if (!changes.length) {
      say("The gateway already holds this setting: nothing to change.");
      return;
    }
    say("");
    showConfirm(action, args, changes, plan.notes || []);
  }

  function showConfirm(action, args, changes, notes) {
    const lines = changes.map(([field, c]) =>
      h("li", { dataset: { field } }, `${FIELDS[field] || field}: ${shown(field, c.from)} → ${shown(field, c.to)}`),
    );
    const newMode = action === "set_storage_mode" ? MODES[args.mode] : null;
    confirm.replaceChildren(
      h("p", { class: "confirm-q" }, "Change the battery settings on the gateway?"),
      h("ul", { id: "battery-confirm-changes" }, lines),
      newMode ? h("p", { class: "small" }, `${newMode.label}: ${newMode.does}.`) : null,
      notes.map((note) => h("p", { class: "small muted" }, `Note: ${note}.`)),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "primary", id: "battery-confirm-yes", on: { click: () => write(action, args) } }, "Yes, change it"),
        h("button", { type: "button", id: "battery-confirm-no", on: { click: cancel } }, "Cancel"),
      ),
    );
    confirm.hidden = false;
    confirm.querySelector("#battery-confirm-yes").focus();
  }

  function cancel() {
    confirm.hidden = true;
    say("Nothing was changed.");
  }

  // Step 2: the write; the answer is what the gateway holds now (read back by the driver).
  async function write(action, args) {
    confirm.hidden = true;
    say("Writing to the gateway and reading it back…");
    setBusy(true);
    try {
      const answer = await command(action, args);
      const now = answer.storage_settings || {};
      const held = Object.keys(answer.changed || {})
        .map((field) => `${(FIELDS[field] || field).toLowerCase()} ${shown(field, now[field])}`)
        .join(", ");
      say(`Verified: the gateway now holds ${held}. Watching for 3 minutes in case the cloud changes it back.`);
    } catch (err) {
      say(`Not changed: ${err.message}`, true);
    } finally {
      setBusy(false);
    }
  }

  function render(v) {
    const has = ["storage_mode", "battery_reserve_soc_percent", "charge_from_grid"].some((n) => v[n] !== undefined);
    el.hidden = !has;
    if (!has) return;
    setValue(f.storage_mode, v.storage_mode ? modeLabel(v.storage_mode) : "—", v.storage_mode);
    const reserve = v.battery_reserve_soc_percent;
    setValue(f.battery_reserve_soc_percent, isNum(reserve) ? `${reserve} %` : "—", reserve);
    const grid = v.charge_from_grid;
    setValue(f.charge_from_grid, typeof grid === "boolean" ? onOff(grid) : "—", grid);
    warning.hidden = !v.storage_warning;
    warning.textContent = v.storage_warning || "";
    if (!isAdmin || busy) return;
    // The controls start from what the gateway holds, unless the admin is editing them.
    if (v.storage_mode && document.activeElement !== modeSelect) modeSelect.value = v.storage_mode;
    if (isNum(reserve) && document.activeElement !== reserveInput) reserveInput.value = String(reserve);
    gridButton.dataset.enable = String(!grid);
    gridButton.textContent = grid ? "Turn off…" : "Turn on…";
  }

  return { el, render };
}
