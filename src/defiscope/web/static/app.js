// defiscope dashboard: reads the /v1 API, draws with Chart.js, and polls so it updates as blocks are indexed.
// USD figures arrive as exact decimal strings; they are turned into numbers only for display and charts.
"use strict";

const POLL_MS = 3000;
const charts = {};

const usd = (text) => {
  if (text === null || text === undefined) return "—";
  const value = Number(text);
  const units = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]];
  for (const [size, suffix] of units) {
    if (Math.abs(value) >= size) return `$${(value / size).toFixed(2)}${suffix}`;
  }
  return `$${value.toFixed(2)}`;
};
const pct = (text) => (text === null || text === undefined ? "—" : `${Number(text) >= 0 ? "+" : ""}${Number(text).toFixed(2)}%`);
const trend = (text) => (text === null || text === undefined ? "" : Number(text) >= 0 ? "up" : "down");
const el = (id) => document.getElementById(id);
const cell = (text, cls) => { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; };
// A label styled by what it says: `badge("Executed", "state")` has the classes "badge state state-Executed".
const badge = (text, kind) => {
  const span = document.createElement("span");
  span.className = `badge ${kind} ${kind}-${text}`;
  span.textContent = text;
  return span;
};

async function api(path, accepted = []) {
  const response = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-cache" });
  if (!response.ok && !accepted.includes(response.status)) {
    // A figure not indexed yet answers 503 `{"status": "syncing", "error": {...}}`: show why, not a bare code.
    const body = await response.json().catch(() => null);
    throw new Error(body?.error?.problem ?? `${path}: HTTP ${response.status}`);
  }
  return response.json();
}

// /v1/health answers 503 with the same document when the index is stale.
const fetchHealth = () => api("/v1/health", [503]);

function drawLine(id, labels, datasets) {
  const data = { labels, datasets };
  if (charts[id]) { charts[id].data = data; charts[id].update("none"); return; }
  charts[id] = new Chart(el(id), {
    type: "line",
    data,
    options: {
      animation: false,
      responsive: true,
      interaction: { mode: "index", intersect: false },
      scales: { y: { ticks: { callback: (v) => usd(v) } } },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${usd(c.parsed.y)}` } } },
    },
  });
}

const timeLabel = (ts) => new Date(ts * 1000).toLocaleTimeString();

async function renderOverview() {
  const [page, chains] = await Promise.all([api("/v1/protocols?limit=100"), api("/v1/chains")]);
  const rows = page.items.map((p, i) => {
    const tr = document.createElement("tr");
    tr.dataset.slug = p.slug;
    const link = document.createElement("a");
    link.href = `#/protocol/${p.slug}`;
    link.textContent = p.name;
    const name = document.createElement("td");
    name.appendChild(link);
    if (p.uncounted_count > 0) name.append(" ", notCountedNote(p.uncounted_count, `#/protocol/${p.slug}`));
    tr.append(cell(String(i + 1)), name, cell(p.category), cell(Object.keys(p.chains).join(", ")),
      cell(usd(p.tvl_usd), "num tvl"), cell(pct(p.change_1d), `num ${trend(p.change_1d)}`), cell(pct(p.change_7d), `num ${trend(p.change_7d)}`));
    return tr;
  });
  el("ranking").querySelector("tbody").replaceChildren(...(rows.length ? rows : [emptyRow(7, "no protocol stored yet")]));

  // Nothing stored yet is no figure at all: a dash, never $0.
  const total = chains.length ? chains.reduce((sum, c) => sum + Number(c.tvl_usd), 0) : null;
  const doubled = chains.length ? chains.reduce((sum, c) => sum + Number(c.double_counted_usd), 0) : null;
  el("total-tvl").textContent = usd(total);
  if (total === null) delete el("total-tvl").dataset.usd; else el("total-tvl").dataset.usd = String(total);
  el("double-counted").textContent = usd(doubled);
  el("chains").querySelector("tbody").replaceChildren(...chains.map((c) => {
    const tr = document.createElement("tr");
    tr.append(cell(c.name), cell(usd(c.tvl_usd), "num"), cell(`block ${c.blocks.map((b) => b.number).join(", ")}`));
    return tr;
  }));

  if (!chains.length) return;  // nothing stored yet: no chart drawn (an empty one would show a $0 axis)
  const histories = await Promise.all(chains.map((c) => api(`/v1/chains/${c.chain}/tvl?interval=block`)));
  const stamps = [...new Set(histories.flatMap((h) => h.points.map((p) => p.timestamp)))].sort((a, b) => a - b);
  drawLine("total-chart", stamps.map(timeLabel), histories.map((h) => {
    const byTime = new Map(h.points.map((p) => [p.timestamp, Number(p.tvl_usd)]));
    let last = null;
    return { label: h.chain, data: stamps.map((t) => (byTime.has(t) ? (last = byTime.get(t)) : last)), pointRadius: 0, borderWidth: 2 };
  }));

  await renderPrices(page.items);
}

async function renderPrices(protocols) {
  if (!protocols.length) return;
  const detail = await api(`/v1/protocols/${protocols[0].slug}`);
  const tokens = [...new Map(detail.by_token.filter((t) => t.price).map((t) => [`${t.chain}:${t.token}`, t])).values()];
  el("prices").querySelector("tbody").replaceChildren(...tokens.slice(0, 12).map((t) => {
    const tr = document.createElement("tr");
    tr.append(cell(t.symbol), cell(t.chain), cell(Number(t.price.usd).toLocaleString(undefined, { maximumFractionDigits: 6 }), "num"),
      cell(t.price.source), cell(t.price.confidence.toFixed(2), "num"));
    return tr;
  }));
}

// The last day before the protocol's newest block, block by block; hourly when the day has more blocks than
// the API returns one by one (it answers 400 naming `interval` then). Never an unbounded history.
const HISTORY_SECONDS = 86400;
async function tvlHistory(slug, detail) {
  const newest = Math.max(...Object.values(detail.by_chain).map((b) => b.block.timestamp));
  const range = `start=${Math.max(0, newest - HISTORY_SECONDS)}`;
  const blocks = await api(`/v1/protocols/${slug}/tvl?interval=block&${range}`, [400]);
  return blocks.error ? api(`/v1/protocols/${slug}/tvl?interval=hour&${range}`) : blocks;
}

async function renderProtocol(slug) {
  const detailAndHistory = api(`/v1/protocols/${slug}`).then(async (d) => [d, await tvlHistory(slug, d)]);
  const [[detail, history], explanation, yields] = await Promise.all([
    // A protocol on several chains is explained on one of them (the API answers 422 without `chain`).
    detailAndHistory, detailAndHistory.then(([d]) => api(`/v1/protocols/${slug}/explain?chain=${Object.keys(d.by_chain)[0]}`)),
    api(`/v1/yields?protocol=${slug}`),
  ]);
  renderYields(yields.items);
  el("protocol-name").textContent = detail.name;
  el("protocol-meta").textContent = `${detail.category} · ${detail.methodology}`;
  el("protocol-tvl").textContent = usd(detail.tvl_usd);
  el("protocol-tvl").dataset.usd = detail.tvl_usd;
  el("protocol-change").textContent = `1h ${pct(detail.change_1h)} · 1d ${pct(detail.change_1d)} · 7d ${pct(detail.change_7d)}`;
  el("protocol-chains").querySelector("tbody").replaceChildren(...Object.entries(detail.by_chain).map(([chain, b]) => {
    const tr = document.createElement("tr");
    tr.append(cell(chain), cell(usd(b.tvl_usd), "num"), cell(`block ${b.block.number}`));
    return tr;
  }));
  el("protocol-tokens").querySelector("tbody").replaceChildren(...detail.by_token.map((t) => {
    const tr = document.createElement("tr");
    const amount = Number(BigInt(t.amount) / 10n ** BigInt(Math.max(t.decimals - 6, 0))) / 10 ** Math.min(t.decimals, 6);
    tr.append(cell(t.symbol), cell(t.chain), cell(t.kind), cell(amount.toLocaleString(undefined, { maximumFractionDigits: 4 }), "num"),
      cell(t.price ? Number(t.price.usd).toLocaleString(undefined, { maximumFractionDigits: 6 }) : "unpriced", "num"),
      cell(t.price ? t.price.source : t.unpriced_reason || ""), cell(usd(t.value_usd), "num"));
    return tr;
  }));
  renderNotCounted(detail.not_counted_positions);
  drawLine("protocol-chart", history.points.map((p) => timeLabel(p.timestamp)),
    [{ label: detail.name, data: history.points.map((p) => Number(p.tvl_usd)), pointRadius: 0, borderWidth: 2, fill: false }]);
  const doc = Array.isArray(explanation) ? explanation[0] : explanation;
  el("provenance-block").textContent = `chain ${doc.chain_id}, block ${doc.block.number} (${doc.block.hash}) at ${new Date(doc.block.timestamp * 1000).toISOString()}`;
  el("provenance-sum").textContent = Object.entries(doc.totals).map(([kind, t]) => `${kind}: ${t.sum}`).join("\n");
  el("provenance-calls").textContent = `${doc.calls.length} contract calls read at that block; ${doc.unpriced.length} token(s) unpriced`;
}

// Positions a protocol's figure leaves out (a pool that cannot be read, a blacklisted token, the long tail):
// "N positions not counted", never folded in as $0. An amount or value that is not known says "unknown".
const plural = (n, one) => `${n} ${one}${n === 1 ? "" : "s"}`;

function notCountedNote(count, href) {
  const note = document.createElement("a");
  note.className = "uncounted";
  note.href = href;
  note.dataset.count = String(count);
  note.textContent = `${plural(count, "position")} not counted`;
  return note;
}

function renderNotCounted(positions) {
  el("protocol-uncounted-card").hidden = !positions.length;
  el("protocol-uncounted-title").textContent = `${plural(positions.length, "position")} not counted`;
  el("protocol-uncounted").querySelector("tbody").replaceChildren(...positions.map((u) => {
    const tr = document.createElement("tr");
    Object.assign(tr.dataset, { holder: u.holder, token: u.token ?? "", cause: u.cause });
    const token = u.token === null ? u.symbol || "unknown" : `${u.symbol || "?"} (${u.token})`;
    tr.append(cell(u.holder, "addr"), cell(token), cell(u.chain), cell(u.kind), cell(u.reason),
      cell(u.amount ?? "unknown", "num amount"), cell(u.value_usd === null ? "unknown" : usd(u.value_usd), "num value"));
    return tr;
  }));
}

// Rates arrive as exact decimal strings (1 = 100 %); the row keeps them in data attributes, shows percents.
const YIELD_KINDS = { supply: "supply", borrow: "borrow", staking: "staking", lp_fee: "LP fees" };

function renderYields(items) {
  el("protocol-yields-card").hidden = !items.length;
  const rate = (text) => `${(Number(text) * 100).toFixed(2)}%`;
  el("protocol-yields").querySelector("tbody").replaceChildren(...items.map((y) => {
    const tr = document.createElement("tr");
    Object.assign(tr.dataset, { market: y.market, kind: y.kind, apr: y.apr, apy: y.apy, block: y.block.number });
    tr.append(cell(y.symbol), cell(y.block.chain), cell(YIELD_KINDS[y.kind] ?? y.kind), cell(rate(y.apr), "num"), cell(rate(y.apy), "num"),
      cell(`block ${y.block.number}`));
    tr.title = y.method;
    return tr;
  }));
}

function emptyRow(columns, text) {
  const tr = document.createElement("tr");
  tr.className = "empty";
  const td = cell(text);
  td.colSpan = columns;
  tr.append(td);
  return tr;
}

function renderHealth(health) {
  const lags = health.chains.map((c) => (c.last_block === null ? `${c.chain} (nothing yet)`
    : `${c.chain} #${c.last_block} (${c.lag_blocks ?? "?"} behind${c.state === "ok" || c.state === "unknown" ? "" : `, ${c.state}`})`));
  el("lag").textContent = lags.length ? `indexed: ${lags.join(" · ")}` : "nothing indexed yet";
  if (health.network) {
    el("network").textContent = health.network;
    el("network").hidden = false;
    el("simulation-note").hidden = health.network !== "devnet";
  }
  renderSync(health.chains.filter((c) => c.progress && c.progress.phase !== "following"));
}

const PHASES = { discovering: "discovering pools and markets", catching_up: "catching up with the head" };
const remaining = (s) => (s === null ? "time left unknown" : s < 60 ? `about ${s} s left`
  : s < 3600 ? `about ${Math.round(s / 60)} min left` : `about ${(s / 3600).toFixed(1)} h left`);

// One line per syncing chain: phase, percent (an indeterminate bar while the total is not known) and ETA.
function renderSync(syncing) {
  el("sync-banner").hidden = !syncing.length;
  el("sync-chains").replaceChildren(...syncing.map((c) => {
    const p = c.progress;
    const li = document.createElement("li");
    Object.assign(li.dataset, { chain: c.chain, phase: p.phase });
    const bar = document.createElement("progress");
    bar.max = 100;
    if (p.percent !== null) { bar.value = p.percent; li.dataset.percent = String(p.percent); }
    const text = document.createElement("span");
    const share = p.percent === null ? "" : ` ${p.percent.toFixed(1)}%`;
    text.textContent = `${c.chain}: ${PHASES[p.phase] ?? p.phase}${share} · ${remaining(p.eta_seconds)}`;
    li.append(text, bar);
    return li;
  }));
}

// Each view: the hash that opens it, its section, and how to draw it (governance.js, alerts.js, grades.js, indices.js
// draw theirs).
const VIEWS = [
  // The risk panel (risk.js) draws on its own: a figure that fails above does not hide it.
  { hash: /^#\/protocol\/([\w.-]+)/, section: "protocol", render: (match) => Promise.all([renderProtocol(match[1]), renderRisk(match[1])]) },
  { hash: /^#\/governance$/, section: "governance", render: () => renderGovernance() },
  { hash: /^#\/alerts$/, section: "alerts", render: () => renderAlerts() },
  { hash: /^#\/indices\/([\w-]+)$/, section: "index", render: (match) => renderIndex(match[1]) },
  { hash: /^#\/indices$/, section: "indices", render: () => renderIndices() },
  { hash: /^#\/grades(?:\/([\w.-]+))?$/, section: "grades", render: (match) => renderGrades(match[1]) },
  { hash: /^/, section: "overview", render: () => renderOverview() },
];

async function refresh() {
  try {
    const hash = location.hash || "#/";
    const view = VIEWS.find((v) => v.hash.test(hash));
    for (const v of VIEWS) el(v.section).hidden = v !== view;
    renderHealth(await fetchHealth());  // first: the syncing banner shows even when the page's figures do not exist yet
    await view.render(hash.match(view.hash));
    document.body.dataset.loaded = hash;
  } catch (error) {
    el("lag").textContent = `update failed: ${error.message}`;
  }
}

window.addEventListener("hashchange", refresh);
window.addEventListener("DOMContentLoaded", () => { refresh(); setInterval(refresh, POLL_MS); });
