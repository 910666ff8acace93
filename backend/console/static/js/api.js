// The session (tokens in sessionStorage: gone with the tab) and JSON calls to the API.
// A 401 refreshes the access token once, through a single shared refresh: the API ends the
// whole session when a refresh token is presented twice.

const KEY = "lastmile.console.session";
const STAFF = new Set(["admin", "dispatcher"]);
let session = load();
let refreshing = null;

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY));
  } catch {
    return null;
  }
}

function save(tokens) {
  session = {
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    role: tokens.role,
    expires_at: Date.now() + tokens.expires_in * 1000,
  };
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function current() {
  return session;
}

function forget() {
  session = null;
  sessionStorage.removeItem(KEY);
  window.dispatchEvent(new CustomEvent("console:signed-out"));
}

async function send(path, { method = "GET", body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  return fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  });
}

async function decode(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export async function signIn(email, password) {
  const tokens = await decode(await send("/v1/auth/token", { method: "POST", body: { email, password } }));
  if (!STAFF.has(tokens.role)) {
    throw new ApiError(403, { detail: "The console is for dispatchers and admins." });
  }
  save(tokens);
}

export async function signOut() {
  const token = session && session.access_token;
  forget();
  if (token) await send("/v1/auth/logout", { method: "POST", token }).catch(() => null);
}

function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      if (!session) throw new ApiError(401, { detail: "Signed out" });
      const response = await send("/v1/auth/refresh", {
        method: "POST",
        body: { refresh_token: session.refresh_token },
      });
      if (!response.ok) {
        forget();
        throw new ApiError(401, { detail: "Your session ended; sign in again." });
      }
      save(await response.json());
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

// A valid access token, refreshed when it expires within half a minute.
export async function accessToken() {
  if (!session) throw new ApiError(401, { detail: "Signed out" });
  if (session.expires_at - Date.now() < 30_000) await refresh();
  return session.access_token;
}

export async function api(path, options = {}) {
  let response = await send(path, { ...options, token: await accessToken() });
  if (response.status === 401 && session) {
    await refresh();
    response = await send(path, { ...options, token: session.access_token });
  }
  if (response.status === 401) forget();
  return decode(response);
}

// Every item of a paged list (`{items, next_cursor}`), `limit` at a time.
export async function all(path, params = {}, limit = 500) {
  const items = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ ...params, limit: String(limit) });
    if (cursor) query.set("cursor", cursor);
    const page = await api(`${path}?${query}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}
