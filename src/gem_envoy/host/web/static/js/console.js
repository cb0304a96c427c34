// Admin: the command console. Pick a device and one of its driver's commands (from the
// driver's details, GET /api/drivers/{name}, or type any action), give arguments as JSON,
// run it through POST /api/control/command, read the JSON.

import { api, request } from "./api.js";
import { fill, h } from "./dom.js";
import { driverInfo } from "./drivers.js";

const OTHER = "__other__";

export function mount(root, ctx) {
  document.title = "Console · gem-envoy";
  const deviceSel = h("select", { id: "c-device" });
  const actionSel = h("select", { id: "c-action" });
  const actionText = h("input", {
    id: "c-action-text",
    placeholder: "action name",
    hidden: true,
    autocomplete: "off",
    spellcheck: "false",
  });
  const zoneSel = h("select", { id: "c-zone" });
  const args = h("textarea", { id: "c-args", rows: 4, spellcheck: "false" }, "{}");
  const notes = h("p", { class: "hint", id: "c-notes" });
  const run = h("button", { class: "primary", type: "submit", id: "c-run" }, "Run");
  const status = h("p", { class: "console-status", id: "c-status", role: "status" });
  const out = h(
    "pre",
    { class: "console-out", id: "c-output", "aria-live": "polite" },
    "The answer appears here.",
  );
  let commands = [];

  const form = h(
    "form",
    { class: "card", id: "console-form" },
    h("h2", {}, "Command"),
    h("label", { for: "c-device" }, "Device"),
    deviceSel,
    h("label", { for: "c-action" }, "Command"),
    actionSel,
    actionText,
    notes,
    h("label", { for: "c-zone" }, "Zone", h("span", { class: "hint" }, "For commands that act on one zone.")),
    zoneSel,
    h(
      "label",
      { for: "c-args" },
      "Arguments",
      h("span", { class: "hint" }, "A JSON object; its fields are the command's arguments."),
    ),
    args,
    h("div", { class: "actions" }, run),
  );
  root.append(
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Console"),
      h("span", { class: "sub" }, "Runs any command on a device and shows its answer"),
    ),
    h(
      "div",
      { class: "two-col" },
      form,
      h(
        "section",
        { class: "card", "aria-labelledby": "c-out-h" },
        h("h2", { id: "c-out-h" }, "Answer"),
        status,
        out,
      ),
    ),
  );

  function currentDevice() {
    return ctx.devices.find((d) => d.id === Number(deviceSel.value));
  }

  let asked = 0; // answers to an earlier device choice are dropped

  async function chooseDevice() {
    const device = currentDevice();
    if (!device) return;
    const ask = ++asked;
    const [rows, zones] = await Promise.all([
      driverInfo(device.driver).then(
        (info) => info.commands,
        () => [],
      ),
      api(`/api/data/zones?device=${device.id}`).catch(() => []),
    ]);
    if (ask !== asked) return;
    // A command picked meanwhile stays picked if this device's driver has it too.
    const picked = actionSel.value;
    commands = rows;
    fill(
      actionSel,
      rows.map((c) => h("option", { value: c.name }, c.name)),
      h("option", { value: OTHER }, "Other…"),
    );
    const keep = rows.some((c) => c.name === picked);
    if (keep) actionSel.value = picked;
    fill(
      zoneSel,
      h("option", { value: "" }, "None"),
      zones.map((z) => h("option", { value: z.id }, `${z.name} (${z.address})`)),
    );
    if (!keep) chooseAction();
  }

  function chooseAction() {
    const other = actionSel.value === OTHER;
    actionText.hidden = !other;
    const spec = commands.find((c) => c.name === actionSel.value);
    notes.textContent = spec
      ? `${spec.notes}${spec.writes ? " Changes the device." : ""}`
      : other
        ? "Any action the driver knows; unknown ones answer with an error."
        : "";
    // Pre-fill the arguments the command declares, so their names need no guessing.
    const template = Object.fromEntries((spec ? spec.args : []).map((a) => [a, ""]));
    args.value = JSON.stringify(template, null, 2);
    if (other) actionText.focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const device = currentDevice();
    const action = actionSel.value === OTHER ? actionText.value.trim() : actionSel.value;
    if (!device || !action) return show("Pick a device and a command.", null, false);
    let extra;
    try {
      extra = args.value.trim() ? JSON.parse(args.value) : {};
      if (extra === null || typeof extra !== "object" || Array.isArray(extra)) throw new Error();
    } catch {
      return show('The arguments must be a JSON object, like {"mode": "backup"}.', null, false);
    }
    const body = { ...extra, device: device.id, action };
    if (zoneSel.value) body.zone = Number(zoneSel.value);
    run.disabled = true;
    status.className = "console-status";
    status.textContent = `Running ${action} on ${device.name}…`;
    try {
      const answer = await request("/api/control/command", { method: "POST", body });
      const took = `${Math.round(answer.ms)} ms`;
      show(`${answer.ok ? "OK" : "Failed"}: ${answer.status} · ${took}`, answer.data, answer.ok);
    } catch (err) {
      show(err.message, null, false);
    } finally {
      run.disabled = false;
    }
  });

  function show(text, data, ok) {
    status.textContent = text;
    status.className = `console-status ${ok ? "ok" : "bad"}`;
    out.textContent =
      data === null || data === undefined
        ? ""
        : typeof data === "string"
          ? data
          : JSON.stringify(data, null, 2);
  }

  deviceSel.addEventListener("change", () => chooseDevice());
  actionSel.addEventListener("change", chooseAction);
  fill(
    deviceSel,
    ctx.devices.map((d) =>
      h(
        "option",
        { value: d.id, selected: ctx.device && d.id === ctx.device.id },
        d.label ? `${d.label} (${d.name})` : d.name,
      ),
    ),
  );
  if (!ctx.devices.length) {
    show("There is no device yet.", null, false);
    run.disabled = true;
  } else {
    chooseDevice();
  }
  return null;
}
