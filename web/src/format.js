// Number and time formatting shared by the views. Every function takes null/undefined and shows "–".

const DASH = "–";

/** Watts as "850 W" or "3.42 kW"; signed=true keeps a "+" on positive values. */
export function fmtW(w, signed = false) {
  if (w === null || w === undefined || !Number.isFinite(w)) return DASH;
  const sign = signed && w > 0 ? "+" : "";
  if (Math.abs(w) >= 1000) return `${sign}${(w / 1000).toFixed(2)} kW`;
  return `${sign}${Math.round(w)} W`;
}

/** Amps with up to one decimal. */
export function fmtA(a) {
  if (a === null || a === undefined || !Number.isFinite(a)) return DASH;
  return `${Number.isInteger(a) ? a : a.toFixed(1)} A`;
}

/** Energy in kWh from Wh. */
export function fmtKwh(wh) {
  if (wh === null || wh === undefined || !Number.isFinite(wh)) return DASH;
  return `${(wh / 1000).toFixed(2)} kWh`;
}

/** A 0..1 share as a percentage. */
export function fmtPct(share) {
  if (share === null || share === undefined || !Number.isFinite(share)) return DASH;
  return `${Math.round(share * 100)} %`;
}

/** Seconds as "4 s", "3 min", "2 h 5 min". */
export function fmtAge(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return DASH;
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** An ISO time as local "HH:MM". */
export function fmtClock(iso) {
  if (!iso) return DASH;
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** An ISO time as local "Mon 12 Aug, 14:05". */
export function fmtDateTime(iso) {
  if (!iso) return DASH;
  const d = new Date(iso);
  return d.toLocaleString([], { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}
