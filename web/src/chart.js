// The 24-hour chart (PV, house, car, grid) with uPlot, fed from GET /api/history.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { fmtW } from "./format.js";

const SERIES = [
  { key: "pv_w", label: "PV", stroke: "#f59f00", fill: "rgba(245,159,0,0.15)" },
  { key: "house_w", label: "House", stroke: "#1c7ed6" },
  { key: "car_w", label: "Car", stroke: "#2f9e44", fill: "rgba(47,158,68,0.12)" },
  { key: "grid_w", label: "Grid", stroke: "#868e96", dash: [4, 3] },
];

export class HistoryChart {
  constructor(root) {
    this.root = root;
    this.plot = null;
    this.points = 0;
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
    const data = [history.t, ...SERIES.map((s) => history[s.key])];
    this.points = history.t.length;
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
