// The dashboard: live state over the WebSocket, controls over the REST API, the chart and the
// sessions list refreshed from their endpoints. Everything it loads comes from the daemon itself.
import "./style.css";
import { ApiError, api, connectState, getToken, setToken, takeTokenFromUrl } from "./api.js";
import { LoadpointCards } from "./cards.js";
import { HistoryChart, describeHistory } from "./chart.js";
import { FlowView } from "./flow.js";
import { fmtAge, fmtClock } from "./format.js";
import { SessionsTable } from "./sessions.js";

const $ = (id) => document.getElementById(id);
/** No message for this long (ms) and the page says the connection is lost. */
const SILENT_MS = 12000;

let lastState = null;
let lastMessageAt = 0;
let connStatus = "connecting";
let connWhy = "";
let sessionsKey = "";

takeTokenFromUrl();
const flow = new FlowView($("flow"));
const chart = new HistoryChart($("chart"));
const sessionsTable = new SessionsTable($("sessions"));
const cards = new LoadpointCards($("loadpoints"), {
  setMode: (id, mode) => control(id, "mode", { mode }),
  setMax: (id, amps) => control(id, "current", { max_a: amps }),
  chargeNow: (id, seconds) => control(id, "charge-now", seconds ? { duration_s: seconds } : {}),
  cancelChargeNow: (id) => control(id, "charge-now", undefined, "DELETE"),
  setEnergyLimit: (id, kwh) => control(id, "energy-limit", { kwh }),
  setVehicle: (id, name) => control(id, "vehicle", { vehicle: name || null }),
  setPhases: (id, phases) => control(id, "phases", { phases }),
});

// ------------------------------------------------------------------------------ controls and token

async function control(id, what, body, method = "POST") {
  const path = `api/loadpoints/${encodeURIComponent(id)}/${what}`;
  try {
    const lp = await api(path, { method, body });
    cards.apply(lp, lastState);
    toast("");
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      if (await askToken(e.status === 403 ? "The saved token was refused." : "")) return control(id, what, body, method);
      return;
    }
    toast(e.message || String(e), true);
  }
}

function askToken(reason) {
  const dialog = $("token-dialog");
  $("token-input").value = getToken();
  $("token-why").firstChild.textContent = `${reason ? reason + " " : ""}Changing settings needs the API token. It is in the file `;
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        const ok = dialog.returnValue === "save" && $("token-input").value.trim() !== "";
        if (ok) {
          setToken($("token-input").value.trim());
          live.reconnect();
        }
        resolve(ok);
      },
      { once: true },
    );
    dialog.showModal();
  });
}
$("token-button").addEventListener("click", () => askToken(""));

let toastEl = null;
function toast(text, error = false) {
  if (!toastEl) {
    toastEl = document.createElement("div");
    toastEl.className = "toast";
    toastEl.setAttribute("role", "status");
    toastEl.dataset.testid = "toast";
    document.body.append(toastEl);
  }
  toastEl.textContent = text;
  toastEl.classList.toggle("error", error);
  toastEl.hidden = !text;
  if (text) setTimeout(() => toastEl.textContent === text && (toastEl.hidden = true), 6000);
}

// ---------------------------------------------------------------------------------- live state

function render(state) {
  lastState = state;
  lastMessageAt = Date.now();
  $("first-run").hidden = !state.first_run || location.hash === "#help";
  flow.update(state);
  cards.update(state);
  sessionsTable.follow(state);
  $("clock").textContent = fmtClock(state.time);
  const key = state.loadpoints.map((lp) => (lp.session ? lp.session.id : "-")).join(",");
  if (key !== sessionsKey) {
    sessionsKey = key;
    refreshSessions();
  }
  renderBanner();
}

// ------------------------------------------------------------------------------ views (#help)

function showView() {
  const help = location.hash === "#help";
  $("help").hidden = !help;
  $("dashboard").hidden = help;
  $("first-run").hidden = help || !(lastState && lastState.first_run);
  for (const [tab, on] of [["tab-help", help], ["tab-dashboard", !help]]) {
    if (on) $(tab).setAttribute("aria-current", "page");
    else $(tab).removeAttribute("aria-current");
  }
  if (!help) chart.resize();
}
window.addEventListener("hashchange", showView);
showView();

function renderBanner() {
  const problems = [];
  const silentFor = (Date.now() - lastMessageAt) / 1000;
  if (connStatus !== "live" || silentFor > SILENT_MS / 1000) {
    problems.push(
      lastMessageAt
        ? `No update from ecotrack for ${fmtAge(silentFor)}${connWhy ? ` (${connWhy})` : ""}: the values below are old.`
        : `Connecting to ecotrack…${connWhy ? ` (${connWhy})` : ""}`,
    );
  }
  const s = lastState && lastState.site;
  if (s) {
    if (s.failsafe) problems.push("Failsafe: the meter data is missing or too old, so the chargers are held at their safe current.");
    else if (s.stale) problems.push(s.data_age_s === null ? "No meter data yet." : `Meter data is stale (last reading ${fmtAge(s.data_age_s)} ago).`);
    for (const lp of lastState.loadpoints) if (!lp.charger_online) problems.push(`Charger of ${lp.id} is offline.`);
    for (const m of lastState.meters) if (!m.online) problems.push(`Meter ${m.id} is offline${m.error ? `: ${m.error}` : ""}.`);
  }
  const banner = $("banner");
  banner.hidden = problems.length === 0;
  banner.textContent = problems.join(" ");
  const stale = connStatus !== "live" || silentFor > SILENT_MS / 1000 || (s && s.stale);
  document.body.classList.toggle("stale", Boolean(stale));
  const pill = $("conn");
  const live = connStatus === "live" && silentFor <= SILENT_MS / 1000;
  pill.className = `pill ${live ? "pill-charging" : connStatus === "connecting" ? "pill-wait" : "pill-offline"}`;
  pill.textContent = live ? "live" : connStatus === "connecting" ? "connecting…" : "offline";
}

const live = connectState(render, (status, why = "") => {
  connStatus = status;
  connWhy = why;
  renderBanner();
});
setInterval(renderBanner, 1000);

// ------------------------------------------------------------------------- chart and sessions

async function refreshHistory() {
  try {
    const h = await api("api/history");
    chart.update(h);
    $("chart-note").textContent = describeHistory(h, chart.gaps);
  } catch (e) {
    $("chart-note").textContent = `History not available: ${e.message}`;
  }
}

async function refreshSessions() {
  try {
    sessionsTable.render(await api("api/sessions"), lastState);
  } catch {
    /* shown as "No sessions yet" */
  }
}

refreshHistory();
setInterval(refreshHistory, 10000);
setInterval(refreshSessions, 30000);
