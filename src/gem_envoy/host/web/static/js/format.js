// How numbers and times are written on the page. One place, so every view agrees.
// Decimal points are always ".", so a reading looks the same on every browser.

const DASH = "—";

export const isNum = (v) => typeof v === "number" && Number.isFinite(v);

/** Watts: "850 W", "3.21 kW", "12.4 kW". The sign is left to the words around it. */
export function power(w, { signed = false } = {}) {
  if (!isNum(w)) return DASH;
  const sign = signed && w < 0 ? "−" : "";
  const a = Math.abs(w);
  if (a < 1000) return `${sign}${Math.round(a)} W`;
  if (a < 10000) return `${sign}${(a / 1000).toFixed(2)} kW`;
  return `${sign}${(a / 1000).toFixed(1)} kW`;
}

/** Watt-hours: "640 Wh", "23.4 kWh", "31.25 MWh". */
export function energy(wh) {
  if (!isNum(wh)) return DASH;
  const a = Math.abs(wh);
  if (a < 1000) return `${Math.round(wh)} Wh`;
  if (a < 100000) return `${(wh / 1000).toFixed(1)} kWh`;
  if (a < 1000000) return `${Math.round(wh / 1000)} kWh`;
  return `${(wh / 1000000).toFixed(2)} MWh`;
}

export function percent(p) {
  return isNum(p) ? `${Math.round(p)} %` : DASH;
}

export function count(n) {
  return isNum(n) ? String(n) : DASH;
}

/** "14:03:12" today, "Mon 12 May, 14:03" on other days, in the viewer's time zone. */
export function clock(ms) {
  if (!isNum(ms)) return DASH;
  const d = new Date(ms);
  const now = new Date();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (d.toDateString() === now.toDateString()) return time;
  const day = d.toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" });
  return `${day}, ${d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
}

/** "12 May 2026" */
export function date(ms) {
  if (!isNum(ms)) return DASH;
  return new Date(ms).toLocaleDateString([], { day: "numeric", month: "short", year: "numeric" });
}

/** "just now", "12 s ago", "5 min ago", "3 h ago", "2 days ago"; "in 5 days" for the future. */
export function ago(ms, now = Date.now()) {
  if (!isNum(ms)) return DASH;
  const s = Math.round((now - ms) / 1000);
  const future = s < 0;
  const a = Math.abs(s);
  let text;
  if (a < 5) return "just now";
  if (a < 60) text = `${a} s`;
  else if (a < 3600) text = `${Math.floor(a / 60)} min`;
  else if (a < 86400 * 2) text = `${Math.floor(a / 3600)} h`;
  else text = `${Math.floor(a / 86400)} days`;
  return future ? `in ${text}` : `${text} ago`;
}

/** Epoch ms of an ISO 8601 string, or null. */
export function parseIso(text) {
  if (typeof text !== "string" || !text) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

export const DAY_MS = 86400 * 1000;
