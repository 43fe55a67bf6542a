// The sessions list: rows from GET /api/sessions, and the running sessions' figures from the live state.
//
// The list is fetched when a session starts or ends (and every 30 s); between fetches a running
// session's energy and solar share come from the same WebSocket state the loadpoint cards show, with
// the same formatting, so the table and the cards never disagree.
import { fmtDateTime, fmtKwh, fmtPct } from "./format.js";

const SHOWN = 20;

function cell(text, testid) {
  const td = document.createElement("td");
  td.textContent = text;
  if (testid) td.dataset.testid = testid;
  return td;
}

export class SessionsTable {
  constructor(root) {
    this.root = root;
    /** session id -> {energy, solar} cells of a running session's row */
    this.open = new Map();
  }

  /** body: the body of GET /api/sessions; state: the last live state (or null). */
  render(body, state) {
    const sessions = (body && body.sessions) || [];
    this.open.clear();
    if (!sessions.length) {
      this.root.innerHTML = '<p class="muted">No sessions yet.</p>';
      return;
    }
    const table = document.createElement("table");
    table.className = "sessions";
    table.innerHTML = "<thead><tr><th>Started</th><th>Loadpoint</th><th>Energy</th><th>Solar</th></tr></thead>";
    const tbody = document.createElement("tbody");
    for (const s of sessions.slice(0, SHOWN)) {
      const tr = document.createElement("tr");
      tr.dataset.testid = "session-row";
      tr.dataset.session = s.id;
      const energy = cell(fmtKwh(s.energy_wh), "session-energy");
      const solar = cell(fmtPct(s.solar_share), "session-solar");
      if (!s.ended) {
        tr.className = "open";
        this.open.set(s.id, { energy, solar });
      }
      tr.append(cell(fmtDateTime(s.started) + (s.ended ? "" : " ●")), cell(s.loadpoint), energy, solar);
      tbody.append(tr);
    }
    table.append(tbody);
    this.root.replaceChildren(table);
    if (state) this.follow(state);
  }

  /** Lay the live state's running sessions over their rows (called on every state message). */
  follow(state) {
    for (const lp of state.loadpoints) {
      const s = lp.session;
      const row = s && this.open.get(s.id);
      if (!row) continue;
      row.energy.textContent = fmtKwh(s.energy_wh);
      row.solar.textContent = fmtPct(s.solar_share);
    }
  }
}
