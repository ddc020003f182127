// Governance view: /v1/governance/proposals filtered by source, protocol and state (the API filters; the page only
// asks). On-chain proposals come from the Governors' events, with their decoded actions and flags (expandable);
// Snapshot's are off-chain votes, marked as such: choices and scores, no actions. Each source's status (ok, failed
// with why, or off) is shown above the table, so a missing Snapshot list is never mistaken for "no proposal".
// Votes and quorum are token base units as exact decimal strings: shown grouped, never rounded through a float.
"use strict";

// The Governor's eight states, then Snapshot's "Closed" (voting ended; not an outcome).
const PROPOSAL_STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed",
  "Closed"];
const SOURCE_LABELS = { chain: "on chain", snapshot: "Snapshot · off-chain" };
const PROPOSAL_COLUMNS = 10;
const governed = new Set();  // protocols the server governs, learnt from its answers (the filter's options)
const opened = new Set();  // proposals whose actions the reader opened: kept open across the poll's redraws

const grouped = (digits) => (digits === null || digits === undefined ? "—" : BigInt(digits).toLocaleString("en-US"));
const isoTime = (seconds) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");

function fillSelect(select, values) {
  const chosen = select.value;
  const options = ["", ...values].map((value) => new Option(value || "any", value));
  select.replaceChildren(...options);
  select.value = values.includes(chosen) ? chosen : "";
}

function governanceQuery() {
  const query = new URLSearchParams();
  for (const name of ["source", "protocol", "state"]) {
    const value = el(`gov-${name}`).value;
    if (value) query.set(name, value);
  }
  return query.toString();
}

async function renderGovernance() {
  if (!el("gov-state").options.length) fillSelect(el("gov-state"), PROPOSAL_STATES);
  const query = governanceQuery();
  const answer = await api(`/v1/governance/proposals?${query}`);
  if (query !== governanceQuery()) return;  // the filters changed meanwhile: the newer answer draws
  answer.concentration.forEach((c) => governed.add(c.protocol));
  answer.proposals.forEach((p) => governed.add(p.protocol));
  if (el("gov-protocol").options.length !== governed.size + 1) fillSelect(el("gov-protocol"), [...governed].sort());
  el("gov-block").textContent = `read at block ${answer.block.number} of ${answer.block.chain}`;
  el("gov-sources").replaceChildren(...answer.sources.map(sourceStatus));
  const rows = answer.proposals.map((p) => (p.source === "snapshot" ? snapshotRow(p) : chainRow(p)));
  el("proposals").querySelector("tbody").replaceChildren(...(rows.length ? rows : [emptyRow(PROPOSAL_COLUMNS, "no proposal matches")]));
}

// "snapshot: off — the Snapshot source is off: set DEFISCOPE_SNAPSHOT_ENABLED=1 …": what was asked and what came.
function sourceStatus(s) {
  const li = document.createElement("li");
  Object.assign(li.dataset, { source: s.source, status: s.status });
  const fetched = s.fetched_at === null ? "" : ` (fetched ${isoTime(s.fetched_at)})`;
  li.append(badge(SOURCE_LABELS[s.source] ?? s.source, "source"), " ", badge(s.status, "status"), ` ${s.detail}${fetched}`);
  return li;
}

// The cells every proposal has: protocol, source, title, state.
function proposalRow(p, tooltip) {
  const tr = document.createElement("tr");
  tr.className = `source-${p.source}`;
  Object.assign(tr.dataset, { id: p.id, protocol: p.protocol, source: p.source, state: p.state ?? "", flags: p.flags.join(" ") });
  const source = document.createElement("td");
  source.append(badge(SOURCE_LABELS[p.source] ?? p.source, "source"));
  const title = cell(p.title);
  title.title = tooltip;
  // A state the server could not derive is shown with its reason, never guessed.
  const state = document.createElement("td");
  state.append(p.state === null ? p.state_reason : badge(p.state, "state"));
  tr.append(cell(p.protocol), source, title, state);
  return tr;
}

function chainRow(p) {
  const tr = proposalRow(p, `#${p.id} by ${p.proposer}, created at block ${p.created_block}`);
  Object.assign(tr.dataset, { for: p.votes.for, against: p.votes.against ?? "", abstain: p.votes.abstain ?? "", quorum: p.quorum ?? "" });
  tr.append(cell(grouped(p.votes.for), "num votes-for"), cell(grouped(p.votes.against), "num votes-against"),
    cell(grouped(p.votes.abstain), "num votes-abstain"), quorumCell(p.quorum),
    cell(p.eta === null ? "—" : isoTime(p.eta), "eta"), actionsCell(p));
  return tr;
}

// An off-chain vote: its choices and scores span the three vote columns (a space names its own choices).
function snapshotRow(p) {
  const tr = proposalRow(p, `${p.space.id} · by ${p.proposer}, created ${isoTime(p.created_time)}`);
  tr.dataset.quorum = p.quorum ?? "";
  tr.dataset.space = p.space.id;
  const choices = cell(p.choices.map((c) => `${c.choice} ${c.score === null ? "—" : shortScore(c.score)}`).join(" · "), "vote-choices");
  choices.colSpan = 3;
  choices.title = `${p.voting_type ?? "voting type unknown"}; ${p.scores_final ? "final scores" : "scores not final"}`;
  const quorum = cell(p.quorum === null ? "none" : shortScore(p.quorum), "num quorum");
  quorum.title = p.quorum_reason;
  const actions = document.createElement("td");
  const note = document.createElement("small");
  note.className = "no-actions";
  note.textContent = "off-chain vote: no on-chain actions";
  note.title = p.actions_reason;
  actions.append(note);
  if (p.link) actions.append(" ", Object.assign(document.createElement("a"), { href: p.link, textContent: "on Snapshot", rel: "noreferrer" }));
  tr.append(choices, quorum, cell(`voting ends ${isoTime(p.vote_end_time)}`, "eta"), actions);
  return tr;
}

// Snapshot's scores are voting power as decimal strings (not base units): shown with two decimals at most.
const shortScore = (text) => Number(text).toLocaleString("en-US", { maximumFractionDigits: 2 });

function quorumCell(quorum) {
  const td = cell(quorum === null ? "not read" : grouped(quorum), "num quorum");
  if (quorum === null) td.title = "the server could not read the quorum at this block (the Governor answers it only for a past snapshot)";
  return td;
}

// The flags at a glance; the decoded calls, each with its flag and why, when the row is opened.
function actionsCell(p) {
  const td = document.createElement("td");
  const details = document.createElement("details");
  details.className = "actions";
  details.open = opened.has(p.id);
  details.addEventListener("toggle", () => (details.open ? opened.add(p.id) : opened.delete(p.id)));
  const summary = document.createElement("summary");
  summary.append(`${p.actions.length} action${p.actions.length === 1 ? "" : "s"} `, ...p.flags.map((f) => badge(f, "flag")));
  const list = document.createElement("ul");
  list.className = "actions";
  list.append(...p.actions.map(actionItem));
  details.append(summary, list);
  td.append(details);
  return td;
}

function actionItem(a) {
  const li = document.createElement("li");
  Object.assign(li.dataset, { flag: a.flag, target: a.target, function: a.function ?? "" });
  const args = a.arguments.map((arg) => `${arg.name || arg.type}=${typeof arg.value === "string" ? arg.value : JSON.stringify(arg.value)}`);
  const call = document.createElement("code");
  const name = a.function === null ? `unknown selector ${a.calldata.slice(0, 10)}` : a.function.split("(")[0];
  call.textContent = `${a.target_name ?? a.target}.${name}(${args.join(", ")})`;
  call.title = `${a.function ?? "not decoded"} on ${a.target}${a.value !== "0" ? ` with ${a.value} wei` : ""}`;
  const why = document.createElement("small");
  why.className = "why";
  why.textContent = a.why;
  li.append(badge(a.flag, "flag"), " ", call, " ", why);
  return li;
}

window.addEventListener("DOMContentLoaded", () => {
  for (const id of ["gov-source", "gov-protocol", "gov-state"]) el(id).addEventListener("change", refresh);
});
