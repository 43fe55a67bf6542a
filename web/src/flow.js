// The energy-flow view: the sun, the grid, the house, one node per loadpoint (car) and the battery
// around one junction. Lines carry moving dashes in the direction the power flows, thicker for more
// power; a node whose value is unknown is greyed. The SVG is built again only when the set of
// loadpoints (or whether there is a battery) changes; otherwise only its text and classes change.
import { fmtW } from "./format.js";

const NS = "http://www.w3.org/2000/svg";
const WIDTH = 360;
const J = { x: 180, y: 120 };
const FIXED = {
  pv: { x: 180, y: 36, label: "Solar" },
  grid: { x: 44, y: 120, label: "Grid" },
  house: { x: 316, y: 120, label: "House" },
};
const BOTTOM_Y = 210;
const RADIUS = 34;

function el(name, attrs = {}, parent = null) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

/** Node positions: the fixed three, then the loadpoints and the battery spread along the bottom row. */
export function layout(loadpointIds, battery) {
  const nodes = { ...FIXED };
  const bottom = [...loadpointIds.map((id) => ["lp:" + id, id]), ...(battery ? [["battery", "Battery"]] : [])];
  const slot = WIDTH / Math.max(2, bottom.length);
  const offset = (WIDTH - slot * Math.max(2, bottom.length)) / 2 + (bottom.length === 1 ? slot / 2 : 0);
  bottom.forEach(([key, label], i) => {
    nodes[key] = { x: offset + slot * (i + 0.5), y: BOTTOM_Y, label, r: Math.min(RADIUS, slot / 2 - 3) };
  });
  return nodes;
}

export class FlowView {
  constructor(root) {
    this.root = root;
    this.key = null;
    this.parts = {};
  }

  build(nodes) {
    const svg = el("svg", { viewBox: `0 0 ${WIDTH} 250`, role: "img", "aria-label": "Energy flow", class: "flow" });
    this.parts = {};
    for (const [key, n] of Object.entries(nodes)) {
      const line = el("line", { x1: n.x, y1: n.y, x2: J.x, y2: J.y, class: "flow-line" }, svg);
      this.parts[key] = { line };
    }
    el("circle", { cx: J.x, cy: J.y, r: 6, class: "junction" }, svg);
    for (const [key, n] of Object.entries(nodes)) {
      const lp = key.startsWith("lp:");
      const testid = lp ? `flow-lp-${key.slice(3)}` : `flow-${key}`;
      const g = el("g", { class: `node node-${lp ? "car" : key}`, "data-testid": testid }, svg);
      el("circle", { cx: n.x, cy: n.y, r: n.r || RADIUS, class: "node-bg" }, g);
      const label = el("text", { x: n.x, y: n.y - 4, class: "node-label" }, g);
      label.textContent = n.label.length > 9 ? n.label.slice(0, 8) + "…" : n.label;
      if (lp) el("title", {}, label).textContent = n.label;
      const value = el("text", { x: n.x, y: n.y + 12, class: "node-value", "data-testid": `${testid}-w` }, g);
      value.textContent = "–";
      Object.assign(this.parts[key], { g, label, value });
    }
    this.root.replaceChildren(svg);
  }

  /** flow: watts into the junction (>0) or out of it (<0); null = unknown. */
  set(key, watts) {
    const p = this.parts[key];
    if (!p) return;
    p.g.classList.toggle("unknown", watts === null || watts === undefined);
    p.value.textContent = fmtW(watts === null || watts === undefined ? null : Math.abs(watts));
    const w = Number.isFinite(watts) ? watts : 0;
    const active = Math.abs(w) >= 20;
    p.line.classList.toggle("active", active);
    p.line.classList.toggle("inward", active && w > 0);
    p.line.classList.toggle("outward", active && w < 0);
    p.line.style.strokeWidth = String(active ? Math.min(9, 2 + Math.abs(w) / 1000) : 1.5);
  }

  update(state) {
    const s = state.site;
    const ids = state.loadpoints.map((lp) => lp.id);
    const battery = s.battery_w !== null || s.battery_soc_pct !== null;
    const key = JSON.stringify([ids, battery]);
    if (key !== this.key) {
      this.key = key;
      this.build(layout(ids, battery));
    }
    this.set("pv", s.pv_w);
    // Grid: + import flows into the house junction, - export flows out to the grid.
    this.set("grid", s.grid_w);
    this.set("house", s.house_w === null ? null : -s.house_w);
    for (const lp of state.loadpoints) this.set("lp:" + lp.id, -lp.power_w);
    if (battery) this.set("battery", s.battery_w);
    this.parts.grid.label.textContent = s.grid_w === null ? "Grid" : s.grid_w < 0 ? "Export" : "Import";
    if (battery) {
      this.parts.battery.label.textContent =
        s.battery_soc_pct === null ? "Battery" : `Battery ${Math.round(s.battery_soc_pct)}%`;
    }
  }
}
