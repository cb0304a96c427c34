// One zone per microinverter, added from the gateway's own inverter list in one click: the
// get_inverters command answers the serials, and those without a zone get one, named
// "Inverter <n>" in the gateway's order.

import { api } from "/js/api.js";

/**
 * Adds the missing zones of `deviceId`; resolves to {added, known}, where known is the
 * number of inverters the gateway reported. Throws ApiError, with a hint when the token
 * cannot read the list.
 */
export async function addInverterZones(deviceId) {
  let paused = false;
  try {
    let answer;
    try {
      answer = await api("/api/control/command", {
        method: "POST",
        body: { device: deviceId, action: "get_inverters" },
      });
    } catch (err) {
      if (err.status === 400 || err.status === 502) err.message += " (the inverter list needs an installer token)";
      throw err;
    }
    const serials = Array.isArray(answer && answer.serials) ? answer.serials : [];
    const [device, zones] = await Promise.all([
      api(`/api/data/devices/${deviceId}`),
      api(`/api/data/zones?device=${deviceId}`),
    ]);
    const known = new Set(zones.map((z) => z.address));
    const names = new Set(zones.map((z) => z.name));
    const missing = serials.map((serial, index) => [serial, index]).filter(([serial]) => !known.has(serial));
    // A running driver reads the inverter list every 5 minutes; zones added one by one
    // while it runs would wait that long for values. Polling pauses while they are added,
    // and the restarted driver reads the list for all of them at once.
    if (missing.length && device.enabled) {
      await setEnabled(deviceId, false);
      paused = true;
    }
    for (const [serial, index] of missing) {
      const name = names.has(`Inverter ${index + 1}`) ? `Inverter ${serial}` : `Inverter ${index + 1}`;
      await api("/api/data/zones", { method: "POST", body: { device: deviceId, name, address: serial } });
      names.add(name);
    }
    if (paused) {
      paused = false;
      await setEnabled(deviceId, true);
    }
    return { added: missing.length, known: serials.length };
  } finally {
    // Whatever failed, a device that was polling is left polling.
    if (paused) await setEnabled(deviceId, true).catch(() => {});
  }
}

function setEnabled(deviceId, enabled) {
  return api(`/api/data/devices/${deviceId}`, { method: "PUT", body: { enabled } });
}

/** The outcome in words, for the page. */
export function describeOutcome({ added, known }) {
  if (added) return `Added ${added} zone${added === 1 ? "" : "s"}. Their values appear with the next poll.`;
  if (known) return `All ${known} inverters already have a zone.`;
  return "The gateway reported no microinverters.";
}
