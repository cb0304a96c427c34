// The overview of one device: power flow, energy today and lifetime, the battery's settings
// (battery.js), and the gateway's health.
// Everything is drawn from the attribute cache and redrawn in place when the host pushes a change.
// A live feed changes the power values every second or two: those changes redraw only the
// power card (flow, per-phase table, freshness line), never the rest of the page.

import { api } from "/js/api.js";
import { h, setValue } from "/js/dom.js";
import { DAY_MS, ago, clock, count, date, energy, isNum, parseIso } from "/js/format.js";
import { createBatteryCard } from "./battery.js";
import { createFlow } from "./flow.js";
import { createFreshness, isPower } from "./freshness.js";
import { createPhases } from "./phases.js";
import { get, load, subscribe } from "/js/state.js";
import { useStyle } from "./style.js";

export function mount(root, ctx) {
  const device = ctx.device;
  useStyle();
  document.title = "Overview · gem-envoy";
  if (!device) {
    root.append(noDevices(ctx));
    return null;
  }
  const flow = createFlow();
  const phases = createPhases();
  const flowCard = h("section", { class: "card flow", "aria-labelledby": "flow-h" });
  const freshness = createFreshness(flowCard);
  flowCard.append(h("h2", { id: "flow-h" }, "Power now"), freshness.el, flow.el, phases.el);
  const battery = createBatteryCard(device, ctx.isAdmin);
  const f = {}; // the elements that show values, by name
  const field = (name, cls = "val") => (f[name] = h("span", { class: cls, dataset: { attr: name } }, "—"));

  const tokenAlert = h("p", { class: "alert", id: "token-alert", role: "alert", hidden: true });
  const certificate = certificateAlert(device, ctx.isAdmin);
  const subtitle = h("span", { class: "sub" });
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, device.label || device.name), subtitle),
    certificate.el,
    tokenAlert,
    h(
      "div",
      { class: "grid overview-grid" },
      flowCard,
      h(
        "div",
        { class: "stack" },
        h(
          "section",
          { class: "card", "aria-labelledby": "energy-h" },
          h("h2", { id: "energy-h" }, "Energy"),
          h(
            "div",
            { class: "energy" },
            h("span"),
            h("span", { class: "head" }, "Produced"),
            h("span", { class: "head" }, "Consumed"),
            h("span", { class: "row-name" }, "Today"),
            field("production_today_wh"),
            field("consumption_today_wh"),
            h("span", { class: "row-name" }, "Lifetime"),
            field("production_lifetime_wh"),
            field("consumption_lifetime_wh"),
          ),
          (f.batteryRow = h(
            "p",
            { class: "small muted", hidden: true },
            "Battery holds ",
            field("battery_capacity_wh", "num"),
            " now.",
          )),
        ),
        battery.el,
        h(
          "section",
          { class: "card", "aria-labelledby": "health-h" },
          h("h2", { id: "health-h" }, "Gateway health"),
          h(
            "dl",
            { class: "facts" },
            h("dt", {}, "Status"),
            h("dd", {}, (f.dot = h("span", { class: "dot" })), field("online", "")),
            h("dt", {}, "Last error"),
            h("dd", {}, field("last_error", "")),
            h("dt", {}, "Last poll"),
            h("dd", {}, field("last_poll_ms", "num"), " ", (f.pollAgo = h("span", { class: "muted" }))),
            h("dt", {}, "Latest reading"),
            h("dd", {}, field("last_report_time", "num")),
            h("dt", {}, "Token"),
            h(
              "dd",
              {},
              field("token_type", ""),
              " ",
              field("token_expires_at", ""),
              " ",
              (f.tokenBadge = h("span", { class: "badge", id: "token-badge", hidden: true })),
            ),
            h("dt", {}, "Gateway serial"),
            h("dd", {}, field("serial_number", "mono")),
            h("dt", {}, "Inverters reporting"),
            h("dd", {}, field("inverter_count", "num")),
          ),
        ),
      ),
    ),
  );

  function renderPower() {
    const { values: v } = get("device", device.id);
    flow.update(v);
    phases.update(v);
    freshness.update(v);
  }

  function render() {
    const { values: v, updated } = get("device", device.id);
    renderPower();
    for (const name of [
      "production_today_wh",
      "consumption_today_wh",
      "production_lifetime_wh",
      "consumption_lifetime_wh",
    ]) {
      setValue(f[name], energy(v[name]), v[name]);
    }
    f.batteryRow.hidden = !isNum(v.battery_capacity_wh);
    setValue(f.battery_capacity_wh, energy(v.battery_capacity_wh), v.battery_capacity_wh);

    const serial = v.serial_number ? `Gateway ${v.serial_number}` : "IQ Gateway";
    subtitle.textContent = isNum(v.inverter_count) ? `${serial} · ${v.inverter_count} inverters` : serial;
    renderHealth(f, v, updated);
    renderToken(f, tokenAlert, v, ctx.isAdmin);
    battery.render(v);
    certificate.render(v);
  }

  // The power values' age after a (re)load, which carries the host's update times only.
  function heardAtLoad() {
    const { values, updated } = get("device", device.id);
    freshness.heard(Math.max(...Object.keys(values).filter(isPower).map((n) => updated[n]).filter(isNum)));
  }

  render();
  heardAtLoad(); // from the cache, when another view read this device already
  const unsubscribe = subscribe((type, id, changed) => {
    if (type !== "device" || id !== device.id) return;
    // state.js tells a (re)load with the cache's own values object, an event with its own.
    if (changed === get("device", device.id).values) {
      heardAtLoad();
      render();
      return;
    }
    const names = Object.keys(changed);
    if (names.some((n) => isPower(n) && changed[n] !== null)) freshness.heard(Date.now());
    if (names.every(isLiveName)) renderPower();
    else render();
  });
  load("device", device.id).catch((err) => {
    tokenAlert.hidden = false;
    tokenAlert.className = "alert";
    tokenAlert.textContent = `Could not read this device: ${err.message}`;
  });
  return () => {
    unsubscribe();
    freshness.stop();
  };
}

// What a live feed changes, and the words about it: these redraw the power card alone.
const isLiveName = (name) =>
  isPower(name) || name === "battery_state" || name === "live_source" || name === "live_state";

function renderHealth(f, v, updated) {
  if (v.online === undefined) {
    setValue(f.online, "waiting for the first poll", null);
    f.dot.className = "dot";
  } else if (v.online) {
    setValue(f.online, "Online", true);
    f.dot.className = "dot ok";
  } else {
    const since = updated.online;
    setValue(f.online, isNum(since) ? `Offline since ${clock(since)} (${ago(since)})` : "Offline", false);
    f.dot.className = "dot bad";
  }
  const error = v.last_error;
  setValue(f.last_error, error ? error : "None", error ?? null);
  f.last_error.className = error ? "error-text" : "muted";

  setValue(f.last_poll_ms, isNum(v.last_poll_ms) ? clock(v.last_poll_ms) : "never", v.last_poll_ms);
  if (isNum(v.last_poll_ms)) {
    f.pollAgo.dataset.ago = String(v.last_poll_ms);
    f.pollAgo.dataset.agoFormat = "(%)";
    f.pollAgo.textContent = `(${ago(v.last_poll_ms)})`;
  }
  const reportMs = parseIso(v.last_report_time);
  setValue(f.last_report_time, reportMs ? clock(reportMs) : "—", v.last_report_time);
  setValue(f.serial_number, v.serial_number || "—", v.serial_number);
  setValue(f.inverter_count, count(v.inverter_count), v.inverter_count);
}

// The token's type, expiry and days left. The driver decides whether a person must act: it
// sets token_warning while the token expires within 30 days and nothing will renew it (no
// Enlighten credentials, or renewing fails); a token it keeps renewing needs no alert.
function renderToken(f, alertEl, v, isAdmin) {
  setValue(f.token_type, v.token_type ? `${v.token_type} token` : "—", v.token_type);
  const expires = parseIso(v.token_expires_at);
  setValue(f.token_expires_at, expires ? `expires ${date(expires)}` : "", v.token_expires_at);
  const left = expires ? expires - Date.now() : null;
  f.tokenBadge.hidden = left === null;
  alertEl.hidden = true;
  if (left === null) return;
  const warned = Boolean(v.token_warning);
  const fix = isAdmin ? v.token_warning || "" : "Ask your installer for a new one.";
  if (left <= 0) {
    f.tokenBadge.className = "badge danger";
    f.tokenBadge.textContent = "expired";
    alertEl.className = "alert";
    alertEl.textContent = `The gateway token expired on ${date(expires)}: the host cannot read the gateway. ${fix}`;
    alertEl.hidden = false;
    return;
  }
  // Within a month, days started count (10 days minus a minute is still "10 days left").
  const days = left < 30 * DAY_MS ? Math.max(1, Math.ceil(left / DAY_MS)) : Math.floor(left / DAY_MS);
  f.tokenBadge.textContent = days === 1 ? "expires within a day" : `${days} days left`;
  f.tokenBadge.className = warned ? "badge warn" : "badge ok";
  if (warned) {
    alertEl.className = "alert warn";
    alertEl.textContent = `The gateway token expires in ${days === 1 ? "less than a day" : `${days} days`} (${date(expires)}). ${fix}`;
    alertEl.hidden = false;
  }
}

// A changed gateway certificate: the driver sends no token until an admin accepts it (the
// accept_certificate command). The text is the driver's last_error, which names both
// fingerprints; admins get the button, users are told who can act.
function certificateAlert(device, isAdmin) {
  const text = h("span", { id: "certificate-text" });
  const outcome = h("span", { class: "small", id: "certificate-outcome" });
  const button = h(
    "button",
    { class: "primary", type: "button", id: "accept-certificate", hidden: !isAdmin, on: { click: () => accept() } },
    "Accept the new certificate",
  );
  const el = h("div", { class: "alert", id: "certificate-alert", role: "alert", hidden: true }, text, " ", button, " ", outcome);

  async function accept() {
    button.disabled = true;
    outcome.textContent = "";
    try {
      const answer = await api("/api/control/command", {
        method: "POST",
        body: { device: device.id, action: "accept_certificate" },
      });
      outcome.textContent = answer.connected
        ? "Accepted: polling resumes."
        : `Accepted, but the gateway could not be read: ${answer.error}`;
    } catch (err) {
      outcome.textContent = `Not accepted: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  }

  function render(v) {
    const pending = v.certificate_pending_sha256;
    el.hidden = !pending;
    if (!pending) return;
    const why = v.last_error || "The gateway's certificate changed; no token is sent to it.";
    text.textContent = isAdmin ? why : `${why} Ask an admin to accept it if the gateway was replaced or reset.`;
  }

  return { el, render };
}

function noDevices(ctx) {
  return h(
    "section",
    { class: "card empty" },
    h("h1", {}, "No devices yet"),
    ctx.isAdmin
      ? h(
          "p",
          {},
          "Add your IQ Gateway to start: ",
          h("a", { href: "#/admin/devices/new" }, "add a device"),
          ".",
        )
      : h("p", {}, "An installer (a user with the admin role) has to add the gateway first."),
  );
}
