// What the host tells the page about its drivers: their names (GET /api/drivers) and each
// one's attributes, commands and pages (GET /api/drivers/{name}). They change only with the
// host's code, so each is read once per sign-in and shared by every view.

import { api } from "./api.js";

let names = null; // a promise of the sorted names
const details = new Map(); // name -> a promise of its details

export function driverNames() {
  if (!names) names = remembered(api("/api/drivers"), () => (names = null));
  return names;
}

export function driverInfo(name) {
  if (!details.has(name)) {
    const url = `/api/drivers/${encodeURIComponent(name)}`;
    details.set(name, remembered(api(url), () => details.delete(name)));
  }
  return details.get(name);
}

export function forgetDrivers() {
  names = null;
  details.clear();
}

// A failed read is not kept: the next view asks again.
function remembered(promise, forget) {
  promise.catch(forget);
  return promise;
}
