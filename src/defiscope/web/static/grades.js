// Grades view (#/grades, #/grades/<slug>): the newest published grades with each factor's percentile as a bar
// (/v1/grades), one protocol's trader and investor grades at every publication (/v1/grades/<slug>/history), the
// latest signals (/v1/signals) and the walk-forward evaluation of the published history (/v1/grades/evaluation).
// Nothing is estimated here: a factor, grade or figure the server could not compute shows the server's reason,
// never a 0 bar or a 0. Exact values ride along in data attributes; the text is rounded for reading.
"use strict";

const SIGNALS_SHOWN = 20;
const HORIZON_COLORS = { trader: "#2f6fed", investor: "#c4320a" };
// A variant's figures in the table's order: [key, where it is in the report, how it reads]. A figure is a number or
// {"unavailable": why}; the IC and the deflated Sharpe ratio are objects of several numbers when they exist.
const figureAt = (name, inner) => (variant) => {
  const figure = variant[name];
  return inner === undefined || figure.unavailable !== undefined ? figure : figure[inner];
};
const EVALUATION_FIGURES = [
  ["ic", figureAt("ic", "mean"), (v) => v.toFixed(3)], ["t_statistic", figureAt("ic", "t_statistic"), (v) => v.toFixed(2)],
  ["p_value", figureAt("ic", "p_value"), (v) => v.toFixed(3)], ["hit_rate", figureAt("hit_rate"), (v) => percent(v)],
  ["top_minus_bottom", figureAt("top_minus_bottom"), (v) => percent(v, 2)], ["turnover", figureAt("turnover"), (v) => percent(v)],
  ["sharpe", figureAt("sharpe"), (v) => v.toFixed(2)],
  ["deflated_sharpe", figureAt("deflated_sharpe", "probability"), (v) => v.toFixed(3)],
];

const percent = (value, digits = 1) => `${(value * 100).toFixed(digits)}%`;
const gradeText = (grade) => (grade === null ? "—" : grade.toFixed(1));

async function renderGrades(chosen) {
  const asked = location.hash;
  const [published, signals, evaluation] = await Promise.all([
    api("/v1/grades", [404]), api(`/v1/signals?limit=${SIGNALS_SHOWN}`), api("/v1/grades/evaluation", [409]),
  ]);
  if (location.hash !== asked) return;  // another protocol was picked meanwhile: the newer refresh draws
  renderGradeTable(published);
  renderSignals(signals.signals);
  renderEvaluation(evaluation);
  const slugs = published.error ? [] : published.grades.map((g) => g.slug);
  const slug = slugs.includes(chosen) ? chosen : slugs[0];
  fillGradedSelect(slugs, slug);
  if (slug === undefined) return;
  const history = await api(`/v1/grades/${slug}/history`);
  if (location.hash === asked) renderGradeHistory(history);
}

function renderGradeTable(published) {
  el("grades-none").hidden = !published.error;
  el("grades-table").hidden = Boolean(published.error);
  if (published.error) {
    el("grades-none").textContent = published.error.problem;
    el("grades-block").textContent = "";
    return;
  }
  const block = published.block;
  el("grades-block").textContent = `published at block ${block.number} of ethereum (${isoTime(block.timestamp)}), `
    + `formula ${published.formula_version}`;
  el("grades-block").dataset.block = String(block.number);
  el("grades-table").querySelector("tbody").replaceChildren(...published.grades.map(gradeRow));
}

function gradeRow(entry) {
  const tr = document.createElement("tr");
  tr.dataset.slug = entry.slug;
  const name = document.createElement("td");
  name.append(Object.assign(document.createElement("a"), { href: `#/grades/${entry.slug}`, textContent: entry.slug }));
  tr.append(name, cell(entry.token), gradeCell(entry.trader_grade, entry.trader_grade_missing, "trader"),
    gradeCell(entry.investor_grade, entry.investor_grade_missing, "investor"),
    factorCell(entry.factors, "trader"), factorCell(entry.factors, "investor"));
  return tr;
}

// A grade, or a dash with why there is none (the reason in full on hover).
function gradeCell(grade, missing, horizon) {
  const td = cell(gradeText(grade), `num grade grade-${horizon}`);
  if (grade === null) {
    td.title = missing;
    td.append(Object.assign(document.createElement("small"), { className: "why", textContent: ` ${missing}` }));
  } else {
    td.dataset.grade = String(grade);
  }
  return td;
}

function factorCell(factors, horizon) {
  const td = document.createElement("td");
  td.className = `factors factors-${horizon}`;
  td.append(...factors.filter((f) => f.horizon === horizon).map(factorLine));
  return td;
}

// name, weight, then the percentile as a bar (width = percentile % of the track) or the reason it is missing.
function factorLine(f) {
  const line = document.createElement("div");
  line.className = f.percentile === null ? "factor missing" : "factor";
  Object.assign(line.dataset, { name: f.name, weight: String(f.weight) });
  const weight = `w ${Math.round(f.weight * 100)}%`;
  line.append(Object.assign(document.createElement("span"), { className: "factor-name", textContent: f.name }),
    Object.assign(document.createElement("span"), { className: "factor-weight", textContent: weight }));
  if (f.percentile === null) {
    const why = f.missing_reason ?? "no percentile: its value could not be ranked";
    line.dataset.missing = why;
    line.append(Object.assign(document.createElement("span"), { className: "factor-missing", textContent: why, title: why }));
    return line;
  }
  line.dataset.percentile = String(f.percentile);
  const track = document.createElement("span");
  track.className = "bar";
  const fill = document.createElement("span");
  fill.className = "fill";
  fill.style.width = `${f.percentile}%`;
  track.append(fill);
  track.title = `value ${f.value}, percentile ${f.percentile}, weight ${f.weight}`
    + (f.effective_weight === null ? "" : ` (${(f.effective_weight * 100).toFixed(1)}% of the grade at this block)`);
  line.append(track, Object.assign(document.createElement("span"), { className: "factor-pct", textContent: f.percentile.toFixed(1) }));
  return line;
}

function fillGradedSelect(slugs, slug) {
  const select = el("grades-slug");
  if (select.options.length !== slugs.length) select.replaceChildren(...slugs.map((s) => new Option(s, s)));
  if (slug !== undefined) select.value = slug;
}

// Trader and investor grade at every publication; a publication without a grade is a gap, not a 0.
function renderGradeHistory(history) {
  const points = history.history;
  el("grades-history-note").textContent = `${history.slug}: ${points.length} publication${points.length === 1 ? "" : "s"}`;
  el("grades-history-chart").dataset.slug = history.slug;
  const line = (horizon) => ({
    label: horizon, data: points.map((p) => p[`${horizon}_grade`]), borderColor: HORIZON_COLORS[horizon],
    backgroundColor: HORIZON_COLORS[horizon], pointRadius: 2, borderWidth: 2, spanGaps: false,
  });
  drawChart("grades-history-chart", "line", points.map((p) => String(p.block.number)), [line("trader"), line("investor")],
    { y: { min: 0, max: 100, title: { display: true, text: "grade" } }, x: { title: { display: true, text: "block" } } });
}

function renderSignals(signals) {
  const rows = signals.map((s) => {
    const tr = document.createElement("tr");
    Object.assign(tr.dataset, { entity: s.entity, block: String(s.block), horizon: s.horizon, state: s.state, grade: String(s.grade) });
    const direction = document.createElement("td");
    direction.append(badge(s.state, "signal"), ` from ${s.previous}`);
    const movers = s.movers.map((m) => `${m.name} ${m.change >= 0 ? "+" : ""}${m.change.toFixed(1)}`).join(", ");
    tr.append(cell(String(s.block), "num"), cell(s.entity), cell(s.horizon), direction, cell(s.grade.toFixed(1), "num"),
      cell(movers || "—", "movers"));
    return tr;
  });
  el("grades-signals").querySelector("tbody").replaceChildren(...(rows.length ? rows : [emptyRow(6, "no signal published yet")]));
}

function renderEvaluation(report) {
  el("grades-eval-message").hidden = !report.error;
  el("grades-eval-report").hidden = Boolean(report.error);
  if (report.error) {
    el("grades-eval-message").textContent = `No evaluation yet: ${report.error.problem}.`;
    return;
  }
  el("grades-eval-summary").textContent = `${report.publications} publications, ${report.periods_per_day} a day; `
    + report.grades.map((g) => `${g.horizon}: forward return over ${g.setup.horizon} periods, ${g.evaluated_periods} `
      + `evaluated periods, ${g.n_trials} variant${g.n_trials === 1 ? "" : "s"} tried`).join("; ");
  el("grades-eval").querySelector("tbody").replaceChildren(...report.grades.flatMap((g) => g.variants.map((v) => evaluationRow(g, v))));
  const formulas = report.grades.map((g) => [g.horizon, g.variants.find((v) => v.name === "formula")]).filter(([, v]) => v);
  const series = (key, field) => formulas.map(([horizon, v]) => ({
    label: horizon, data: v[key].map((p) => ({ x: p.block, y: p[field] })), borderColor: HORIZON_COLORS[horizon],
    backgroundColor: HORIZON_COLORS[horizon], pointRadius: 3, borderWidth: 2, showLine: key !== "ic_by_period",
  }));
  const blocks = { x: { type: "linear", title: { display: true, text: "block" }, ticks: { precision: 0 } } };
  drawChart("grades-ic-chart", "line", undefined, series("ic_by_period", "ic"), { ...blocks, y: { title: { display: true, text: "rank IC" } } });
  drawChart("grades-spread-chart", "line", undefined, series("top_minus_bottom_by_period", "cumulative"),
    { ...blocks, y: { title: { display: true, text: "compounded return" }, ticks: { callback: (v) => percent(v, 0) } } });
}

// One variant of one grade: each figure, or "n/a" with the server's reason.
function evaluationRow(grade, variant) {
  const tr = document.createElement("tr");
  Object.assign(tr.dataset, { horizon: grade.horizon, variant: variant.name });
  tr.append(cell(grade.horizon), cell(variant.name));
  for (const [key, read, show] of EVALUATION_FIGURES) tr.append(figureCell(key, read(variant), show));
  tr.append(figureCell("signal_hit_rate", grade.signal_hit_rate, (v) => percent(v)));
  return tr;
}

function figureCell(key, figure, show) {
  const td = document.createElement("td");
  td.className = `num figure-${key}`;
  if (typeof figure === "object") {
    td.textContent = "n/a";
    td.title = figure.unavailable;
    td.dataset.unavailable = figure.unavailable;
    return td;
  }
  td.textContent = show(figure);
  td.dataset.value = String(figure);
  return td;
}

function drawChart(id, type, labels, datasets, scales) {
  const data = labels === undefined ? { datasets } : { labels, datasets };
  if (charts[id]) { charts[id].data = data; charts[id].update("none"); return; }
  charts[id] = new Chart(el(id), {
    type,
    data,
    // The box around the canvas sets the size (CSS): the chart fills it whatever the data.
    options: { animation: false, responsive: true, maintainAspectRatio: false, interaction: { mode: "nearest", intersect: false }, scales },
  });
}

window.addEventListener("DOMContentLoaded", () => {
  el("grades-slug").addEventListener("change", (event) => { location.hash = `#/grades/${event.target.value}`; });
});
