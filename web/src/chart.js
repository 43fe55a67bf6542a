// The 24-hour chart (PV, house, car, grid) with uPlot, fed from GET /api/history.
//
// Where the history has no point for longer than a few steps (ecotrack was stopped, the machine was
// off), a null is inserted so uPlot (spanGaps: false) leaves a gap instead of drawing a straight line
// across hours nobody measured.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { fmtW } from "./format.js";

const SERIES = [
  { key: "pv_w", label: "PV", stroke: "#f59f00", fill: "rgba(245,159,0,0.15)" },
  { key: "house_w", label: "House", stroke: "#1c7ed6" },
  { key: "car_w", label: "Car", stroke: "#2f9e44", fill: "rgba(47,158,68,0.12)" },
  { key: "grid_w", label: "Grid", stroke: "#868e96", dash: [4, 3] },
];

/** A step this many times the history's step (or more) between two points is a gap. */
export const GAP_STEPS = 3;

/**
 * The history's columns for uPlot, with a null row in every gap: [t, ...series] and the number of gaps.
 * history: the body of GET /api/history ({t, step_s, pv_w, ...}).
 */
export function withGaps(history) {
  const t = history.t;
  const columns = SERIES.map((s) => history[s.key]);
  const limit = GAP_STEPS * Math.max(1, history.step_s || 60);
  const outT = [];
  const outCols = columns.map(() => []);
  let gaps = 0;
  for (let i = 0; i < t.length; i++) {
    if (i > 0 && t[i] - t[i - 1] > limit) {
      outT.push(t[i - 1] + (history.step_s || 60));
      for (const col of outCols) col.push(null);
      gaps++;
    }
    outT.push(t[i]);
    columns.forEach((col, k) => outCols[k].push(col[i] ?? null));
  }
  return { data: [outT, ...outCols], gaps };
}

/** The caption under the chart: how many points, where they come from, and whether there are gaps. */
export function describeHistory(history, gaps) {
  if (!history.t.length) return "Collecting data…";
  const step = Math.round(history.step_s);
  const from =
    history.source === "store"
      ? "from the history database, kept across restarts"
      : "kept in memory since ecotrack started, lost when it stops";
  const gapText = gaps ? ` Gaps: nothing was recorded then (ecotrack was not running).` : "";
  return `${history.t.length} points, one per ${step} s (${from}).${gapText}`;
}

export class HistoryChart {
  constructor(root) {
    this.root = root;
    this.plot = null;
    this.points = 0;
    this.gaps = 0;
    new ResizeObserver(() => this.resize()).observe(root);
  }

  size() {
    const width = Math.max(200, Math.floor(this.root.clientWidth));
    return { width, height: width < 500 ? 200 : 260 };
  }

  resize() {
    if (this.plot) this.plot.setSize(this.size());
  }

  /** history: the body of GET /api/history. */
  update(history) {
    const { data, gaps } = withGaps(history);
    this.points = history.t.length;
    this.gaps = gaps;
    this.root.dataset.gaps = String(gaps);
    this.root.dataset.source = history.source;
    if (!this.plot) {
      const opts = {
        ...this.size(),
        cursor: { drag: { x: false, y: false } },
        legend: { live: true },
        scales: { x: { time: true } },
        axes: [
          { stroke: "currentColor", grid: { stroke: "rgba(128,128,128,0.2)" } },
          {
            stroke: "currentColor",
            grid: { stroke: "rgba(128,128,128,0.2)" },
            size: 56,
            values: (u, vals) => vals.map((v) => (Math.abs(v) >= 1000 ? `${+(v / 1000).toFixed(1)} kW` : `${v} W`)),
          },
        ],
        series: [
          {},
          ...SERIES.map((s) => ({
            label: s.label,
            stroke: s.stroke,
            fill: s.fill,
            dash: s.dash,
            width: 2,
            points: { show: false },
            spanGaps: false,
            value: (u, v) => fmtW(v),
          })),
        ],
      };
      this.plot = new uPlot(opts, data, this.root);
    } else {
      this.plot.setData(data);
    }
  }
}
