// The hub's REST API as the page calls it, with the admin token kept in localStorage.

export const API = "/api/v1";
const TOKEN_KEY = "cm.token";

/** The admin token pasted into the header ("" when none). */
export function token() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

/** Keeps the admin token for the next visits. */
export function setToken(value) {
  localStorage.setItem(TOKEN_KEY, value.trim());
}

/**
 * Calls the REST API; throws an Error with the hub's message (and the HTTP `status`) on a
 * non-2xx answer.
 */
export async function api(method, path, body) {
  const headers = { accept: "application/json" };
  if (token()) headers.authorization = `Bearer ${token()}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(API + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new Error(data?.error?.message ?? `${method} ${path}: HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return data;
}
