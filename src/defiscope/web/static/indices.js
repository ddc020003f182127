// The indices views: #/indices lists every index with its level or why it has none; #/indices/{id} shows one:
// its value against the benchmarks, its weights over time (stacked), its drawdown, its holdings, and a backtest
// over the stored history (rebalance trades with their routes, slippage and gas; the metrics).
// Levels and amounts arrive as exact decimal strings: the rows keep them in data attributes, numbers only to draw.
"use strict";

const INDEX_POINTS = 500;  // the newest points drawn (the history endpoint's limit)
const BACKTEST_EVERY_MS = 60_000;  // a backtest re-quotes every rebalance on the chain: not on every poll
const backtests = new Map();  // index id -> {at, toBlock, answer}
const level = (text) => (text === null || text === undefined ? "—" : Number(text).toFixed(2));
const share = (text) => (text === null || text === undefined ? "—" : `${(Number(text) * 100).toFixed(2)}%`);
const ratio = (value) => (value === null || value === undefined ? "—" : Number(value).toFixed(4));
// "not built" is shown as said; its class is index-status-not-built.
const statusBadge = (status) => Object.assign(badge(status.replace(" ", "-"), "index-status"), { textContent: status });

async function renderIndices() {
  const listed = await api("/v1/indices");
  el("indices-list").querySelector("tbody").replaceChildren(...listed.items.map((item) => {
    const tr = document.createElement("tr");
    Object.assign(tr.dataset, { id: item.id, status: item.status, value: item.latest?.value ?? "" });
    const link = document.createElement("a");
    link.href = `#/indices/${item.id}`;
    link.textContent = item.name;
    const name = document.createElement("td");
    name.append(link);
    const status = document.createElement("td");
    status.append(statusBadge(item.status));
    tr.append(name, status, cell(level(item.latest?.value), "num level"),
      cell(item.latest ? `block ${item.latest.block.number}` : "—"), cell(`${item.weighting}, cap ${share(item.cap)}, ${item.rebalance}`),
      cell(item.reason ?? item.latest?.reason ?? "", "reason"));
    return tr;
  }));
}

async function renderIndex(id) {
  const [detail, history, holdings] = await Promise.all([
    api(`/v1/indices/${id}`), api(`/v1/indices/${id}/history?limit=${INDEX_POINTS}`), api(`/v1/indices/${id}/holdings`, [404]),
  ]);
  const summary = detail.index;
  el("index-name").textContent = summary.name;
  el("index-meta").textContent = `${summary.description} (${summary.weighting}, cap ${share(summary.cap)}, ${summary.rebalance})`;
  el("index-level").textContent = level(summary.latest?.value);
  el("index-level").dataset.value = summary.latest?.value ?? "";
  el("index-status").replaceChildren(statusBadge(summary.status));
  el("index-reason").textContent = summary.reason ?? summary.latest?.reason ?? "";
  renderHoldings(holdings);
  drawIndexCharts(history.points);
  await renderBacktest(id, history.points);
}

function renderHoldings(holdings) {
  const rows = holdings.error ? [] : holdings.holdings.map((h) => {
    const tr = document.createElement("tr");
    Object.assign(tr.dataset, { symbol: h.symbol, amount: h.amount, weight: h.weight ?? "" });
    tr.append(cell(h.symbol), cell(h.amount, "num amount"), cell(share(h.weight), "num weight"));
    return tr;
  });
  el("index-holdings-block").textContent = holdings.error ? "" : `at block ${holdings.block.number}`;
  el("index-holdings").querySelector("tbody").replaceChildren(...(rows.length ? rows : [emptyRow(3, "nothing held: the index is not built")]));
}

// A level's fall from its running peak, in percent (0 at a new high); none where the level is unknown.
function drawdowns(values) {
  let peak = null;
  return values.map((v) => {
    if (v === null) return null;
    peak = peak === null ? v : Math.max(peak, v);
    return (v / peak - 1) * 100;
  });
}

function drawIndexCharts(points) {
  const labels = points.map((p) => String(p.block.number));
  const number = (text) => (text === null ? null : Number(text));
  const values = points.map((p) => number(p.value));
  drawChart("index-value-chart", "line", labels, [
    { label: "index", data: values },
    { label: "equal weight", data: points.map((p) => number(p.equal_weight)) },
    { label: "WETH", data: points.map((p) => number(p.weth)) },
  ], {});
  const symbols = [...new Set(points.flatMap((p) => Object.keys(p.weights)))].sort();
  drawChart("index-weights-chart", "line", labels, symbols.map((s, i) => ({
    label: s, data: points.map((p) => (s in p.weights ? Number(p.weights[s]) * 100 : 0)), fill: i ? "-1" : "origin",
  })), { y: { stacked: true, min: 0, max: 100, ticks: { callback: (v) => `${v}%` } } });
  drawChart("index-drawdown-chart", "line", labels, [{ label: "drawdown", data: drawdowns(values), fill: true }],
    { y: { max: 0, ticks: { callback: (v) => `${Number(v).toFixed(1)}%` } } });
}

function drawChart(id, type, labels, datasets, scales) {
  const data = { labels, datasets: datasets.map((d) => ({ pointRadius: 0, borderWidth: 2, ...d })) };
  if (charts[id]) { charts[id].data = data; charts[id].update("none"); return; }
  charts[id] = new Chart(el(id), {
    type, data, options: { animation: false, responsive: true, interaction: { mode: "index", intersect: false }, scales },
  });
}

// The backtest over the stored history up to the newest point drawn: quoted again at most once a minute.
async function renderBacktest(id, points) {
  const newest = points.length ? points[points.length - 1].block.number : null;
  const kept = backtests.get(id);
  if (newest === null) { showBacktest(null, "no stored history: nothing to backtest"); return; }
  if (!kept || (kept.toBlock !== newest && Date.now() - kept.at > BACKTEST_EVERY_MS)) {
    // Kept while it runs, so the polls meanwhile wait for this one instead of starting more; dropped if it fails.
    const pending = api(`/v1/indices/${id}/backtest?to_block=${newest}`, [400, 404, 422, 503]);
    pending.catch(() => backtests.delete(id));
    backtests.set(id, { at: Date.now(), toBlock: newest, answer: pending });
  }
  const answer = await backtests.get(id).answer;
  showBacktest(answer.error ? null : answer, answer.error ? `no backtest: ${answer.error.problem}` : "");
}

function showBacktest(answer, note) {
  const table = el("index-trades");
  el("index-backtest-note").textContent = note || `blocks ${answer.from_block} to ${answer.to_block}, ${answer.cost_model}`;
  if (answer) Object.assign(table.dataset, { from: String(answer.from_block), to: String(answer.to_block) });
  const trades = answer ? answer.rebalances.flatMap((r) => r.trades.map((t) => tradeRow(r.block, t))) : [];
  table.querySelector("tbody").replaceChildren(...(trades.length ? trades : [emptyRow(8, note || "no trade in the range")]));
  const metrics = answer ? Object.entries(answer.metrics).filter(([, v]) => typeof v !== "object" || v === null) : [];
  el("index-metrics").querySelector("tbody").replaceChildren(...metrics.map(([name, value]) => {
    const tr = document.createElement("tr");
    Object.assign(tr.dataset, { metric: name, value: value === null ? "" : String(value) });
    const why = value === null ? answer.undefined?.[name] ?? "undefined" : null;
    tr.append(cell(name.replaceAll("_", " ")), cell(why ?? (typeof value === "string" ? usd(value) : ratio(value)), "num"));
    return tr;
  }));
}

function tradeRow(block, t) {
  const tr = document.createElement("tr");
  Object.assign(tr.dataset, { block: String(block), sell: t.sell, buy: t.buy, amountIn: t.amount_in, amountOut: t.amount_out,
    slippage: t.slippage_usd, gas: t.gas_usd });
  const route = t.route.map((leg) => `${leg.path.join(" → ")} (${leg.pools.map((p) => p.split(":")[0]).join(", ")})`).join("; ");
  const routeCell = cell(route, "route");
  routeCell.title = t.route.flatMap((leg) => leg.pools).join("\n");
  tr.append(cell(String(block), "num"), cell(t.sell), cell(t.buy), cell(t.amount_in, "num amount"), cell(t.amount_out, "num amount"),
    routeCell, cell(usd(t.slippage_usd), "num"), cell(usd(t.gas_usd), "num"));
  return tr;
}
