// The REST API client: every request of the page goes through here, with the bearer token.
// A 401 on a signed-in request means the session is over: main.js hears "gem:unauthorized".

let token = null;

export function setToken(value) {
  token = value;
}

export function currentToken() {
  return token;
}

export class ApiError extends Error {
  constructor(status, message, data) {
    super(message);
    this.status = status;
    this.data = data;
  }
}

/** Any request; resolves to {ok, status, data, ms} and never throws for an HTTP error. */
export async function request(path, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const started = performance.now();
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
      credentials: "omit", // the token is the only credential; no cookies either way
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "The host did not answer. Is gem-envoy running?", null);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (response.status === 401 && token && path !== "/api/token") {
    window.dispatchEvent(new CustomEvent("gem:unauthorized"));
  }
  return { ok: response.ok, status: response.status, data, ms: performance.now() - started };
}

/** A request whose answer must be a success: resolves to the JSON, or throws ApiError. */
export async function api(path, options) {
  const answer = await request(path, options);
  if (!answer.ok) {
    const message =
      (answer.data && typeof answer.data === "object" && answer.data.error) ||
      `The host answered ${answer.status}.`;
    throw new ApiError(answer.status, message, answer.data);
  }
  return answer.data;
}

/** Attribute values and update times of one device or zone: {values, updated (epoch ms)}. */
export async function attributeDetails(type, id) {
  const details = await api(`/api/attributes/${type}/${id}/details`);
  const values = {};
  const updated = {};
  for (const [name, d] of Object.entries(details)) {
    values[name] = d.value;
    updated[name] = d.updated_at * 1000;
  }
  return { values, updated };
}
