// The energy-flow view: the sun, the grid, the house, the cars and the battery around one junction.
// Lines carry moving dashes in the direction the power flows, thicker for more power; a node whose
// value is unknown is greyed. Built once as SVG, then only its text and classes change.
import { fmtW } from "./format.js";

const NS = "http://www.w3.org/2000/svg";
const J = { x: 180, y: 120 };
const NODES = {
  pv: { x: 180, y: 36, label: "Solar" },
  grid: { x: 44, y: 120, label: "Grid" },
  house: { x: 316, y: 120, label: "House" },
  car: { x: 105, y: 210, label: "Car" },
  battery: { x: 255, y: 210, label: "Battery" },
};

function el(name, attrs = {}, parent = null) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

export class FlowView {
  constructor(root) {
    const svg = el("svg", { viewBox: "0 0 360 250", role: "img", "aria-label": "Energy flow", class: "flow" });
    this.parts = {};
    for (const [key, n] of Object.entries(NODES)) {
      const line = el("line", { x1: n.x, y1: n.y, x2: J.x, y2: J.y, class: "flow-line" }, svg);
      this.parts[key] = { line };
    }
    el("circle", { cx: J.x, cy: J.y, r: 6, class: "junction" }, svg);
    for (const [key, n] of Object.entries(NODES)) {
      const g = el("g", { class: `node node-${key}`, "data-testid": `flow-${key}` }, svg);
      el("circle", { cx: n.x, cy: n.y, r: 34, class: "node-bg" }, g);
      const label = el("text", { x: n.x, y: n.y - 4, class: "node-label" }, g);
      label.textContent = n.label;
      const value = el("text", { x: n.x, y: n.y + 12, class: "node-value", "data-testid": `flow-${key}-w` }, g);
      value.textContent = "–";
      Object.assign(this.parts[key], { g, label, value });
    }
    root.replaceChildren(svg);
  }

  /** flow: watts into the junction (>0) or out of it (<0); null = unknown. */
  set(key, watts, shown) {
    const p = this.parts[key];
    p.g.classList.toggle("unknown", watts === null || watts === undefined);
    p.g.style.display = p.line.style.display = shown === false ? "none" : "";
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
    this.set("pv", s.pv_w);
    // Grid: + import flows into the house junction, - export flows out to the grid.
    this.set("grid", s.grid_w);
    this.set("house", s.house_w === null ? null : -s.house_w);
    this.set("car", -s.cars_w);
    this.set("battery", s.battery_w, s.battery_w !== null || s.battery_soc_pct !== null);
    this.parts.grid.label.textContent = s.grid_w === null ? "Grid" : s.grid_w < 0 ? "Export" : "Import";
    this.parts.battery.label.textContent =
      s.battery_soc_pct === null ? "Battery" : `Battery ${Math.round(s.battery_soc_pct)}%`;
  }
}
