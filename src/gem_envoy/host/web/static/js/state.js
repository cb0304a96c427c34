// What the page knows about attributes, kept current by the event stream.
// Views read from here and subscribe; they never poll.

import { attributeDetails } from "./api.js";

const cache = new Map(); // "device:1" -> {values: {name: value}, updated: {name: epoch ms}}
const listeners = new Set();
const loading = new Map(); // key -> changes that arrived while its attributes were being read

const keyOf = (type, id) => `${type}:${id}`;

export function get(type, id) {
  return cache.get(keyOf(type, id)) || { values: {}, updated: {} };
}

/** Fetches one target's attributes into the cache (and tells the listeners). */
export async function load(type, id) {
  const key = keyOf(type, id);
  loading.set(key, []);
  let fresh;
  try {
    fresh = await attributeDetails(type, id);
  } finally {
    const missed = loading.get(key) || [];
    loading.delete(key);
    if (fresh) {
      cache.set(key, fresh);
      // Changes that raced the read are applied on top, in order: the last one wins.
      for (const [values, atMs] of missed) apply(fresh, values, atMs);
    }
  }
  notify(type, id, fresh.values);
  return fresh;
}

/** Applies a change from the event stream: `values` at `atMs`. */
export function merge(type, id, values, atMs) {
  // Only targets already read are kept (a partial entry would look complete); listeners
  // hear every change either way.
  const key = keyOf(type, id);
  const entry = cache.get(key);
  if (entry) apply(entry, values, atMs);
  if (loading.has(key)) loading.get(key).push([values, atMs]);
  notify(type, id, values);
}

function apply(entry, values, atMs) {
  for (const [name, value] of Object.entries(values)) {
    if (value === null) {
      delete entry.values[name];
      delete entry.updated[name];
    } else {
      entry.values[name] = value;
      entry.updated[name] = atMs;
    }
  }
}

/** Reloads everything cached: after the event stream was away, changes may have been missed. */
export async function reloadAll() {
  const keys = [...cache.keys()];
  await Promise.allSettled(
    keys.map((k) => {
      const [type, id] = k.split(":");
      return load(type, Number(id));
    }),
  );
}

export function clear() {
  cache.clear();
}

/** `fn(type, id, changedValues)` on every change; returns the function that unsubscribes. */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function notify(type, id, values) {
  for (const fn of listeners) {
    try {
      fn(type, id, values);
    } catch (err) {
      console.error("a view failed to update", err);
    }
  }
}
