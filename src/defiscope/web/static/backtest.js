// The backtest card of the alerts view: GET /v1/alerts/rules/{id}/backtest over a block range, its alerts in a table.
// The blocks are sent as typed; the API checks them and names the field at fault, shown next to it.
"use strict";

const BACKTEST_SPAN = 100;  // blocks offered by default: the last hundred the server indexed for the rule's chain
const backtestRules = new Map();  // rule id -> rule, the key's rules as last listed

function listBacktestRules(rules) {
  const select = el("backtest-rule");
  const chosen = select.value;
  backtestRules.clear();
  rules.forEach((rule) => backtestRules.set(rule.id, rule));
  select.replaceChildren(...rules.map((rule) => new Option(`${rule.id} (${rule.kind})`, rule.id)));
  if (backtestRules.has(chosen)) select.value = chosen;
}

// The rule's row asked for a backtest: choose it and offer the last blocks indexed on its chain.
async function chooseBacktest(rule) {
  const form = el("backtest-form");
  clearErrors(form);
  el("backtest-rule").value = rule.id;
  form.scrollIntoView({ block: "nearest" });
  try {
    const chain = (await fetchHealth()).chains.find((c) => c.chain_id === rule.chain_id);
    if (chain?.last_block === null || chain?.last_block === undefined) return;  // nothing indexed: nothing to offer
    el("backtest-to").value = String(chain.last_block);
    el("backtest-from").value = String(Math.max(0, chain.last_block - BACKTEST_SPAN + 1));
  } catch (error) {
    el("backtest-summary").textContent = `no block range offered: ${error.message}`;
  }
}

function clearBacktest() {
  el("backtest").querySelector("tbody").replaceChildren();
  el("backtest-summary").textContent = "";
  clearErrors(el("backtest-form"));
}

async function runBacktest(event) {
  event.preventDefault();
  const form = el("backtest-form");
  clearErrors(form);
  const id = el("backtest-rule").value;
  const query = new URLSearchParams({ from_block: el("backtest-from").value.trim(), to_block: el("backtest-to").value.trim() });
  el("backtest-summary").textContent = "running…";
  try {
    const answer = await keyed(`/v1/alerts/rules/${encodeURIComponent(id)}/backtest?${query}`);
    const rows = answer.alerts.map(backtestRow);
    el("backtest").querySelector("tbody").replaceChildren(...(rows.length ? rows : [emptyRow(7, "the rule would not have fired")]));
    const fired = answer.alerts.filter((a) => a.type === "alert.firing").length;
    el("backtest-summary").textContent = `rule ${answer.rule_id}, blocks ${answer.from_block} to ${answer.to_block}: fired ${fired} time${fired === 1 ? "" : "s"}`;
    Object.assign(el("backtest").dataset, { rule: answer.rule_id, from: String(answer.from_block), to: String(answer.to_block) });
  } catch (error) {
    el("backtest-summary").textContent = "";
    showFieldError(form, error.field ?? "rule", error.message);
  }
}

function backtestRow(body) {
  const alert = body.data;
  const state = body.type.replace(/^alert\./, "");
  const tr = document.createElement("tr");
  Object.assign(tr.dataset, { alertId: alert.alert_id, state, block: String(alert.block.number), value: alert.value ?? "" });
  const block = cell(String(alert.block.number), "num");
  block.title = alert.block.hash;
  const value = cell(shortDecimal(alert.value), "num value");
  value.title = alert.value ?? "no value";
  tr.append(stateCell(state), cell(alert.alert_id, "addr"), block, cell(new Date(body.timestamp * 1000).toISOString().replace(".000Z", "Z")),
    value, cell(shortDecimal(alert.previous), "num"), cell(shortDecimal(alert.threshold), "num"));
  return tr;
}

window.addEventListener("DOMContentLoaded", () => el("backtest-form").addEventListener("submit", runBacktest));
