// The live connection: Server-Sent Events from /api/events, pushed by the host when
// attributes change. EventSource cannot send headers, so the token goes in the query string;
// the host moves it out of the URL before routing or logging.

import { api, currentToken } from "./api.js";
import { merge, reloadAll } from "./state.js";

const RETRY_MS = 3000;
let source = null;
let retryTimer = null;
let everOpened = false;

function indicate(state) {
  const el = document.getElementById("live");
  if (!el) return;
  el.dataset.state = state;
  el.textContent = state === "open" ? "Live" : "Reconnecting…";
}

export function openLive() {
  closeLive();
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
          openLive();
        } catch {
          retryTimer = setTimeout(openLive, RETRY_MS);
        }
      }, RETRY_MS);
    }
  });
}

export function closeLive() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (source) source.close();
  source = null;
  everOpened = false;
}
