// The engine's reason for a loadpoint's current, in plain words. The engine's own text (kept as is in
// the API, where scripts and logs use it) is precise but written for people who know the control law
// ("pv: 1157 W < 1380 W; holding 6 A (17/30 Wh, 184/600 s)"); the card shows the sentence from here and
// the raw text under "details". Unknown reasons are shown raw: a new engine message is never hidden.
import { fmtW } from "./format.js";

const num = (s) => Number(s);
const kw = (w) => fmtW(num(w));

/** [pattern, (match) => plain sentence], tried in order against the raw reason. */
const RULES = [
  [/^mode off$/, () => "Switched off (mode Off)."],
  [/^no recent status from the charger$/, () => "The charger does not answer; it is held at its safe current."],
  [/^no car connected$/, () => "No car plugged in."],
  [/^no decision yet$/, () => "Starting up…"],
  [/^charge now at (\S+) A$/, (m) => `Charging at full power (${m[1]} A).`],
  [/^(.*): holding minimum (\S+) A$/, (m) => `No fresh meter data (${m[1]}): holding the minimum ${m[2]} A to be safe.`],
  [/^(.*): solar charging stopped$/, (m) => `No fresh meter data (${m[1]}): solar charging is paused until it is back.`],
  [/^min\+pv: (-?\d+) W available -> (\S+) A$/, (m) => `Charging at ${m[2]} A: the minimum, plus the sun's ${kw(m[1])} spare.`],
  [/^pv: (-?\d+) W surplus -> (\S+) A$/, (m) => `Charging from the sun at ${m[2]} A (${kw(m[1])} spare).`],
  [
    /^pv: (-?\d+) W < (\d+) W; holding (\S+) A/,
    (m) => `Clouds: ${kw(m[1])} spare, the minimum needs ${kw(m[2])}. Holding ${m[3]} A a little longer before pausing.`,
  ],
  [/^pv: stopped, grid energy/, () => "Paused: it took too much from the grid while the sun was short."],
  [/^pv: stopped, deficit for/, () => "Paused: not enough sun for a while."],
  [/^pv: waiting for surplus \((-?\d+) of (\d+) W\)$/, (m) => `Waiting for more sun: ${kw(m[1])} spare, needs ${kw(m[2])}.`],
  [
    /^pv: surplus (-?\d+) W for (\d+)\/(\S+) s$/,
    (m) => `Enough sun (${kw(m[1])} spare): starting in ${Math.max(0, Math.round(num(m[3]) - num(m[2])))} s if it lasts.`,
  ],
  [
    /^switching (\d) -> (\d) phase\(s\): waiting for the charger to confirm (.*)$/,
    (m) => `Switching from ${m[1]} to ${m[2]} phase${m[2] === "1" ? "" : "s"}: paused until the charger confirms ${m[3]}.`,
  ],
  [/^limits allow (\S+) A, below the minimum (\S+) A$/, (m) => `The circuit limits leave only ${m[1]} A, less than the minimum of ${m[2]} A.`],
  [/^cut to (\S+) A by charger\/circuit\/wiring limits \(wanted (\S+) A\)$/, (m) => `Limited to ${m[1]} A by the charger, a circuit or the wiring (would take ${m[2]} A).`],
];

/** What a rule label means (the part in brackets after the reason). */
function ruleText(rule) {
  if (!rule || rule === "manual") return "";
  if (rule === "charge-now") return " (Charge now is on.)";
  if (rule === "energy-limit") return " (The session reached its energy limit.)";
  if (rule.startsWith("schedule")) return ` (Schedule ${rule.slice(rule.indexOf(":") + 1)} is in force.)`;
  if (rule.startsWith("plan")) return ` (Plan ${rule.slice(rule.indexOf(":") + 1)} is in force.)`;
  return ` (Rule ${rule} is in force.)`;
}

/** {text, raw}: the plain sentence for a loadpoint of GET /api/state, and the engine's raw reason. */
export function plainReason(lp) {
  const raw = `${lp.reason || ""}${lp.active_rule && lp.active_rule !== "manual" ? ` [${lp.active_rule}]` : ""}`;
  const reason = (lp.reason || "").trim();
  for (const [pattern, say] of RULES) {
    const m = pattern.exec(reason);
    if (m) return { text: say(m) + ruleText(lp.active_rule), raw };
  }
  return { text: raw, raw };
}
