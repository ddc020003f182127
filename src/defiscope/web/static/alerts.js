// Alerts view: the live stream of the key's alerts and the key's rules (the form that adds or edits one: ruleform.js;
// the backtest of one: backtest.js).
//
// Why fetch() and not EventSource: EventSource cannot send headers, so the API key would have to ride in the URL,
// where server logs, proxies and the browser history keep it. fetch() sends X-API-Key and Last-Event-ID itself and
// reads the Server-Sent Events body as a stream; when the stream breaks it reconnects with exponential backoff
// and jitter, resuming after the last event id it showed, and drops any event id it has already shown.
// The key lives in sessionStorage: this tab only, gone when it closes, never in a URL.
"use strict";

const KEY_ITEM = "defiscope.apiKey";
const LAST_ID_ITEM = "defiscope.alerts.lastEventId";
const BACKOFF_MS = { first: 1000, max: 30000 };
const LIVE_ROWS = 200;
// The server sends a ping comment every 15 s: this long without a byte means a dead connection (a half-open TCP
// connection never errors by itself).
const SILENT_MS = 45000;
const SILENT = new Error("no byte from the server for 45 s");

// lastId: the newest event shown. The stream's ids only grow, so an id at or below it is a replay.
const live = { key: sessionStorage.getItem(KEY_ITEM), lastId: Number(sessionStorage.getItem(LAST_ID_ITEM) || 0),
  controller: null, attempt: 0, timer: null };
const chainNames = new Map();  // chain id -> name, from /v1/chains

class Refused extends Error {
  constructor(status, error) {
    super(error?.problem ?? `HTTP ${status}`);
    this.status = status;
    this.field = error?.field ?? null;
  }
}

// A request with the key; an answer outside 2xx throws `Refused` carrying the API's field and problem.
async function keyed(path, options = {}) {
  const headers = { Accept: "application/json", "X-API-Key": live.key, ...options.headers };
  const response = await fetch(path, { ...options, headers, cache: "no-store" });
  if (!response.ok) throw new Refused(response.status, (await response.json().catch(() => null))?.error);
  return response.status === 204 ? null : response.json();
}

// ---- the stream ------------------------------------------------------------------------------------------------

function streamState(state, text) {
  el("stream-state").dataset.state = state;
  el("stream-state").textContent = text;
}

function connect() {
  clearTimeout(live.timer);
  live.controller?.abort();
  if (!live.key) { streamState("off", "enter an API key to follow its alerts"); return; }
  const controller = new AbortController();
  live.controller = controller;
  follow(controller).catch((error) => {
    if (controller.signal.aborted && controller.signal.reason !== SILENT) return;  // on purpose: new key, offline
    if (error instanceof Refused && error.status !== 429 && error.status < 500) {
      streamState("refused", `stream refused: ${error.message}`);  // retrying a bad key cannot help
      showFieldError(keyForm(), error.field ?? "X-API-Key", error.message);
      return;
    }
    reconnectLater(error.message);
  });
}

async function follow(controller) {
  streamState("connecting", "connecting…");
  const headers = { "X-API-Key": live.key, Accept: "text/event-stream" };
  if (live.lastId) headers["Last-Event-ID"] = String(live.lastId);
  const response = await fetch("/v1/alerts/stream", { headers, signal: controller.signal, cache: "no-store" });
  if (!response.ok) throw new Refused(response.status, (await response.json().catch(() => null))?.error);
  live.attempt = 0;
  streamState("open", live.lastId ? `live (resumed after event ${live.lastId})` : "live");
  let watchdog = null;
  const heard = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => controller.abort(SILENT), SILENT_MS);
  };
  heard();
  try {
    await readEvents(response.body, showAlert, heard);
  } finally {
    clearTimeout(watchdog);
  }
  throw new Error("the server ended the stream");
}

// The browser knows the network is gone before the connection does: stop, and resume as soon as it is back.
function offline() {
  if (!live.key) return;
  clearTimeout(live.timer);
  live.controller?.abort();
  streamState("offline", "offline: the stream resumes when the network is back");
}

function online() {
  if (!live.key) return;
  live.attempt = 0;
  connect();
}

function reconnectLater(why) {
  const ceiling = Math.min(BACKOFF_MS.max, BACKOFF_MS.first * 2 ** live.attempt);
  const delay = Math.round(ceiling / 2 + Math.random() * ceiling / 2);  // jitter: clients do not return in step
  live.attempt += 1;
  streamState("reconnecting", `${why}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
  live.timer = setTimeout(connect, delay);
}

// Server-Sent Events framing: `field: value` lines, an empty line ends an event, `:` lines are comments (pings).
// Lines are cut at "\n" only once the "\n" has arrived, so a "\r\n" split across two chunks is one line end.
async function readEvents(body, onEvent, onBytes) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    onBytes();
    buffer += value;
    const end = buffer.lastIndexOf("\n");
    if (end < 0) continue;
    const lines = buffer.slice(0, end).split("\n");
    buffer = buffer.slice(end + 1);
    for (const raw of lines) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line === "") {
        if (event.data.length) onEvent(event);
        event = { data: [] };
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const name = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (name === "data") event.data.push(text);
        else if (name === "id" || name === "event") event[name] = text;
      }
    }
  }
}

// Exact decimal strings, shortened for the table (the row's data attributes and the cell's title keep them whole).
const shortDecimal = (text) => {
  if (text === null || text === undefined) return "—";
  const value = Number(text);
  return Number.isFinite(value) ? value.toLocaleString("en-US", { maximumSignificantDigits: 8 }) : text;
};

function showAlert(event) {
  const id = Number(event.id);
  if (!id || id <= live.lastId) return;  // shown already: a replay after a reconnect
  live.lastId = id;
  sessionStorage.setItem(LAST_ID_ITEM, String(live.lastId));
  const body = JSON.parse(event.data.join("\n"));
  const alert = body.data;
  const state = body.type.replace(/^alert\./, "");
  const tr = document.createElement("tr");
  Object.assign(tr.dataset, { eventId: String(id), alertId: alert.alert_id, ruleId: alert.rule_id, state,
    block: String(alert.block.number), value: alert.value ?? "", threshold: alert.threshold ?? "" });
  const block = cell(String(alert.block.number), "num");
  block.title = alert.block.hash;
  const value = cell(shortDecimal(alert.value), "num value");
  value.title = alert.value ?? "no value";
  tr.append(cell(new Date(body.timestamp * 1000).toLocaleTimeString()), stateCell(state), cell(alert.rule_id, "addr"),
    cell(alert.kind), cell(chainNames.get(alert.chain_id) ?? String(alert.chain_id)), block, value,
    cell(shortDecimal(alert.previous), "num"), cell(shortDecimal(alert.threshold), "num"));
  const rows = el("live-alerts").querySelector("tbody");
  rows.querySelector("tr.empty")?.remove();
  // A resolution or retraction closes the alert: its firing row stays, dimmed, so the history reads top down.
  if (state !== "firing") rows.querySelectorAll(`tr[data-alert-id="${CSS.escape(alert.alert_id)}"]`).forEach((r) => r.classList.add("closed"));
  rows.prepend(tr);
  while (rows.rows.length > LIVE_ROWS) rows.deleteRow(-1);
}

function stateCell(state) {
  const td = document.createElement("td");
  td.append(badge(state, "alert"));
  return td;
}

// ---- the key ---------------------------------------------------------------------------------------------------

const keyForm = () => el("key-form");

function useKey(key) {
  if (key !== live.key) {  // another key sees other alerts: start its stream from now, with an empty panel
    live.lastId = 0;
    sessionStorage.removeItem(LAST_ID_ITEM);
    el("live-alerts").querySelector("tbody").replaceChildren(emptyRow(9, "no alert since the stream opened"));
    clearBacktest();
  }
  live.key = key;
  if (editing.id) stopEditing();  // the rule belongs to the previous key
  if (key) sessionStorage.setItem(KEY_ITEM, key); else sessionStorage.removeItem(KEY_ITEM);
  startKey();
}

function startKey() {
  el("key-state").textContent = live.key ? `using key …${live.key.slice(-4)}` : "no key";
  el("alerts-keyed").hidden = !live.key;
  connect();
  if (live.key) loadRules();
}

// ---- rules -----------------------------------------------------------------------------------------------------

async function loadRules() {
  el("rules-error").textContent = "";
  try {
    const { items } = await keyed("/v1/alerts/rules");
    el("rules").querySelector("tbody").replaceChildren(...(items.length ? items.map(ruleRow) : [emptyRow(8, "no rule yet")]));
    listBacktestRules(items);
  } catch (error) {
    showFieldError(keyForm(), error.field ?? "X-API-Key", error.message);
  }
}

function ruleRow(rule) {
  const tr = document.createElement("tr");
  tr.dataset.ruleId = rule.id;
  const params = Object.entries(rule.params).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : v}`).join(" ");
  const edit = actionButton("Edit", "edit", () => editRule(rule.id).catch((error) => { el("rules-error").textContent = error.message; }));
  const backtest = actionButton("Backtest", "backtest", () => chooseBacktest(rule));
  const remove = actionButton("Delete", "delete", () => deleteRule(rule.id, remove));
  const actions = document.createElement("td");
  actions.className = "rule-actions";
  actions.append(edit, backtest, remove);
  tr.append(cell(rule.id, "addr"), cell(rule.kind), cell(chainNames.get(rule.chain_id) ?? String(rule.chain_id)),
    cell(params, "params"), cell(String(rule.confirmations)), cell(String(rule.cooldown_blocks)),
    cell(rule.channels.map((c) => `${c.type}: ${c.target}`).join(", ") || "stream only"), actions);
  return tr;
}

function actionButton(text, className, onClick) {
  const made = Object.assign(document.createElement("button"), { type: "button", className, textContent: text });
  made.addEventListener("click", onClick);
  return made;
}

async function deleteRule(id, button) {
  button.disabled = true;
  if (editing.id === id) stopEditing();
  try {
    await keyed(`/v1/alerts/rules/${encodeURIComponent(id)}`, { method: "DELETE" });
  } catch (error) {
    el("rules-error").textContent = error.message;
  }
  await loadRules();
}

// ---- the view --------------------------------------------------------------------------------------------------

async function renderAlerts() {
  await ruleKindsReady();
}

window.addEventListener("DOMContentLoaded", () => {
  keyForm().addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(keyForm());
    useKey(el("api-key").value.trim() || null);
    el("api-key").value = "";
  });
  el("forget-key").addEventListener("click", () => useKey(null));
  window.addEventListener("offline", offline);
  window.addEventListener("online", online);
  api("/v1/chains").then((chains) => chains.forEach((c) => chainNames.set(c.chain_id, c.name))).catch(() => {});
  startKey();  // a key kept by this tab resumes after the last event it showed
});
