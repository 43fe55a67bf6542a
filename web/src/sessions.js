// The sessions list, fed from GET /api/sessions.
import { fmtDateTime, fmtKwh, fmtPct } from "./format.js";

export function renderSessions(root, body) {
  const sessions = body.sessions || [];
  if (!sessions.length) {
    root.innerHTML = '<p class="muted">No sessions yet.</p>';
    return;
  }
  const table = document.createElement("table");
  table.className = "sessions";
  table.innerHTML = "<thead><tr><th>Started</th><th>Loadpoint</th><th>Energy</th><th>Solar</th></tr></thead>";
  const tbody = document.createElement("tbody");
  for (const s of sessions.slice(0, 20)) {
    const tr = document.createElement("tr");
    if (!s.ended) tr.className = "open";
    for (const text of [fmtDateTime(s.started) + (s.ended ? "" : " ●"), s.loadpoint, fmtKwh(s.energy_wh), fmtPct(s.solar_share)]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    tbody.append(tr);
  }
  table.append(tbody);
  root.replaceChildren(table);
}
