// The live connection: Server-Sent Events from /api/events, pushed by the host when
// attributes change. EventSource cannot send headers, so the token goes in the query string;
// the host moves it out of the URL before routing or logging.
//
// An open stream tells the host that someone watches its devices, and devices with a costly
// live source run it only then. A page in a background tab watches nothing: its stream is
// closed while the tab is hidden (the host keeps devices live for a minute, so a glance at
// another tab changes nothing) and opened again, with a fresh read, when it is shown.
// A view of one device (a driver's page) asks for that device alone (`?device=`), so that a
// host with many gateways runs the live source of the one looked at, not of all of them.

import { api, currentToken } from "./api.js";
import { merge, reloadAll } from "./state.js";

const RETRY_MS = 3000;
let source = null;
let retryTimer = null;
let everOpened = false;
let wanted = false; // between openLive() and closeLive(), whether the tab is shown or not
let following = null; // the ids of the devices the stream asks for; null: every device

function indicate(state) {
  const el = document.getElementById("live");
  if (!el) return;
  el.dataset.state = state;
  el.textContent = state === "open" ? "Live" : "Reconnecting…";
}

export function openLive() {
  wanted = true;
  connect();
}

// The devices the shown view needs live (an array of ids), or null for every device; the
// stream is opened again only when that changes.
export function followDevices(ids) {
  const next = ids ? [...ids].sort((a, b) => a - b) : null;
  if (String(next) === String(following) && (next === null) === (following === null)) return;
  following = next;
  if (wanted) connect();
}

function streamUrl(token) {
  const devices = (following || []).map((id) => `&device=${encodeURIComponent(id)}`).join("");
  return `/api/events?access_token=${encodeURIComponent(token)}${devices}`;
}

function connect() {
  disconnect();
  if (!wanted || document.hidden) return;
  const token = currentToken();
  if (!token) return;
  indicate("connecting");
  source = new EventSource(streamUrl(token));
  source.addEventListener("open", () => {
    indicate("open");
    // Changes made while we were away were not pushed to us: read them once.
    if (everOpened) reloadAll();
    everOpened = true;
  });
  source.addEventListener("attributes", (event) => {
    let change;
    try {
      change = JSON.parse(event.data);
    } catch {
      return;
    }
    merge(change.target_type, change.target_id, change.values, change.at * 1000);
  });
  source.addEventListener("error", () => {
    indicate("connecting");
    // The browser retries by itself unless the stream was refused (closed for good).
    if (source && source.readyState === EventSource.CLOSED) {
      source.close();
      source = null;
      retryTimer = setTimeout(async () => {
        try {
          await api("/api/session"); // a 401 here signs the page out (see api.js)
          connect();
        } catch {
          retryTimer = setTimeout(connect, RETRY_MS);
        }
      }, RETRY_MS);
    }
  });
}

export function closeLive() {
  wanted = false;
  disconnect();
  everOpened = false;
  following = null;
}

function disconnect() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (source) source.close();
  source = null;
}

// Shown again: `everOpened` stays true while hidden, so the reopened stream reloads what
// changed meanwhile.
document.addEventListener("visibilitychange", () => {
  if (document.hidden) disconnect();
  else connect();
});
