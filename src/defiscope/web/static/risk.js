// Risk panel on each protocol page, one section per chain the protocol is on (docs/risk.md):
//   /v1/risk/{slug}          the stored profile: composite, formula version, block, pillars, admin chains, facts
//   /v1/risk/{slug}/score    the same score as the rules saw it: each pillar's rule, the overrides applied, the
//                            admin links in full (a Safe's signers, why an admin is unknown, own or dependency)
//   /v1/risk/{slug}/history  the change log: block, input, rule, before -> after
// A chain where the protocol was not scored yet shows the API's 404 message, not an error. A pillar without a score
// shows its reason, never a 0 bar. The profile is asked each poll; score and history only when the profile moved.
// A nominee not yet accepted (`pending_owner`) is drawn dashed under the admin it would succeed, and holders granted
// with parameters (`conditional`) are marked; both are also said in words under the graph, for screen readers.
"use strict";

const RISK_CHANGES = 50;
const SVG_NS = "http://www.w3.org/2000/svg";
const NODE = { width: 170, gap: 34, rowGap: 14, chars: 24, line: 14, lines: 3 };  // a node is 8 + 14 per line high
const ADMIN_TYPES = ["eoa", "multisig", "timelock", "governor", "contract", "unknown"];
const riskDrawn = new Map();  // `${slug}@${chain}` -> {profile text, section}: redrawn only when the profile moved

const riskEl = (tag, cls, text) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
};
const shortAddress = (a) => (a ? `${a.slice(0, 6)}…${a.slice(-4)}` : "—");
const link = (href, text) => Object.assign(document.createElement("a"), { href, textContent: text, rel: "noreferrer", target: "_blank" });
const dollars = (n) => (n === null || n === undefined ? null : `$${Number(n).toLocaleString("en-US")}`);

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "delay unknown";
  const units = [[86400, "d"], [3600, "h"], [60, "min"]];
  for (const [size, unit] of units) if (seconds >= size && seconds % size === 0) return `delay ${seconds / size} ${unit}`;
  return `delay ${seconds} s`;
}

async function renderRisk(slug) {
  const chains = Object.keys((await api(`/v1/protocols/${encodeURIComponent(slug)}`)).by_chain);
  const sections = await Promise.all(chains.map((chain) => riskSection(slug, chain)));
  if (location.hash.match(/^#\/protocol\/([\w.-]+)/)?.[1] !== slug) return;  // the reader moved on meanwhile
  const body = el("risk-body");
  if (sections.some((s, i) => body.children[i] !== s) || body.children.length !== sections.length) body.replaceChildren(...sections);
}

async function riskSection(slug, chain) {
  const key = `${slug}@${chain}`;
  const path = `/v1/risk/${encodeURIComponent(slug)}`;
  const query = `chain=${encodeURIComponent(chain)}`;
  const profile = await api(`${path}?${query}`, [404]);
  const text = JSON.stringify(profile);
  if (riskDrawn.get(key)?.text === text) return riskDrawn.get(key).section;
  let section;
  if (profile.error) {
    section = notScored(chain, profile.error.problem);
  } else {
    const [score, history] = await Promise.all([
      api(`${path}/score?${query}`, [404]), api(`${path}/history?${query}&limit=${RISK_CHANGES}`),
    ]);
    section = scoredSection(chain, profile, score.error ? null : score, history.changes);
  }
  riskDrawn.set(key, { text, section });
  return section;
}

function notScored(chain, problem) {
  const section = riskEl("div", "risk-chain risk-unscored");
  section.dataset.chain = chain;
  section.append(riskEl("h3", "", chain), riskEl("p", "risk-not-scored", `Not scored yet: ${problem}`));
  return section;
}

function scoredSection(chain, profile, score, changes) {
  const section = riskEl("div", "risk-chain");
  Object.assign(section.dataset, { chain, block: profile.block, formula: profile.formula_version });
  section.append(riskEl("h3", "", chain), compositeHeader(profile, score), pillarTable(profile.pillars, score),
    riskEl("h4", "", "Admin chains"), adminGraphs(profile.control, score),
    riskEl("h4", "", "Found at run time"), discoveredList(profile.discovered), riskEl("h4", "", "Facts"), factsList(profile.facts),
    riskEl("h4", "", "Change log"), changeTable(changes));
  return section;
}

function compositeHeader(profile, score) {
  const head = riskEl("div", "risk-head");
  const composite = riskEl("p", "big risk-composite", profile.composite === null ? "not scored" : `${profile.composite} / 100`);
  composite.dataset.composite = profile.composite ?? "";
  const meta = riskEl("p", "sub risk-meta", `formula ${profile.formula_version} · scored at block ${profile.block}`);
  if (score) meta.append(" · ", riskEl("code", "risk-rule", score.composite_rule));
  head.append(composite, meta);
  if (profile.composite === null) head.append(riskEl("p", "sub", "no pillar could be scored: see each pillar's reason"));
  for (const o of score?.overrides ?? []) {
    const binding = profile.composite === o.cap;
    const note = riskEl("p", `risk-override${binding ? " binding" : ""}`);
    Object.assign(note.dataset, { rule: o.rule, cap: o.cap });
    note.append(riskEl("strong", "", `${binding ? "Capped" : "Cap"} at ${o.cap}`), " by ", riskEl("code", "", o.rule), `: ${o.why}`);
    head.append(note);
  }
  return head;
}

function pillarTable(pillars, score) {
  const rules = new Map((score?.pillars ?? []).map((p) => [p.name, p.rule]));
  const table = riskEl("table", "risk-pillars");
  const head = riskEl("thead");
  const row = riskEl("tr");
  for (const [name, cls] of [["Pillar"], ["Score", "bar-col"], ["", "num"], ["Weight", "num"], ["Rule"], ["Evidence"]]) row.append(riskEl("th", cls, name));
  head.append(row);
  const body = riskEl("tbody");
  body.append(...pillars.map((p) => {
    const tr = riskEl("tr");
    Object.assign(tr.dataset, { pillar: p.name, score: p.score ?? "", weight: p.weight });
    const bar = riskEl("td", "bar-col");
    if (p.score === null) {
      bar.append(riskEl("span", "risk-unscored-pillar", "not scored"));  // its reason is the evidence: no 0 bar
    } else {
      const track = riskEl("div", "risk-bar");
      const fill = riskEl("div", `risk-fill ${p.score < 34 ? "low" : p.score < 67 ? "mid" : "high"}`);
      fill.style.width = `${p.score}%`;
      track.append(fill);
      bar.append(track);
    }
    tr.append(riskEl("td", "", p.name), bar, riskEl("td", "num risk-score", p.score === null ? "—" : String(p.score)),
      riskEl("td", "num", `${p.weight}%`), riskEl("td", "risk-rule", rules.get(p.name) ?? ""), riskEl("td", "risk-evidence", p.evidence));
    return tr;
  }));
  table.append(head, body);
  return table;
}

// One small graph per controlled contract: contract -> admin -> ... -> the chain's end, left to right.
function adminGraphs(control, score) {
  const full = new Map((score?.control ?? []).map((c) => [c.address, c]));
  const list = riskEl("div", "risk-graphs");
  list.append(...control.map((c) => {
    const detail = full.get(c.address);
    const item = riskEl("div", `risk-contract${detail?.dependency ? " dependency" : ""}`);
    Object.assign(item.dataset, { address: c.address, proxy: c.proxy });
    const caption = riskEl("p", "sub");
    caption.append(riskEl("strong", "", c.contract), ` ${c.address} · proxy ${c.proxy}`);
    if (c.implementation) caption.append(" · implementation ", riskEl("span", "addr risk-impl", c.implementation));
    if (detail?.pattern && c.proxy === "none" && detail.pattern !== "none") caption.append(` · pattern ${detail.pattern}`);
    if (detail?.dependency) caption.append(" ", badge("dependency", "risk"));
    if (c.discovered) caption.append(...groupCaption(c.discovered, item));
    item.append(caption, adminSvg(c, detail), controlNotes(c));
    return item;
  }));
  if (!control.length) list.append(riskEl("p", "sub", "no contract read for this protocol"));
  return list;
}

// Contracts found at run time share one graph per control: how many of their kind, and whether they are the odd ones.
function groupCaption(found, item) {
  Object.assign(item.dataset, { kind: found.kind, count: found.count, exception: found.exception });
  const shared = ` · ${found.count} of ${found.of ?? "?"} ${found.kind} (${found.rule}) share this control`;
  return found.exception ? [shared, " ", badge("exception", "risk")] : [shared];
}

// The kinds found at run time that are not drawn above, each with its rule and why (immutable pools, not listed).
function discoveredList(kinds) {
  const list = riskEl("ul", "risk-discovered");
  for (const kind of kinds ?? []) {
    if (kind.rule === "dependency") continue;
    const li = riskEl("li");
    Object.assign(li.dataset, { kind: kind.kind, rule: kind.rule });
    li.append(badge(kind.rule, "risk"), ` ${kind.kind}: ${kind.count ?? "not listed"} · ${kind.why}`);
    list.append(li);
  }
  return list;
}

// Row 0: the contract, then its admin chain in force, left to right. Row 1: each nominee not yet accepted, under the
// admin it would succeed (the contract's first admin, or the owner of the link that names it), on a dashed edge.
function adminSvg(contract, detail) {
  const links = contract.admin_chain.map((l, i) => ({ ...l, ...(detail?.admin_chain[i] ?? {}) }));
  const marks = conditionalMarks(links);
  const nodes = [{ role: "contract", type: "contract", address: contract.address, title: contract.contract, lines: [contract.contract, shortAddress(contract.address), `proxy ${contract.proxy}`] },
    ...links.map((l) => ({ role: "admin", ...l, title: l.why ?? l.detail ?? "", lines: [...adminLines(l), ...aclLines(l), marks.get(l.address)] }))];
  if (!links.length) {
    const missing = contract.proxy !== "none";
    const why = detail?.admin_why ?? (missing ? "the proxy's admin was not found" : "not a proxy; answers no owner/admin/governor/feeToSetter/authority/ownership_admin/wards");
    nodes.push({ role: "end", type: missing ? "unknown" : "none", address: "", title: why, lines: missing ? ["⚠ admin unknown", "not found"] : ["no admin"] });
  }
  const nominees = nominations(contract).map(({ nominee: p, namer, column }) => ({ ...p, column, role: "nominee", lines: nomineeLines(p),
    title: `pending owner named by ${p.via} of ${namer}, not yet accepted` }));
  const lines = Math.max(NODE.lines, ...[...nodes, ...nominees].map((n) => n.lines.filter(Boolean).length));
  const height = 8 + lines * NODE.line;
  const columns = Math.max(nodes.length, ...nominees.map((n) => n.column + 1));
  const width = columns * (NODE.width + NODE.gap) - NODE.gap + 4;
  const total = 4 + height + (nominees.length ? height + NODE.rowGap : 0);
  const x = (column) => 2 + column * (NODE.width + NODE.gap);
  const y = (row) => 2 + row * (height + NODE.rowGap);
  const svg = document.createElementNS(SVG_NS, "svg");
  Object.entries({ class: "risk-graph", width, height: total, viewBox: `0 0 ${width} ${total}`, role: "group", "aria-label": `admin chain of ${contract.contract}` })
    .forEach(([k, v]) => svg.setAttribute(k, v));
  nodes.forEach((n, i) => {
    if (i) svg.append(arrow(x(i) - NODE.gap, x(i), y(0) + height / 2, y(0) + height / 2));
    svg.append(svgNode(n, x(i), y(0), height));
  });
  for (const n of nominees) {
    svg.append(arrow(x(n.column) - NODE.gap, x(n.column), y(0) + height - 8, y(1) + height / 2));
    svg.append(svgNode(n, x(n.column), y(1), height));
  }
  return svg;
}

// Each nominee the API lists, who names it, and the column of the admin it would succeed: the contract's own succeeds
// its first admin (column 1), link i's succeeds that link's owner (column i + 2).
function nominations(contract) {
  return [[contract.pending_owner, contract.address], ...contract.admin_chain.map((l) => [l.pending_owner, l.address])]
    .map(([nominee, namer], i) => ({ nominee, namer, column: i + 1 })).filter((n) => n.nominee);
}

// A holder granted with parameters, wherever the chain draws it: the API's parameter count on its node.
function conditionalMarks(links) {
  return new Map(links.flatMap((l) => (l.conditional ?? []).map((h) => [h.address, `conditional (${count(h.params, "param")})`])));
}

const aclLines = (l) => (l.conditional?.length ? [`${count(l.conditional.length, "conditional grant")}`] : []);
const count = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

function nomineeLines(p) {
  const [kind, address, extra] = adminLines(p);
  return [`pending owner: ${kind}`, address, extra, "not yet accepted"];
}

function adminLines(l) {
  const type = ADMIN_TYPES.includes(l.type) ? l.type : "unknown";
  const extra = {
    multisig: `${l.threshold ?? "?"}-of-${l.signers ? l.signers.length : "?"} signers`,
    timelock: duration(l.delay_seconds),
    unknown: "not classified",
  }[type] ?? "";
  return [type === "unknown" ? "⚠ unknown" : type, shortAddress(l.address), extra];
}

function svgNode(n, x, y, height) {
  const g = document.createElementNS(SVG_NS, "g");
  g.setAttribute("class", `node node-${n.type}${n.role === "nominee" ? " nominee" : ""}`);
  for (const [name, value] of Object.entries({ role: n.role, type: n.type, address: n.address ?? "", threshold: n.threshold ?? "", delay: n.delay_seconds ?? "", signers: n.signers ? n.signers.length : "", via: n.via ?? "" })) {
    g.setAttribute(`data-${name}`, value);
  }
  const title = document.createElementNS(SVG_NS, "title");
  title.textContent = [n.address, n.title].filter(Boolean).join("\n");
  const rect = document.createElementNS(SVG_NS, "rect");
  Object.entries({ x, y, rx: 6, width: NODE.width, height }).forEach(([k, v]) => rect.setAttribute(k, v));
  g.append(title, rect);
  n.lines.filter(Boolean).forEach((line, i) => {
    const text = document.createElementNS(SVG_NS, "text");
    text.setAttribute("x", x + 8);
    text.setAttribute("y", y + 14 + i * NODE.line);
    if (i === 0) text.setAttribute("class", "node-kind");
    text.textContent = line.length > NODE.chars ? `${line.slice(0, NODE.chars - 1)}…` : line;  // the title has it all
    g.append(text);
  });
  return g;
}

// An arrow ending at `to`: straight along a row (fromY = toY), or, for a nominee, down the gap to the row below (dashed).
function arrow(from, to, fromY, toY) {
  const path = document.createElementNS(SVG_NS, "path");
  const mid = from + (to - from) / 2;
  const head = `M ${to - 10} ${toY - 5} L ${to - 4} ${toY} L ${to - 10} ${toY + 5}`;
  path.setAttribute("class", fromY === toY ? "edge" : "edge pending");
  path.setAttribute("d", fromY === toY ? `M ${from + 2} ${toY} L ${to - 4} ${toY} ${head}`
    : `M ${from + 2} ${fromY} L ${mid} ${fromY} L ${mid} ${toY} L ${to - 4} ${toY} ${head}`);
  return path;
}

// The nominees and conditional grants in words under the graph (screen readers read these), each from the API's entry.
function controlNotes(contract) {
  const list = riskEl("ul", "risk-control-notes");
  for (const { nominee: p, namer } of nominations(contract)) {
    const limits = [p.threshold === null ? "" : ` threshold ${p.threshold}`, p.delay_seconds === null ? "" : ` delay ${p.delay_seconds} s`].join("");
    const li = riskEl("li", "", `pending owner, not yet accepted: ${p.type} ${p.address}${limits} (${p.via} of ${namer})`);
    Object.assign(li.dataset, { kind: "nominee", address: p.address, type: p.type, via: p.via, namer });
    list.append(li);
  }
  for (const l of contract.admin_chain) {
    for (const h of l.conditional ?? []) {
      const li = riskEl("li", "", `conditional holder ${h.address} at ${l.address}: granted with ${count(h.params, "parameter")}, counted as a holder (a condition can be met)`);
      Object.assign(li.dataset, { kind: "conditional", address: h.address, params: h.params, at: l.address });
      list.append(li);
    }
  }
  return list;
}

// Each fact with the page it was taken from; a loss or capacity that is not known says why, never $0.
function factsList(facts) {
  const list = riskEl("ul", "risk-facts");
  const item = (kind, text, href, source) => {
    const li = riskEl("li");
    li.dataset.kind = kind;
    li.append(badge(kind, "fact"), ` ${text} `);
    if (href) li.append(link(href, "report"), " ");
    li.append(link(source, "source"));
    return li;
  };
  list.append(
    ...facts.audits.map((a) => item("audit", `${a.auditor}, ${a.date}: ${a.scope}`, a.link, a.source)),
    ...facts.incidents.map((i) => item("incident", `${i.date}: ${i.cause}; loss ${dollars(i.loss_usd) ?? `not established (${i.loss_why})`}`, i.link, i.source)),
    ...facts.insurance.map((c) => item("insurance", `${c.provider}: capacity ${dollars(c.capacity_usd) ?? `unknown (${c.capacity_why})`}`, null, c.source)),
  );
  if (facts.bounty) list.append(item("bounty", `${facts.bounty.platform}: up to ${dollars(facts.bounty.max_payout_usd)}`, null, facts.bounty.source));
  if (!facts.incidents.length) list.append(riskEl("li", "sub", "no incident recorded here (an empty list is not proof none happened)"));
  return list;
}

// Which score a change moved, from its rule's family (docs/risk.md): a pillar, or the composite (overrides cap it).
const RULE_SCORES = { control: "control", code: "code & audits", incidents: "incidents", oracle: "oracle dependence",
  governance: "governance", economic: "economic", composite: "composite", override: "composite" };

function changeTable(changes) {
  const table = riskEl("table", "risk-changes");
  const head = riskEl("tr");
  for (const [name, cls] of [["Block"], ["Score"], ["Input"], ["Rule"], ["Before → after", "num"]]) head.append(riskEl("th", cls, name));
  table.createTHead().append(head);
  table.createTBody();
  const score = (s) => (s === null ? "—" : String(s));
  const rows = [...changes].reverse().map((c) => {  // newest first
    const tr = riskEl("tr");
    const subject = RULE_SCORES[c.rule.split(".")[0]] ?? "";
    Object.assign(tr.dataset, { block: c.block, subject, rule: c.rule, before: c.before ?? "", after: c.after ?? "" });
    tr.append(riskEl("td", "", String(c.block)), riskEl("td", "", subject), riskEl("td", "risk-input", c.input), riskEl("td", "risk-rule", c.rule),
      riskEl("td", "num", `${score(c.before)} → ${score(c.after)}`));
    return tr;
  });
  table.tBodies[0].append(...(rows.length ? rows : [emptyRow(5, "no change stored yet")]));
  return table;
}
