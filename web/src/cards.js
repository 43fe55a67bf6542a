// One card per loadpoint: car state, power, current, session energy and solar share, the mode
// buttons, the maximum current, charge now and the session energy limit. Cards are built once per
// loadpoint id and then updated in place, so a control the user is touching is not replaced under
// their finger by the next live update.
import { fmtA, fmtAge, fmtClock, fmtKwh, fmtPct, fmtW } from "./format.js";
import { plainReason } from "./reasons.js";

const MODES = [
  ["off", "Off"],
  ["pv", "PV"],
  ["minpv", "Min+PV"],
  ["now", "Now"],
];
const PHASES = [
  ["auto", "Auto"],
  ["1", "1 phase"],
  ["3", "3 phases"],
];
const DURATIONS = [
  [3600, "1 h"],
  [7200, "2 h"],
  [14400, "4 h"],
  [0, "until stopped"],
];

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

/** The car's line and SoC bar: name, state of charge, its limit, range (hidden without a vehicle). */
function fillVehicle(c, v, names) {
  c.vehicle.hidden = !v && names.length === 0;
  c.vehicleSelect.hidden = names.length < 2 && !(v && v.chosen);
  const key = names.join("\u0000");
  if (key !== c.vehicleChoices) {
    c.vehicleChoices = key;
    c.vehicleSelect.replaceChildren(h("option", { value: "" }, "automatic"), ...names.map((n) => h("option", { value: n }, n)));
  }
  if (document.activeElement !== c.vehicleSelect) c.vehicleSelect.value = v && v.chosen ? v.name : "";
  if (!v) {
    c.vehicleText.textContent = "No car";
    c.socBar.style.width = "0%";
    return;
  }
  const parts = [v.name];
  parts.push(v.soc_pct === null ? "SoC unknown" : `${Math.round(v.soc_pct)} %`);
  if (v.charge_limit_pct !== null) parts.push(`limit ${Math.round(v.charge_limit_pct)} %`);
  if (v.range_km !== null) parts.push(`${Math.round(v.range_km)} km`);
  if (v.at_home === false) parts.push("away");
  c.vehicleText.textContent = parts.join(" · ");
  const soc = v.soc_pct === null ? 0 : Math.max(0, Math.min(100, v.soc_pct));
  c.socBar.style.width = `${soc}%`;
}

function carState(lp) {
  if (lp.status === "fault") return ["fault", "Fault"];
  if (!lp.charger_online) return ["offline", "Charger offline"];
  if (!lp.connected) return ["idle", "No car"];
  if (lp.charging) return ["charging", "Charging"];
  return ["waiting", "Connected, " + lp.status];
}

export class LoadpointCards {
  /** actions: {setMode(id, mode), setMax(id, amps), chargeNow(id, seconds), cancelChargeNow(id), setEnergyLimit(id, kwh),
   *  setPhases(id, "auto" | 1 | 3)} */
  constructor(root, actions) {
    this.root = root;
    this.actions = actions;
    this.cards = new Map();
  }

  update(state) {
    const seen = new Set();
    for (const lp of state.loadpoints) {
      seen.add(lp.id);
      if (!this.cards.has(lp.id)) this.cards.set(lp.id, this.build(lp));
      this.fill(this.cards.get(lp.id), lp, state);
    }
    for (const [id, card] of this.cards) {
      if (!seen.has(id)) {
        card.root.remove();
        this.cards.delete(id);
      }
    }
  }

  /** Show a loadpoint returned by a control call at once (before the next live update). */
  apply(lp, state) {
    const card = this.cards.get(lp.id);
    if (card) this.fill(card, lp, state);
  }

  build(lp) {
    const id = lp.id;
    const c = { id };
    c.title = h("h2", {}, lp.id);
    c.pill = h("span", { class: "pill", "data-testid": "lp-state" });
    c.power = h("div", { class: "big", "data-testid": "lp-power" }, "–");
    c.current = h("div", { class: "muted", "data-testid": "lp-current" });
    c.session = h("div", { "data-testid": "lp-session" });
    c.solarBar = h("div", { class: "bar-fill" });
    c.vehicleText = h("div", { class: "muted small", "data-testid": "lp-vehicle" });
    c.socBar = h("div", { class: "bar-fill soc", "data-testid": "lp-soc-bar" });
    c.vehicleSelect = h("select", { "aria-label": "Car on this loadpoint", "data-testid": "lp-vehicle-choice" });
    c.vehicleSelect.addEventListener("change", () => this.actions.setVehicle(id, c.vehicleSelect.value));
    c.vehicleChoices = "";
    c.vehicle = h(
      "div",
      { class: "vehicle", hidden: "" },
      h("div", { class: "row" }, c.vehicleText, c.vehicleSelect),
      h("div", { class: "bar", title: "The car's state of charge" }, c.socBar),
    );
    c.reason = h("p", { class: "reason", "data-testid": "lp-reason" });
    c.reasonRaw = h("code", { "data-testid": "lp-reason-raw" });
    c.reasonDetails = h(
      "details",
      { class: "muted small reason-details" },
      h("summary", {}, "Details"),
      h("span", {}, "The engine's reason: "),
      c.reasonRaw,
    );
    c.error = h("p", { class: "error small", "data-testid": "lp-error", hidden: "" });
    c.modeButtons = new Map();
    const modes = h("div", { class: "modes", role: "group", "aria-label": "Mode" });
    for (const [mode, label] of MODES) {
      const b = h(
        "button",
        { type: "button", class: "mode", "data-mode": mode, "aria-pressed": "false", onclick: () => this.actions.setMode(id, mode) },
        label,
      );
      c.modeButtons.set(mode, b);
      modes.append(b);
    }
    // 1p/3p: only for a loadpoint whose charger can switch (phases_choice is null otherwise)
    c.phaseButtons = new Map();
    c.phases = h("div", { class: "modes phases", role: "group", "aria-label": "Phases", "data-testid": "lp-phases", hidden: "" });
    for (const [choice, label] of PHASES) {
      const b = h(
        "button",
        {
          type: "button",
          class: "mode",
          "data-phases": choice,
          "aria-pressed": "false",
          onclick: () => this.actions.setPhases(id, choice === "auto" ? "auto" : Number(choice)),
        },
        label,
      );
      c.phaseButtons.set(choice, b);
      c.phases.append(b);
    }
    c.maxInput = h("input", { type: "range", step: "1", "aria-label": "Maximum current", "data-testid": "lp-max" });
    c.maxLabel = h("output", { "data-testid": "lp-max-label" });
    c.maxInput.addEventListener("input", () => (c.maxLabel.textContent = fmtA(Number(c.maxInput.value))));
    c.maxInput.addEventListener("change", () => this.actions.setMax(id, Number(c.maxInput.value)));
    c.maxInput.addEventListener("pointerdown", () => (c.editing = true));
    c.maxInput.addEventListener("pointerup", () => (c.editing = false));
    c.duration = h("select", { "aria-label": "Charge now for" });
    for (const [s, label] of DURATIONS) c.duration.append(h("option", { value: String(s) }, label));
    c.chargeNow = h("button", { type: "button", class: "primary", "data-testid": "lp-charge-now" }, "Charge now");
    c.chargeNow.addEventListener("click", () => {
      if (c.chargeNowActive) this.actions.cancelChargeNow(id);
      else this.actions.chargeNow(id, Number(c.duration.value));
    });
    c.chargeNowInfo = h("span", { class: "muted small", "data-testid": "lp-charge-now-info" });
    c.limitInput = h("input", {
      type: "number",
      min: "0",
      max: "200",
      step: "1",
      inputmode: "decimal",
      placeholder: "no limit",
      "aria-label": "Stop after kWh",
      "data-testid": "lp-energy-limit",
    });
    c.limitInput.addEventListener("change", () => {
      const v = c.limitInput.value.trim();
      this.actions.setEnergyLimit(id, v === "" || Number(v) === 0 ? null : Number(v));
    });
    c.root = h(
      "section",
      { class: "card loadpoint", "data-testid": `lp-${id}`, "data-loadpoint": id },
      h("header", { class: "card-head" }, c.title, c.pill),
      h("div", { class: "figures" }, h("div", {}, c.power, c.current), c.session),
      h("div", { class: "bar", title: "Solar share of this session" }, c.solarBar),
      c.vehicle,
      c.reason,
      c.reasonDetails,
      c.error,
      modes,
      c.phases,
      h("div", { class: "row" }, h("label", { class: "grow" }, "Max current ", c.maxLabel, c.maxInput)),
      h("div", { class: "row" }, c.chargeNow, c.duration, c.chargeNowInfo),
      h("div", { class: "row" }, h("label", {}, "Stop after ", c.limitInput, " kWh")),
    );
    this.root.append(c.root);
    return c;
  }

  fill(c, lp, state) {
    const [cls, text] = carState(lp);
    c.root.classList.toggle("offline", !lp.charger_online);
    c.pill.className = `pill pill-${cls}`;
    c.pill.textContent = text;
    c.power.textContent = fmtW(lp.power_w);
    const offered = lp.offered_a ?? lp.sent_a;
    const switching = lp.phase_switching && lp.phase_switching !== "steady" ? " (switching)" : "";
    c.current.textContent = `${fmtA(lp.actual_a)} of ${fmtA(offered)} offered · ${lp.phases} phase${lp.phases > 1 ? "s" : ""}${switching}`;
    c.phases.hidden = lp.phases_choice == null;
    for (const [choice, b] of c.phaseButtons) b.setAttribute("aria-pressed", String(choice === lp.phases_choice));
    const s = lp.session;
    c.session.textContent = s ? `Session ${fmtKwh(s.energy_wh)}, ${fmtPct(s.solar_share)} solar` : "No session";
    c.solarBar.style.width = `${s && s.solar_share !== null ? Math.round(s.solar_share * 100) : 0}%`;
    fillVehicle(c, lp.vehicle, state?.vehicles || []);
    const why = plainReason(lp);
    c.reason.textContent = why.text;
    c.reasonRaw.textContent = why.raw;
    c.reasonDetails.title = why.raw;
    const err = lp.charger_error || (!lp.charger_online ? "The charger does not answer; it is held at its safe current." : "");
    c.error.hidden = !err;
    c.error.textContent = err ? `Charger: ${err}` : "";
    for (const [mode, b] of c.modeButtons) {
      b.setAttribute("aria-pressed", String(mode === lp.user_mode));
      b.classList.toggle("forced", mode === lp.mode && lp.mode !== lp.user_mode);
    }
    c.root.dataset.mode = lp.user_mode;
    c.maxInput.min = String(lp.limit_min_a);
    c.maxInput.max = String(lp.limit_max_a);
    if (!c.editing && document.activeElement !== c.maxInput) {
      c.maxInput.value = String(lp.max_a);
      c.maxLabel.textContent = fmtA(lp.max_a);
    }
    c.chargeNowActive = lp.charge_now !== null;
    c.chargeNow.textContent = c.chargeNowActive ? "Stop charge now" : "Charge now";
    c.duration.hidden = c.chargeNowActive;
    c.chargeNowInfo.textContent = c.chargeNowActive
      ? `at ${lp.charge_now.amps ? fmtA(lp.charge_now.amps) : "full power"}${lp.charge_now.until ? " until " + fmtClock(lp.charge_now.until) : ""}`
      : "";
    if (document.activeElement !== c.limitInput) {
      c.limitInput.value = lp.energy_limit_wh ? String(+(lp.energy_limit_wh / 1000).toFixed(1)) : "";
    }
    const charger = (state?.chargers || []).find((ch) => ch.id === lp.charger);
    c.title.title = charger ? `charger ${charger.id}, last report ${fmtAge(charger.last_report_age_s)} ago` : "";
  }
}
