// The live connection: Server-Sent Events from /api/events, pushed by the host when
// attributes change. EventSource cannot send headers, so the token goes in the query string;
// the host moves it out of the URL before routing or logging.
//
// An open stream tells the host that someone watches its devices, and devices with a costly
// live source run it only then. A page in a background tab watches nothing: its stream is
// closed while the tab is hidden (the host keeps devices live for a minute, so a glance at
// another tab changes nothing) and opened again, with a fresh read, when it is shown.

import { api, currentToken } from "./api.js";
import { merge, reloadAll } from "./state.js";

const RETRY_MS = 3000;
let source = null;
let retryTimer = null;
let everOpened = false;
let wanted = false; // between openLive() and closeLive(), whether the tab is shown or not

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

function connect() {
  disconnect();
  if (!wanted || document.hidden) return;
  const token = currentToken();
  if (!token) return;
  indicate("connecting");
  source = new EventSource(`/api/events?access_token=${encodeURIComponent(token)}`);
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
