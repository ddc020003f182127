// Governance view: /v1/governance/proposals filtered by protocol and state (the API filters; the page only asks).
// Votes and quorum are token base units as exact decimal strings: shown grouped, never rounded through a float.
"use strict";

const PROPOSAL_STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"];
const governed = new Set();  // protocols the server governs, learnt from its answers (the filter's options)

const grouped = (digits) => (digits === null || digits === undefined ? "—" : BigInt(digits).toLocaleString("en-US"));

function fillSelect(select, values) {
  const chosen = select.value;
  const options = ["", ...values].map((value) => new Option(value || "any", value));
  select.replaceChildren(...options);
  select.value = values.includes(chosen) ? chosen : "";
}

function governanceQuery() {
  const query = new URLSearchParams();
  for (const name of ["protocol", "state"]) {
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
  if (el("gov-protocol").options.length !== governed.size + 1) fillSelect(el("gov-protocol"), [...governed].sort());
  el("gov-block").textContent = `read at block ${answer.block.number} of ${answer.block.chain}`;
  const rows = answer.proposals.map(proposalRow);
  el("proposals").querySelector("tbody").replaceChildren(...(rows.length ? rows : [emptyRow(8, "no proposal matches")]));
}

function proposalRow(p) {
  const tr = document.createElement("tr");
  Object.assign(tr.dataset, { id: p.id, protocol: p.protocol, state: p.state ?? "", flags: p.flags.join(" "),
    for: p.votes.for, against: p.votes.against, abstain: p.votes.abstain, quorum: p.quorum ?? "" });
  const title = cell(p.title);
  title.title = `#${p.id} by ${p.proposer}, created at block ${p.created_block}`;
  // A state the server could not derive is shown with its reason, never guessed.
  const state = document.createElement("td");
  state.append(p.state === null ? p.state_reason : badge(p.state, "state"));
  tr.append(cell(p.protocol), title, state,
    cell(grouped(p.votes.for), "num votes-for"), cell(grouped(p.votes.against), "num votes-against"),
    cell(grouped(p.votes.abstain), "num votes-abstain"),
    quorumCell(p.quorum),
    cell(p.eta === null ? "—" : new Date(p.eta * 1000).toISOString().replace(".000Z", "Z"), "eta"));
  tr.append(actionsCell(p.actions));
  return tr;
}

function quorumCell(quorum) {
  const td = cell(quorum === null ? "not read" : grouped(quorum), "num quorum");
  if (quorum === null) td.title = "the server could not read the quorum at this block (the Governor answers it only for a past snapshot)";
  return td;
}

function actionsCell(actions) {
  const td = document.createElement("td");
  const list = document.createElement("ul");
  list.className = "actions";
  list.append(...actions.map((a) => {
    const li = document.createElement("li");
    Object.assign(li.dataset, { flag: a.flag, target: a.target, function: a.function ?? "" });
    const args = a.arguments.map((arg) => `${arg.name || arg.type}=${typeof arg.value === "string" ? arg.value : JSON.stringify(arg.value)}`);
    const call = document.createElement("code");
    const name = a.function === null ? `unknown selector ${a.calldata.slice(0, 10)}` : a.function.split("(")[0];
    call.textContent = `${a.target_name ?? a.target}.${name}(${args.join(", ")})`;
    call.title = `${a.function ?? "not decoded"} on ${a.target}${a.value !== "0" ? ` with ${a.value} wei` : ""}: ${a.why}`;
    li.append(badge(a.flag, "flag"), " ", call);
    return li;
  }));
  td.append(list);
  return td;
}

window.addEventListener("DOMContentLoaded", () => {
  for (const id of ["gov-protocol", "gov-state"]) el(id).addEventListener("change", refresh);
});
