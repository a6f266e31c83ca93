// The status page's updates (web/status.html): every 2 s it reads /metrics
// (the Prometheus text: every number shown) and /status.json (plugins,
// recent errors, the first pass, request rates), and renders them. A
// number cell carries data-metric="name{labels}", the series it shows, so a
// test can check the page against /metrics. Plain DOM, no libraries.
"use strict";
const P = "tokencollector_";

function parseMetrics(text) {
  const m = new Map();
  for (const line of text.split("\n")) {
    if (!line || line[0] === "#") continue;
    const sp = line.lastIndexOf(" ");
    m.set(line.slice(0, sp), Number(line.slice(sp + 1).replace("+Inf", "Infinity")));
  }
  return m;
}

// The series key as the daemon writes it: labels in the given order.
function key(name, labels) {
  const parts = Object.entries(labels || {}).map(([k, v]) => `${k}="${v}"`);
  return P + name + (parts.length ? "{" + parts.join(",") + "}" : "");
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmtNum(v, digits) {
  if (v === undefined || Number.isNaN(v)) return "-";
  if (!Number.isFinite(v)) return "unlimited";
  return digits === undefined ? String(Math.round(v)) : v.toFixed(digits);
}

function fmtDur(s) {
  if (s === undefined || s === null || Number.isNaN(s) || s < 0) return "-";
  if (s < 1) return Math.round(s * 1000) + " ms";
  if (s < 120) return s.toFixed(1) + " s";
  if (s < 7200) return (s / 60).toFixed(1) + " min";
  return (s / 3600).toFixed(1) + " h";
}

// A cell showing series KEY of M (integers as they are: the test reads them).
function metricCell(m, k, digits) {
  return el("td", { "data-metric": k }, fmtNum(m.get(k), digits));
}

function sourcesOf(m) {
  const names = [];
  for (const k of m.keys()) {
    const r = /^tokencollector_source_requests_total\{source="([^"]*)"\}$/.exec(k);
    if (r) names.push(r[1]);
  }
  return names;
}

// The daemon's own request rate over its last seconds (status.json), by source.
let rates = {};

function renderSources(m) {
  const body = document.querySelector("#sources tbody");
  body.replaceChildren();
  for (const s of sourcesOf(m)) {
    const L = { source: s };
    const tr = el("tr");
    tr.append(el("td", {}, s));
    let state = "closed";
    for (const st of ["closed", "open", "half_open"])
      if (m.get(key("source_breaker_state", { source: s, state: st })) === 1) state = st;
    if (m.get(key("source_paused", L)) === 1) state = "paused";
    tr.append(el("td", { class: state, "data-state": state }, state));
    const rate = rates[s];
    const limit = m.get(key("source_limiter_rate_requests_per_second", L));
    tr.append(el("td", { class: rate > limit ? "over" : "" }, fmtNum(rate, 2)));
    tr.append(metricCell(m, key("source_limiter_rate_requests_per_second", L), 2));
    tr.append(metricCell(m, key("source_requests_total", L)));
    tr.append(metricCell(m, key("source_responses_total", { source: s, outcome: "throttled" })));
    tr.append(metricCell(m, key("source_retries_total", L)));
    let errors = 0;
    for (const o of ["transport_error", "server_error", "client_error", "rejected"])
      errors += m.get(key("source_responses_total", { source: s, outcome: o })) || 0;
    tr.append(el("td", {}, fmtNum(errors)));
    const ws = m.get(key("source_limiter_wait_seconds_sum", L)), wc = m.get(key("source_limiter_wait_seconds_count", L));
    tr.append(el("td", {}, wc ? fmtDur(ws / wc) : "-"));
    tr.append(metricCell(m, key("source_in_flight_requests", L)));
    tr.append(metricCell(m, key("source_inflight_limit", L)));
    tr.append(metricCell(m, key("source_queued_tokens", L)));
    for (const r of ["found", "missing", "failed"])
      tr.append(metricCell(m, key("source_tokens_total", { source: s, result: r })));
    body.append(tr);
  }
}

function renderScheduler(m) {
  const rows = [
    ["tokens queued", "scheduler_queued_tokens"], ["tokens in flight", "scheduler_in_flight_tokens"],
    ["due now", "scheduler_due_tokens"], ["tokens committed", "tokens_committed_total"],
    ["capacity (tokens/s)", "scheduler_capacity_tokens_per_second", 2],
    ["demand (tokens/s)", "scheduler_demand_total_tokens_per_second", 2],
    ["overdue (max, s)", "scheduler_overdue_max_seconds", 1],
    ["config reloads applied", "config_reloads_total", undefined, { result: "applied" }],
    ["config reloads refused", "config_reloads_total", undefined, { result: "refused" }],
  ];
  const body = document.querySelector("#scheduler tbody");
  body.replaceChildren();
  for (const [label, name, digits, labels] of rows) {
    const tr = el("tr");
    tr.append(el("td", {}, label), metricCell(m, key(name, labels), digits));
    body.append(tr);
  }
}

function renderTiers(m) {
  const body = document.querySelector("#tiers tbody");
  body.replaceChildren();
  for (const t of ["hot", "warm", "cold"]) {
    const L = { tier: t };
    const tr = el("tr");
    tr.append(el("td", {}, t));
    tr.append(metricCell(m, key("scheduler_tokens", L)));
    tr.append(metricCell(m, key("scheduler_refreshed_tokens", L)));
    tr.append(el("td", {}, fmtDur(m.get(key("scheduler_interval_target_seconds", L)))));
    tr.append(el("td", {}, fmtDur(m.get(key("scheduler_interval_sustainable_seconds", L)))));
    tr.append(metricCell(m, key("scheduler_stretch_ratio", L), 2));
    for (const st of ["p50", "p95", "max"])
      tr.append(el("td", {}, fmtDur(m.get(key("scheduler_price_age_seconds", { tier: t, stat: st })))));
    body.append(tr);
  }
}

function renderStatus(s, m) {
  let done = 0, total = 0;
  for (const t of ["hot", "warm", "cold"]) {
    done += m.get(key("scheduler_refreshed_tokens", { tier: t })) || 0;
    total += m.get(key("scheduler_tokens", { tier: t })) || 0;
  }
  document.getElementById("pass-done").textContent = String(done);
  document.getElementById("pass-total").textContent = String(total);
  document.getElementById("pass-bar").style.width = (total ? (100 * done) / total : 100) + "%";
  document.getElementById("pass-rate").textContent = fmtNum(s.scheduler.committed_per_s, 1);
  const eta = s.first_pass.eta_s;
  document.getElementById("pass-eta").textContent = eta === 0 ? "done" : eta === null ? "unknown" : fmtDur(eta);
  const state = document.getElementById("state");
  state.textContent = s.paused ? "paused" : "running";
  state.className = "badge " + (s.paused ? "paused" : "running");
  const plugins = document.querySelector("#plugins tbody");
  plugins.replaceChildren();
  for (const x of s.sources) {
    const tr = el("tr");
    tr.append(el("td", {}, x.name), el("td", {}, x.plugin.name), el("td", { "data-version": x.plugin.version }, x.plugin.version),
      el("td", {}, x.plugin.abi), el("td", { class: x.state }, x.state), el("td", {}, x.plugin.file),
      el("td", {}, new Date(x.plugin.loaded_at * 1000).toLocaleString()));
    plugins.append(tr);
  }
  const errors = document.getElementById("errors");
  errors.replaceChildren();
  if (!s.recent_errors.length) errors.append(el("li", {}, "none"));
  for (const e of s.recent_errors) {
    const when = new Date(e.time_ms).toLocaleTimeString();
    const more = e.repeats ? ` (and ${e.repeats} more)` : "";
    errors.append(el("li", { class: e.level }, `${when} ${e.level} [${e.component}] ${e.message}${more}`));
  }
}

async function update() {
  try {
    const [mt, st] = await Promise.all([fetch("/metrics"), fetch("/status.json")]);
    if (!mt.ok || !st.ok) throw new Error("HTTP " + mt.status + "/" + st.status);
    const m = parseMetrics(await mt.text());
    const s = await st.json();
    const now = Date.now();
    rates = Object.fromEntries(s.sources.map((x) => [x.name, x.requests_per_s]));
    renderSources(m);
    renderScheduler(m);
    renderTiers(m);
    renderStatus(s, m);
    for (const k of m.keys()) {
      const b = /^tokencollector_build_info\{version="([^"]*)",abi="([^"]*)"\}$/.exec(k);
      if (b) document.getElementById("build").textContent = `version ${b[1]}, plugin ABI ${b[2]}`;
    }
    document.getElementById("updated").textContent = "updated " + new Date(now).toLocaleTimeString();
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  } catch (err) {
    document.getElementById("updated").textContent = "cannot reach the daemon: " + err.message;
  }
}

update();
setInterval(update, 2000);
