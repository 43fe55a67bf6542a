// Talking to the daemon: REST calls with the bearer token, and the live WebSocket.
//
// The token comes from the URL fragment (#token=..., as `ecotrack demo` prints it; the fragment is never
// sent to the server) or from the token dialog, and is kept in localStorage. Reads work without it on
// the daemon's own machine; writes always need it, so a 401/403 on a write opens the dialog.

const KEY = "ecotrack.token";
const WS_PROTOCOL = "ecotrack";
const WS_TOKEN_PREFIX = "ecotrack.token.";

function hex(text) {
  return Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function takeTokenFromUrl() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    setToken(decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
}

export function getToken() {
  try {
    return localStorage.getItem(KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
  } catch {
    /* private mode: the token lives until the page closes */
  }
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** A readable message from FastAPI's error body ({detail: "..."} or {detail: [{loc, msg}]}). */
function describe(body, status) {
  const d = body && body.detail;
  if (typeof d === "string") return d;
  if (Array.isArray(d) && d.length) return d.map((e) => `${(e.loc || []).slice(1).join(".") || "body"}: ${e.msg}`).join("; ");
  return `HTTP ${status}`;
}

/** fetch a JSON endpoint (relative to the page); throws ApiError with the server's message. */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try {
    data = await res.json();
  } catch {
    /* empty or not JSON */
  }
  if (!res.ok) throw new ApiError(res.status, describe(data, res.status));
  return data;
}

/**
 * Keep a WebSocket to /ws open; call onState(state) per message and onStatus("live"|"connecting"|"down", why).
 * Reconnects with backoff (1 s doubling to 15 s).
 */
export function connectState(onState, onStatus) {
  let delay = 1000;
  let ws = null;
  const open = () => {
    const url = new URL("ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    // The token travels in the handshake's Sec-WebSocket-Protocol header (hex: header-safe), never in the
    // URL, which servers and proxies write to their logs.
    const token = getToken();
    const protocols = token ? [WS_PROTOCOL, WS_TOKEN_PREFIX + hex(token)] : [WS_PROTOCOL];
    onStatus("connecting");
    ws = new WebSocket(url, protocols);
    ws.onopen = () => {
      delay = 1000;
    };
    ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg.type === "state") {
        onStatus("live");
        onState(msg.data);
      }
    };
    ws.onclose = (ev) => {
      onStatus("down", ev.code === 1008 ? ev.reason || "token refused" : "");
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 15000);
    };
  };
  open();
  return { reconnect: () => ws && ws.close() };
}
