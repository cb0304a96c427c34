// Where the power flow's values come from and how old they are, beside the flow:
// "Live · meter stream · updated 0.8 s ago" ("Live · starting" while the gateway's live
// source, idle until someone watches, opens for this page). Values older than three polling intervals are
// stale: the line says so and the card dims them (solar.css, .flow.stale).
//
// The age is counted from the moment this page received a power value through the event
// stream, not from the host's timestamp, so a phone whose clock is a few seconds off still
// reads "0.8 s". Only after a (re)load, which carries no receipt time, does it start from the
// attributes' update time on the host.

import { h } from "/js/dom.js";
import { ago, isNum } from "/js/format.js";

// The flow's own values and the per-phase ones (production_now_w_l1 ...).
const POWER = new Set(["production_now_w", "consumption_now_w", "net_power_w", "battery_now_w", "battery_soc_percent"]);
const PHASE = /^(production_now_w|consumption_now_w|net_power_w)_l[123]$/;
export const isPower = (name) => POWER.has(name) || PHASE.test(name);

const DEFAULT_INTERVAL_MS = 30000; // the driver's polling_interval when none is set
const STALE_AFTER_INTERVALS = 3;
// Tenths of a second while the age is short and moving (a live feed updates every 1-2 s);
// the text is only rewritten when it changes, so the slower ages cost one write a second.
const TICK_MS = 200;
const DECIMALS_BELOW_MS = 10000;

const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

/** The line; `heard(ms)` when power values arrive, `update(values)` on any change,
 * `stop()` when the page goes. The card it dims is given as `card`. */
export function createFreshness(card) {
  const dot = h("span", { class: "dot" });
  const source = h("span", { id: "live-source" }, "—");
  const age = h("span", { id: "live-age" });
  const el = h("p", { class: "freshness small muted" }, dot, source, h("span", { "aria-hidden": "true" }, " · "), age);
  let heardMs = null;
  let staleAfterMs = STALE_AFTER_INTERVALS * DEFAULT_INTERVAL_MS;

  function tick() {
    if (heardMs === null || document.hidden) return;
    const ms = Date.now() - heardMs;
    const stale = ms > staleAfterMs;
    const text = stale ? `no new values for ${ago(heardMs).replace(/ ago$/, "")}` : `updated ${elapsed(ms)}`;
    if (age.textContent !== text) age.textContent = text;
    if (card.classList.contains("stale") !== stale) card.classList.toggle("stale", stale);
  }
  const timer = setInterval(tick, TICK_MS);

  return {
    el,
    /** Power values were received at `ms` (this page's clock, or the host's after a load). */
    heard(ms) {
      if (!isNum(ms) || (heardMs !== null && ms < heardMs)) return;
      heardMs = ms;
      age.dataset.ms = String(ms);
      tick();
    },
    update(v) {
      const interval = isNum(v.polling_interval) && v.polling_interval > 0 ? v.polling_interval : DEFAULT_INTERVAL_MS;
      staleAfterMs = STALE_AFTER_INTERVALS * interval;
      // The user's switch wins at once; the driver follows with live_source = "poll".
      const kind = v.live === false ? "poll" : v.live_source || "poll";
      // Live rests while nobody watches; this page is a watcher, so "idle" only lasts the
      // second or two the gateway takes to start sending.
      const starting = v.live !== false && v.live_state === "idle";
      const text = starting
        ? "Live · starting"
        : kind === "stream"
          ? "Live · meter stream"
          : kind === "livedata"
            ? "Live · livedata"
            : `Polled every ${every(interval)}`;
      if (source.textContent !== text) source.textContent = text;
      source.dataset.source = kind;
      dot.className = kind === "poll" ? "dot" : "dot ok";
      tick();
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/** "0.8 s ago", "12 s ago", then format.js's "3 min ago". */
function elapsed(ms) {
  if (ms < 0) return "just now"; // the host's clock ahead of this one, after a load
  if (ms < DECIMALS_BELOW_MS) {
    // Under reduced motion, no tenths flickering past: whole seconds.
    return reducedMotion.matches ? `${Math.floor(ms / 1000)} s ago` : `${(ms / 1000).toFixed(1)} s ago`;
  }
  if (ms < 60000) return `${Math.floor(ms / 1000)} s ago`;
  return ago(Date.now() - ms);
}

/** A polling interval in words: "5 s", "30 s", "2 min". */
function every(ms) {
  const s = ms / 1000;
  if (s < 120) return `${Math.round(s)} s`;
  return `${Math.round((s / 60) * 10) / 10} min`;
}
