// The rule form of the alerts view, drawn from the OpenAPI schema of POST /v1/alerts/rules: one kind at a time, its
// params as inputs; the API validates, and its 4xx appears next to the field it names. The secret is shown once.
// The same form edits a stored rule: pre-filled from GET /v1/alerts/rules/{id}, saved with PUT (which replaces the
// rule and keeps its secret).
"use strict";

// ---- errors next to the field they name ------------------------------------------------------------------------

// The API names the field at fault, e.g. "price_move.params.threshold_pct": the error goes next to the input whose
// data-field is the longest prefix of that name (the kind's own prefix dropped), else above the form's button.
function showFieldError(form, field, problem) {
  clearErrors(form);
  const kind = form.elements.kind?.value;
  const name = kind && field.startsWith(`${kind}.`) ? field.slice(kind.length + 1) : field;
  const slots = [...form.querySelectorAll("[data-field]")]
    .filter((s) => name === s.dataset.field || name.startsWith(`${s.dataset.field}.`))
    .sort((a, b) => b.dataset.field.length - a.dataset.field.length);
  const slot = slots[0] ?? form.querySelector("[data-field-default]");
  const message = slot.querySelector(".field-error");
  message.textContent = `${field}: ${problem}`;
  message.hidden = false;
  slot.classList.add("invalid");
}

function clearErrors(form) {
  form.querySelectorAll(".field-error").forEach((e) => { e.textContent = ""; e.hidden = true; });
  form.querySelectorAll(".invalid").forEach((e) => e.classList.remove("invalid"));
}

// ---- the rule form, built from the OpenAPI schema of POST /v1/alerts/rules ------------------------------------

let schemas = null;  // components.schemas of /openapi.json
let ruleKinds = null;  // kind -> its rule schema
let ruleKindsLoad = null;  // the one load of the schema in flight or done (the poll and an edit both wait on it)

function ruleKindsReady() {
  ruleKindsLoad ??= loadRuleKinds().catch((error) => { ruleKindsLoad = null; throw error; });  // retried next time
  return ruleKindsLoad;
}

const resolve = (schema) => (schema.$ref ? schemas[schema.$ref.split("/").pop()] : schema);

// The leaves of a schema's anyOf/oneOf tree (Optional[...] and Decimal are unions in the schema).
function leaves(schema) {
  const resolved = resolve(schema);
  const branches = resolved.anyOf ?? resolved.oneOf;
  return branches ? branches.flatMap(leaves) : [resolved];
}

// The first description on the way down (an Optional[Percent] has it on the inner union).
function describe(schema) {
  const resolved = resolve(schema);
  const branches = resolved.anyOf ?? resolved.oneOf ?? [];
  return resolved.description ?? branches.map(describe).find(Boolean) ?? "";
}

async function loadRuleKinds() {
  const spec = await api("/openapi.json");
  schemas = spec.components.schemas;
  const body = spec.paths["/v1/alerts/rules"].post.requestBody.content["application/json"].schema;
  const mapping = resolve(body).discriminator?.mapping ?? {};
  ruleKinds = Object.fromEntries(Object.entries(mapping).map(([kind, ref]) => [kind, resolve({ $ref: ref })]));
  const select = el("rule-kind");
  select.replaceChildren(...Object.keys(ruleKinds).map((kind) => new Option(kind, kind)));
  select.addEventListener("change", drawRuleFields);
  drawRuleFields();
}

function drawRuleFields() {
  const rule = ruleKinds[el("rule-kind").value];
  const params = resolve(rule.properties.params);
  el("rule-kind-help").textContent = params.description ?? "";
  el("rule-params").replaceChildren(...Object.entries(params.properties)
    .map(([name, schema]) => field(`params.${name}`, name, schema, params.required?.includes(name))));
  const common = Object.entries(rule.properties).filter(([name]) => !["kind", "params", "channels"].includes(name));
  el("rule-common").replaceChildren(...common.map(([name, schema]) => field(name, name, schema, false)));
  clearErrors(el("rule-form"));
}

// One input for one property: a select for a choice, checkboxes for a set of choices, a checkbox for a flag,
// else a text box whose text is sent as typed (decimals stay exact; the API checks and names what is wrong).
function field(path, label, schema, required) {
  const options = leaves(schema);
  const description = describe(schema);
  const wrap = document.createElement("label");
  wrap.className = "field";
  wrap.dataset.field = path;
  const title = document.createElement("span");
  title.className = "field-name";
  title.textContent = required ? `${label} *` : label;
  wrap.append(title, inputFor(path, schema, options));
  const help = document.createElement("small");
  help.textContent = description;
  const error = document.createElement("span");
  error.className = "field-error";
  error.hidden = true;
  wrap.append(help, error);
  return wrap;
}

const choicesOf = (options) => options.flatMap((o) => o.enum ?? (o.const !== undefined ? [o.const] : []));

function inputFor(path, schema, options) {
  const fallback = resolve(schema).default;
  const array = options.find((o) => o.type === "array");
  if (array) {  // a set of choices: one checkbox each, the defaults ticked
    const box = document.createElement("span");
    box.className = "choices";
    box.dataset.input = path;
    box.dataset.kind = "set";
    for (const choice of choicesOf(leaves(array.items))) {
      const item = document.createElement("label");
      const tick = Object.assign(document.createElement("input"), { type: "checkbox", value: choice });
      tick.checked = (fallback ?? []).includes(choice);
      item.append(tick, ` ${choice}`);
      box.append(item);
    }
    return box;
  }
  if (options.some((o) => o.type === "boolean")) {
    const tick = Object.assign(document.createElement("input"), { type: "checkbox", checked: fallback === true });
    Object.assign(tick.dataset, { input: path, kind: "bool" });
    return tick;
  }
  const choices = choicesOf(options);
  const free = options.some((o) => ["string", "number", "integer"].includes(o.type) && !o.enum);
  if (choices.length && !free) {
    const select = document.createElement("select");
    select.append(...(fallback === undefined ? [new Option("—", "")] : []), ...choices.map((c) => new Option(c, c)));
    if (fallback !== undefined) select.value = fallback;
    Object.assign(select.dataset, { input: path, kind: "text" });
    return select;
  }
  const input = Object.assign(document.createElement("input"), { type: "text", placeholder: fallback ?? "" });
  if (choices.length) input.placeholder = [fallback ?? "", ...choices].filter((v) => v !== "").join(" or ");
  const integer = options.some((o) => o.type === "integer");
  Object.assign(input.dataset, { input: path, kind: integer ? "integer" : "text" });
  return input;
}

function valueOf(input) {
  if (input.dataset.kind === "set") return [...input.querySelectorAll("input:checked")].map((i) => i.value);
  if (input.dataset.kind === "bool") return input.checked;
  const text = input.value.trim();
  if (text === "") return undefined;  // left empty: the API's default
  const whole = /^-?\d+$/.test(text) && Number.isSafeInteger(Number(text));
  return input.dataset.kind === "integer" && whole ? Number(text) : text;
}

// The rule being edited (null: the form creates one). The form has one channel slot: a rule's other channels
// (made through the API) are kept as they are and sent back with the edit.
const editing = { id: null, otherChannels: [] };

const channelBody = (c) => (c.type === "webhook" ? { type: c.type, url: c.target } : { type: c.type, address: c.target });

function ruleBody() {
  const body = { kind: el("rule-kind").value, params: {} };
  for (const input of el("rule-form").querySelectorAll("[data-input]")) {
    const value = valueOf(input);
    if (value === undefined) continue;
    const [head, name] = input.dataset.input.split(".");
    if (name) body[head][name] = value; else body[head] = value;
  }
  const type = el("channel-type").value;
  const target = el("channel-target").value.trim();
  body.channels = [...(type ? [channelBody({ type, target })] : []), ...editing.otherChannels.map(channelBody)];
  return body;
}

// A stored value into the input drawn for it (the inverse of valueOf); absent: left empty, the API's default.
function setValue(input, value) {
  if (input.dataset.kind === "set") {
    input.querySelectorAll("input").forEach((tick) => { tick.checked = (value ?? []).includes(tick.value); });
  } else if (input.dataset.kind === "bool") {
    input.checked = value === true;
  } else {
    input.value = value === undefined || value === null ? "" : String(value);
  }
}

async function editRule(id) {
  const [rule] = await Promise.all([keyed(`/v1/alerts/rules/${encodeURIComponent(id)}`), ruleKindsReady()]);
  editing.id = rule.id;
  el("rule-kind").value = rule.kind;
  drawRuleFields();
  for (const input of el("rule-form").querySelectorAll("[data-input]")) {
    const [head, name] = input.dataset.input.split(".");
    setValue(input, name ? rule[head][name] : rule[head]);
  }
  const [first, ...others] = rule.channels;
  el("channel-type").value = first?.type ?? "";
  el("channel-target").value = first?.target ?? "";
  editing.otherChannels = others;
  el("channel-extra").textContent = others.length ? `and ${others.length} more, kept as they are: ${others.map((c) => c.target).join(", ")}` : "";
  el("channel-extra").hidden = !others.length;
  el("rule-form-title").textContent = `Edit rule ${rule.id}`;
  el("rule-submit").textContent = "Save rule";
  el("rule-cancel").hidden = false;
  el("rule-saved").textContent = "";
  el("rule-card").scrollIntoView({ block: "nearest" });
}

function stopEditing() {
  Object.assign(editing, { id: null, otherChannels: [] });
  el("rule-form-title").textContent = "New rule";
  el("rule-submit").textContent = "Create rule";
  el("rule-cancel").hidden = true;
  el("channel-extra").hidden = true;
  el("channel-target").value = "";
  el("channel-type").value = "";
  drawRuleFields();
}

async function submitRule(event) {
  event.preventDefault();
  const form = el("rule-form");
  clearErrors(form);
  el("rule-saved").textContent = "";
  const request = { headers: { "Content-Type": "application/json" }, body: JSON.stringify(ruleBody()) };
  try {
    if (editing.id) {
      const saved = await keyed(`/v1/alerts/rules/${encodeURIComponent(editing.id)}`, { method: "PUT", ...request });
      stopEditing();
      el("rule-saved").textContent = `rule ${saved.id} saved`;
    } else {
      const created = await keyed("/v1/alerts/rules", { method: "POST", ...request });
      el("secret-rule").textContent = created.id;
      el("secret-value").textContent = created.webhook_secret;
      el("rule-secret").hidden = false;
    }
    await loadRules();
  } catch (error) {
    showFieldError(form, error.field ?? "rule", error.message);
  }
}

window.addEventListener("DOMContentLoaded", () => {
  el("rule-form").addEventListener("submit", submitRule);
  el("rule-cancel").addEventListener("click", stopEditing);
  el("secret-dismiss").addEventListener("click", () => { el("rule-secret").hidden = true; el("secret-value").textContent = ""; });
});
