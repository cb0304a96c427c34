// How the inverters page judges each panel, apart from how it draws them: pure functions of
// the zones' reports and the plant's production, so a test can hand it any plant.
//
// Daylight is the plant's: its production now, which the gateway measures every poll. The
// inverters' own reports reach the gateway only every 5 minutes (and the host reads their
// list as often), so at dawn, or just after the zones were added, they can still say 0 W
// while the plant makes kilowatts: then the page waits for their next reports instead of
// judging old figures. A panel is compared with its peers, each against its own best report
// (max_w) because panels differ in size; the reference is the median yield of the panels that
// produce at all, so that half an array dead at noon is flagged rather than hidden.

export const REPORT_PERIOD_S = 300; // microinverters report about every five minutes
export const UNDER = 0.8; // below 80 % of its peers' yield: under-producing
export const LOW = 0.9; // below 90 %: low
const NIGHT_W_PER_INVERTER = 10; // the plant below this per inverter: dusk or night
const SILENT_S = 3 * REPORT_PERIOD_S; // three reports behind the newest peer: stopped reporting
const LAGGING = 0.25; // reports adding up to under a quarter of the plant predate its output

/**
 * zones: [{ last_w, max_w, reportMs }] (null where unknown); plantW: the plant's production
 * now, or null when the device has none (then the reports' own sum stands in).
 * Returns { daylight, lagging, reference, panels }: one { yield, relative, status, silentS }
 * per zone, in the same order. status: none (no report yet), idle (no sun), waiting (the
 * reports lag the plant), silent (stopped reporting), unrated (no best report to compare
 * with), under, low or ok.
 */
export function judge(zones, plantW) {
  const reported = zones.filter((z) => z.last_w !== null);
  const sum = reported.reduce((total, z) => total + z.last_w, 0);
  const plant = plantW ?? sum;
  const daylight = plant >= NIGHT_W_PER_INVERTER * Math.max(1, zones.length);
  const lagging = daylight && plantW !== null && sum < LAGGING * plantW;
  const newest = Math.max(-Infinity, ...zones.map((z) => z.reportMs ?? -Infinity));
  const panels = zones.map((z) => {
    const behind = z.reportMs === null || newest === -Infinity ? 0 : (newest - z.reportMs) / 1000;
    return {
      yield: z.last_w !== null && z.max_w ? z.last_w / z.max_w : null,
      silentS: behind > SILENT_S ? behind : 0,
    };
  });
  const yields = panels.filter((p) => !p.silentS && p.yield > 0).map((p) => p.yield);
  const reference = median(yields);
  for (const [index, p] of panels.entries()) {
    p.relative = daylight && !lagging && reference && p.yield !== null ? p.yield / reference : null;
    p.status = status(zones[index], p, { daylight, lagging });
  }
  return { daylight, lagging, reference, panels };
}

function status(zone, p, { daylight, lagging }) {
  if (zone.last_w === null) return "none";
  if (!daylight) return "idle";
  if (p.silentS) return "silent";
  if (lagging) return "waiting";
  if (p.relative === null) return "unrated";
  return p.relative < UNDER ? "under" : p.relative < LOW ? "low" : "ok";
}

export function median(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
