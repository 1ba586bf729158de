/* expkit ui: the run history in the browser. Plain JavaScript, no build step.
 * Every text from a run (names, tags, parameters, metric keys, logs, file names)
 * reaches the page through textContent or a property, never as HTML. */
"use strict";

const ROW_H = 31;               // px: a table row, border included (see app.css)
const POLL_MS = 1500;           // how often the page asks whether anything changed
const COLORS = ["#2f6fde", "#e0663a", "#1f8a4c", "#8e44ad", "#c2185b", "#00838f", "#b7791f", "#546e7a"];

const state = {
  runs: null,          // last /api/runs answer
  token: null,
  sort: { key: "run", desc: true },
  filter: "",
  matches: null,       // Set of ids matching the filter, or null
  filterError: null,
  selected: new Set(),
  view: null,          // {name, cleanup}
};

// ---------------------------------------------------------------- helpers

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function getJSON(url) {
  const response = await fetch(url, { cache: "no-store" });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function enc(text) { return encodeURIComponent(text); }
function pathEnc(path) { return path.split("/").map(enc).join("/"); }

function fmt(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    const abs = Math.abs(value);
    if (abs !== 0 && (abs >= 1e6 || abs < 1e-4)) return value.toExponential(3);
    return String(Number(value.toPrecision(4)));
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function took(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 60) return seconds.toFixed(1) + "s";
  const m = Math.floor(seconds / 60), s = Math.floor(seconds % 60);
  return m < 60 ? `${m}m${String(s).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

function when(stamp) {
  if (!stamp) return "";
  const d = new Date(stamp * 1000);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function statusBadge(status) { return el("span", { class: `status ${status}`, text: status }); }

function runLabel(run) { return `run ${run.number}` + (run.name ? ` ${run.name}` : ""); }

function isNum(v) { return typeof v === "number" && Number.isFinite(v); }

// ---------------------------------------------------------------- the runs table

/* A NAME of the filter language, read from a run summary (as expkit.history.table.values_of). */
const FIELDS = { run: "number", number: "number", id: "id", status: "status", target: "target",
  name: "name", script: "script", note: "note", took: "duration_s", duration: "duration_s",
  exit: "exit_code", exit_code: "exit_code", started: "started" };

function value(run, key) {
  if (key in FIELDS) return run[FIELDS[key]];
  const dot = key.indexOf(".");
  if (dot > 0) {
    const head = key.slice(0, dot), rest = key.slice(dot + 1);
    if (head === "tag") return run.tags[rest];
    if (head === "param") return run.params[rest];
    if (head === "metric") return run.metrics[rest];
  }
  if (key in run.params) return run.params[key];
  return run.metrics[key];
}

function columns(data) {
  const runs = data.runs;
  const cols = [{ key: "run", label: "run", num: true }];
  if (runs.some((r) => r.name)) cols.push({ key: "name", label: "name" });
  cols.push({ key: "status", label: "status" });
  if (runs.some((r) => Object.keys(r.tags).length)) cols.push({ key: "tags", label: "tags", sortable: false });
  for (const p of data.varying) cols.push({ key: "param." + p, label: p, kind: "param" });
  for (const m of data.metrics) cols.push({ key: "metric." + m, label: m, kind: "metric" });
  cols.push({ key: "took", label: "took", num: true });
  cols.push({ key: "started", label: "started", num: false });
  for (const c of cols) {
    if (c.num === undefined) c.num = runs.some((r) => isNum(value(r, c.key)));
  }
  return cols;
}

function compareValues(a, b) {
  const an = a === null || a === undefined, bn = b === null || b === undefined;
  if (an || bn) return an && bn ? 0 : an ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "number") return -1;
  if (typeof b === "number") return 1;
  return String(a).localeCompare(String(b));
}

function visibleRuns() {
  let runs = state.runs.runs;
  if (state.matches) runs = runs.filter((r) => state.matches.has(r.id));
  const { key, desc } = state.sort;
  const keyed = runs.map((r) => [value(r, key), r]);
  keyed.sort(([va], [vb]) => {
    const missingA = va === null || va === undefined, missingB = vb === null || vb === undefined;
    if (missingA || missingB) return compareValues(va, vb);   // missing last either way
    const c = compareValues(va, vb);
    return desc ? -c : c;
  });
  return keyed.map((pair) => pair[1]);
}

function cellFor(run, col) {
  const td = el("td", { class: col.num ? "num" : "", dataset: { col: col.key } });
  if (col.key === "run") td.append(el("a", { href: `#/run/${enc(run.id)}`, text: String(run.number) }));
  else if (col.key === "status") td.append(statusBadge(run.status));
  else if (col.key === "tags") {
    for (const [k, v] of Object.entries(run.tags)) td.append(el("span", { class: "tag", text: `${k}=${v}` }));
  } else if (col.key === "took") td.textContent = took(run.duration_s);
  else if (col.key === "started") td.textContent = when(run.started);
  else if (col.key === "name") {
    if (run.name) td.append(el("a", { href: `#/run/${enc(run.id)}`, text: run.name }));
  } else td.textContent = fmt(value(run, col.key));
  td.title = td.textContent;
  return td;
}

function renderRunsView(app) {
  const filter = el("input", {
    type: "search", id: "filter", value: state.filter, spellcheck: false,
    placeholder: 'filter, e.g.  accuracy > 0.9 and lr < 0.5 and tag.team == "a"',
  });
  const error = el("div", { class: "filter-error", id: "filter-error" });
  const count = el("span", { class: "count", id: "count" });
  const compareButton = el("button", { id: "compare-selected", text: "Compare selected" });
  const grid = el("div", { class: "grid", id: "runs-grid" });
  app.replaceChildren(
    el("div", { class: "toolbar" }, filter, count, compareButton), error, grid);

  let cols = [], rows = [];
  const table = el("table", { id: "runs" });
  const thead = el("thead");
  const tbody = el("tbody");
  table.append(thead, tbody);
  grid.append(table);

  function updateButton() {
    compareButton.disabled = state.selected.size < 2;
    compareButton.textContent = `Compare selected (${state.selected.size})`;
  }
  compareButton.onclick = () => {
    location.hash = `#/compare?runs=${[...state.selected].map(enc).join(",")}`;
  };

  function header() {
    const tr = el("tr", {}, el("th", { class: "pick" }));
    for (const col of cols) {
      const th = el("th", { class: (col.num ? "num " : "") + (state.sort.key === col.key ? "sorted" + (state.sort.desc ? " desc" : "") : ""), dataset: { col: col.key }, title: col.kind ? `${col.kind} ${col.label}` : col.label });
      if (col.kind) th.append(el("span", { class: "kind", text: col.kind === "param" ? "p" : "m" }));
      th.append(col.label);
      if (col.sortable !== false) th.onclick = () => {
        state.sort = state.sort.key === col.key ? { key: col.key, desc: !state.sort.desc } : { key: col.key, desc: col.key === "run" || col.key === "started" };
        refresh();
      };
      tr.append(th);
    }
    thead.replaceChildren(tr);
  }

  function body() {
    const top = grid.scrollTop;
    const height = grid.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_H) - 10);
    const last = Math.min(rows.length, Math.ceil((top + height) / ROW_H) + 10);
    const spacer = (px) => {
      const td = el("td", { colSpan: cols.length + 1 });
      td.style.height = `${px}px`;
      return el("tr", { class: "spacer" }, td);
    };
    const spacerTop = spacer(first * ROW_H);
    const spacerBottom = spacer((rows.length - last) * ROW_H);
    const out = [spacerTop];
    for (let i = first; i < last; i++) {
      const run = rows[i];
      const box = el("input", { type: "checkbox", checked: state.selected.has(run.id), title: "select for compare" });
      box.onchange = () => { box.checked ? state.selected.add(run.id) : state.selected.delete(run.id); tr.classList.toggle("selected", box.checked); updateButton(); };
      const tr = el("tr", { class: state.selected.has(run.id) ? "selected" : "", dataset: { id: run.id, number: String(run.number) } }, el("td", { class: "pick" }, box));
      for (const col of cols) tr.append(cellFor(run, col));
      out.push(tr);
    }
    out.push(spacerBottom);
    tbody.replaceChildren(...out);
  }

  function refresh() {
    if (!state.runs) return;
    cols = columns(state.runs);
    rows = visibleRuns();
    header();
    body();
    const total = state.runs.runs.length;
    count.textContent = state.matches ? `${rows.length} of ${total} runs` : `${total} runs`;
    if (state.filterError) {
      const { message, position } = state.filterError;
      error.textContent = `${message} at position ${position + 1}:\n${state.filter}\n${" ".repeat(position)}^`;
      filter.classList.add("bad");
    } else {
      error.textContent = "";
      filter.classList.remove("bad");
    }
    if (!total) grid.replaceChildren(el("p", { class: "muted", style: "padding:16px" }, "No runs yet: start one with ", el("code", { text: "exp run SCRIPT" }), "."));
    updateButton();
    document.body.dataset.ready = "runs";
    // When the table first showed, in ms since navigation (bench/ui_runs_page.py reads it).
    if (window.expkitReadyAt === undefined) window.expkitReadyAt = performance.now();
  }

  let scheduled = false;
  grid.addEventListener("scroll", () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => { scheduled = false; body(); });
  });

  let timer = null;
  filter.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.filter = filter.value.trim(); loadMatches().then(refresh).catch(showError); }, 250);
  });

  state.view = { name: "runs", refresh };
  if (state.runs) refresh();
  loadRuns().then(refresh).catch(showError);
}

function toRuns(data) {
  /* [id, number, status, target, [fields...]] -> run objects */
  const fields = data.fields;
  return data.runs.map(([id, number, status, target, values]) => {
    const run = { id, number, status, target };
    for (let i = 0; i < fields.length; i++) run[fields[i]] = values[i];
    run.args = run.args || []; run.tags = run.tags || {}; run.params = run.params || {}; run.metrics = run.metrics || {};
    const live = data.live[id];
    if (live) { run.metrics = { ...run.metrics, ...live.metrics }; run.params = { ...run.params, ...live.params }; }
    return run;
  });
}

function summarize(runs) {
  /* parameters that differ between runs (first-seen order), scalar metrics (most common first) */
  const params = new Map(), metrics = new Map();
  for (const r of runs) {
    for (const k in r.params) if (!params.has(k)) params.set(k, r.params[k]);
    for (const k in r.metrics) {
      const v = r.metrics[k];
      if (v === null || typeof v !== "object") metrics.set(k, (metrics.get(k) || 0) + 1);
    }
  }
  const same = (a, b) => a === b || (typeof a === "object" && JSON.stringify(a) === JSON.stringify(b));
  const varying = [...params.keys()].filter((k) => { const first = runs[0].params[k]; return runs.some((r) => !same(r.params[k], first)); });
  const names = [...metrics.keys()].sort((a, b) => metrics.get(b) - metrics.get(a));
  return { varying, metrics: names };
}

// The first table is fetched while the page loads (index.html preloads it).
let firstRuns = fetch("/api/runs", { credentials: "same-origin" });

async function loadRuns() {
  let data;
  if (firstRuns) {
    const response = await firstRuns;
    firstRuns = null;
    data = await response.json();
  } else {
    data = await getJSON("/api/runs");
  }
  const runs = toRuns(data);
  state.runs = { runs, ...summarize(runs) };
  state.token = data.token;
  await loadMatches();
}

async function loadMatches() {
  state.filterError = null;
  state.matches = null;
  if (!state.filter) return;
  const found = await getJSON(`/api/match?filter=${enc(state.filter)}`);
  if (found.error) state.filterError = found.error;
  else state.matches = new Set(found.matches);
}

// ---------------------------------------------------------------- charts

function chart(container, { title, series, xLabel = "step", scatter = false, height = 240 }) {
  /* series: [{label, points: [[x, y], ...]}]; one uPlot over the union of x values. */
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const data = [xs];
  for (const s of series) {
    const ys = new Array(xs.length).fill(null);
    for (const [x, y] of s.points) ys[index.get(x)] = y;
    data.push(ys);
  }
  const width = Math.max(320, (container.clientWidth || 600) - 4);
  const intSteps = xs.every(Number.isInteger);
  const xAxis = { label: xLabel, stroke: "#6b7385", grid: { stroke: "#eef0f4" } };
  if (intSteps && !scatter) xAxis.incrs = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 1e5, 1e6];
  const opts = {
    width, height, title: undefined,
    scales: { x: { time: false } },
    axes: [xAxis, { stroke: "#6b7385", grid: { stroke: "#eef0f4" }, size: 60 }],
    cursor: { drag: { x: true, y: false } },
    series: [{ label: xLabel }].concat(series.map((s, i) => ({
      label: s.label,
      stroke: COLORS[i % COLORS.length],
      width: scatter ? 0 : 2,
      spanGaps: true,
      paths: scatter ? () => null : undefined,
      points: { show: scatter || xs.length < 60, size: scatter ? 7 : 5, fill: COLORS[i % COLORS.length] },
    }))),
  };
  const plot = new uPlot(opts, data, container);
  container._uplot = plot;
  return plot;
}

function pointsTable(points) {
  const body = el("tbody", {}, el("tr", {}, el("td", { text: "step" }), el("td", { text: "value" })));
  for (const [step, v] of points) body.append(el("tr", {}, el("td", { text: fmt(step) }), el("td", { text: fmt(v) })));
  return el("details", {}, el("summary", { text: `${points.length} values` }), el("table", { class: "points" }, body));
}

// ---------------------------------------------------------------- one run

function seriesPoints(points) {
  // A list logged at once (Workbench style) is drawn over its items' positions.
  if (points.length === 1 && Array.isArray(points[0][1])) return points[0][1].map((v, i) => [i, v]);
  return points.map((p) => [p[0], p[1]]);
}

async function renderRunView(app, ref) {
  app.replaceChildren(el("p", { class: "muted", text: "Loading run…" }));
  const run = await getJSON(`/api/run/${enc(ref)}`);
  const charts = el("div", { class: "charts", id: "charts" });
  const chartEls = {};
  const points = run.points;  // name -> [[step, value, time]]
  const metricsBody = el("tbody");
  const paramsBody = el("tbody");
  const log = el("pre", { class: "log", id: "log" });
  const head = el("div", { class: "head", id: "run-head" });
  const outputs = el("ul", { class: "files", id: "outputs" });
  const files = el("ul", { class: "files", id: "snapshot" });

  function drawHead() {
    head.replaceChildren(
      el("span", { class: "name", text: `Run ${run.number}` + (run.name ? ` · ${run.name}` : "") }),
      statusBadge(run.status),
      ...Object.entries(run.tags).map(([k, v]) => el("span", { class: "tag", text: `${k}=${v}` })));
  }

  function drawTables() {
    paramsBody.replaceChildren(...Object.entries(run.params).map(([k, v]) =>
      el("tr", { dataset: { param: k } }, el("td", { text: k }), el("td", { text: fmt(v) }))));
    const names = new Set([...Object.keys(run.metrics), ...Object.keys(points)]);
    metricsBody.replaceChildren(...[...names].map((k) => {
      const ps = points[k] || [];
      const last = k in run.metrics ? run.metrics[k] : ps.length ? ps[ps.length - 1][1] : null;
      return el("tr", { dataset: { metric: k } }, el("td", { text: k }), el("td", { text: fmt(last) + (ps.length > 1 ? `  (${ps.length} values)` : "") }));
    }));
  }

  function drawCharts() {
    for (const [name, ps] of Object.entries(points)) {
      const xy = seriesPoints(ps).filter((p) => isNum(p[1]) && isNum(p[0]));
      if (xy.length < 2) continue;
      let box = chartEls[name];
      if (!box) {
        box = el("div", { class: "chart panel", dataset: { metric: name } }, el("h3", { text: name }));
        box.plotArea = el("div");
        box.append(box.plotArea);
        chartEls[name] = box;
        charts.append(box);
      }
      if (box.plotArea._uplot) {
        const plot = box.plotArea._uplot;
        plot.setData([xy.map((p) => p[0]), xy.map((p) => p[1])]);
      } else {
        chart(box.plotArea, { series: [{ label: name, points: xy }] });
      }
      const old = box.querySelector("details");
      const open = old && old.open;
      const table = pointsTable(xy);
      table.open = open;
      old ? old.replaceWith(table) : box.append(table);
    }
    const none = !Object.keys(chartEls).length;
    if (none && !charts.querySelector(".none")) charts.append(el("p", { class: "muted none", text: "No metric was logged more than once: nothing to draw yet." }));
    if (!none && charts.querySelector(".none")) charts.querySelector(".none").remove();
  }

  drawHead();
  const cmd = [run.script, ...run.args].join(" ");
  const facts = el("dl", { class: "facts" });
  const fact = (k, v) => { if (v !== null && v !== undefined && v !== "") facts.append(el("dt", { text: k }), el("dd", { text: String(v) })); };
  fact("id", run.id); fact("command", cmd); fact("target", `${run.target} (runconfig ${run.runconfig})`);
  fact("started", when(run.started)); fact("took", took(run.duration_s));
  fact("exit code", run.exit_code === null ? (run.active ? "(still running)" : "(none: the script did not run)") : run.exit_code);
  fact("error", run.error); fact("note", run.note); fact("environment", run.env_id);
  fact("git", run.git_commit ? run.git_commit + (run.git_dirty ? " (dirty)" : "") : null);

  for (const path of run.outputs) {
    outputs.append(el("li", {}, el("a", { href: `/api/run/${enc(run.id)}/output/${pathEnc(path)}`, download: path.split("/").pop(), text: path })));
  }
  if (!run.outputs.length) outputs.append(el("li", { class: "muted", text: "no outputs" }));
  for (const f of run.snapshot_files) {
    const item = f.link
      ? el("li", {}, el("span", { text: `${f.path} → ${f.link}` }))
      : el("li", {}, el("a", { href: `/api/run/${enc(run.id)}/file/${pathEnc(f.path)}`, target: "_blank", rel: "noopener", text: f.path }), el("span", { class: "size", text: `${f.size} B` }));
    files.append(item);
  }
  if (!run.snapshot_files.length) files.append(el("li", { class: "muted", text: "no code snapshot" }));

  app.replaceChildren(
    el("p", {}, el("a", { href: "#/", text: "← all runs" })),
    el("div", { class: "panel" }, head, el("div", { style: "height:10px" }), facts),
    el("div", { class: "cols" },
      el("div", {}, el("h2", { text: "Parameters" }), el("div", { class: "panel" }, el("table", { class: "kv", id: "params" }, paramsBody))),
      el("div", {}, el("h2", { text: "Metrics" }), el("div", { class: "panel" }, el("table", { class: "kv", id: "metrics" }, metricsBody)))),
    el("h2", { text: "Charts" }), charts,
    el("h2", { text: "Log" }), log,
    el("div", { class: "cols" },
      el("div", {}, el("h2", { text: "Outputs" }), el("div", { class: "panel" }, outputs)),
      el("div", {}, el("h2", { text: "Code snapshot" }), el("div", { class: "panel" }, files))));
  drawTables();
  drawCharts();

  // Live: the log and metric points of a running run, until it ends.
  let logOffset = 0, metricsOffset = run.metrics_offset, stopped = false;
  async function pull() {
    const chunk = await getJSON(`/api/run/${enc(run.id)}/log?offset=${logOffset}`);
    if (chunk.text) {
      const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.append(document.createTextNode(chunk.text));
      if (atEnd) log.scrollTop = log.scrollHeight;
    }
    logOffset = chunk.offset;
    if (chunk.more) return pull();
    return chunk;
  }
  await pull();
  if (!log.textContent && !run.active) log.append(el("span", { class: "muted", text: "(no output)" }));
  document.body.dataset.ready = "run";
  async function tick() {
    if (stopped || !run.active) return;
    try {
      const counts = Object.fromEntries(Object.entries(points).map(([k, v]) => [k, v.length]));
      const news = await getJSON(`/api/run/${enc(run.id)}/metrics?offset=${metricsOffset}&counts=${enc(JSON.stringify(counts))}`);
      metricsOffset = news.offset;
      for (const [k, ps] of Object.entries(news.points)) {
        (points[k] = points[k] || []).push(...ps);
        run.metrics[k] = ps[ps.length - 1][1];
      }
      Object.assign(run.params, news.params);
      const chunk = await pull();
      if (Object.keys(news.points).length || Object.keys(news.params).length) { drawTables(); drawCharts(); }
      if (!chunk.active) {
        const fresh = await getJSON(`/api/run/${enc(run.id)}`);
        Object.assign(run, { status: fresh.status, active: false, exit_code: fresh.exit_code, duration_s: fresh.duration_s, metrics: fresh.metrics });
        if (!stopped) renderRunView(app, ref);
        return;
      }
    } catch (e) { /* the next tick tries again */ }
    setTimeout(tick, POLL_MS / 2);
  }
  setTimeout(tick, POLL_MS / 2);
  state.view = { name: "run", cleanup: () => { stopped = true; }, refresh: () => {} };
}

// ---------------------------------------------------------------- compare

async function renderCompareView(app, params) {
  const ids = (params.get("runs") || "").split(",").filter(Boolean);
  if (!state.runs) await loadRuns();
  const all = state.runs.runs;
  const listed = state.matches ? all.filter((r) => state.matches.has(r.id)) : all;
  const wrap = el("div", {});
  app.replaceChildren(el("p", {}, el("a", { href: "#/", text: "← all runs" })), el("h1", { text: "Compare" }), wrap);

  // Overlaid curves of the selected runs.
  const curves = el("div", { class: "panel", id: "overlay" });
  if (ids.length < 1) {
    curves.append(el("p", { class: "muted", text: "Select runs in the table (the boxes on the left), then press “Compare selected”." }));
  } else {
    const details = await Promise.all(ids.map((id) => getJSON(`/api/run/${enc(id)}`)));
    const names = [...new Set(details.flatMap((d) => Object.keys(d.points).filter((k) => seriesPoints(d.points[k]).filter((p) => isNum(p[1])).length > 1)))];
    const pick = el("select", { id: "overlay-metric" }, names.map((n) => el("option", { value: n, text: n })));
    const area = el("div", { class: "chart", id: "overlay-chart" });
    const draw = () => {
      area.replaceChildren();
      const metric = pick.value;
      area.dataset.metric = metric;
      chart(area, { series: details.map((d) => ({ label: runLabel(d), points: seriesPoints(d.points[metric] || []).filter((p) => isNum(p[1])) })) });
    };
    pick.onchange = draw;
    curves.append(el("div", { class: "toolbar" }, el("strong", { text: "Metric over steps" }), pick,
      el("span", { class: "legend-note", text: details.map(runLabel).join(" · ") })), area);
    if (names.length) requestAnimationFrame(draw); else area.append(el("p", { class: "muted", text: "These runs logged no metric more than once." }));
  }

  // Parameter against metric over every listed run.
  const scatter = el("div", { class: "panel", id: "scatter" });
  const paramNames = [...new Set(listed.flatMap((r) => Object.keys(r.params)))].filter((p) => listed.some((r) => isNum(r.params[p])));
  const metricNames = [...new Set(listed.flatMap((r) => Object.keys(r.metrics)))].filter((m) => listed.some((r) => isNum(r.metrics[m])));
  const px = el("select", { id: "scatter-param" }, paramNames.map((n) => el("option", { value: n, text: n })));
  const my = el("select", { id: "scatter-metric" }, metricNames.map((n) => el("option", { value: n, text: n })));
  const preferred = paramNames.find((p) => state.runs.varying.includes(p));
  if (preferred) px.value = preferred;
  const area = el("div", { class: "chart", id: "scatter-chart" });
  const draw = () => {
    area.replaceChildren();
    const pts = listed.filter((r) => isNum(r.params[px.value]) && isNum(r.metrics[my.value])).map((r) => [r.params[px.value], r.metrics[my.value]]);
    area.dataset.points = String(pts.length);
    chart(area, { series: [{ label: my.value, points: pts }], xLabel: px.value, scatter: true });
  };
  px.onchange = my.onchange = draw;
  scatter.append(el("div", { class: "toolbar" }, el("strong", { text: "Parameter against metric" }), px, el("span", { text: "→" }), my,
    el("span", { class: "legend-note", text: `${listed.length} listed runs` + (state.filter ? ` (filter: ${state.filter})` : "") })), area);
  wrap.append(curves, el("div", { style: "height:16px" }), scatter);
  if (paramNames.length && metricNames.length) requestAnimationFrame(draw);
  else area.append(el("p", { class: "muted", text: "No numeric parameter and metric to plot against each other." }));
  requestAnimationFrame(() => { document.body.dataset.ready = "compare"; });
  state.view = { name: "compare", refresh: () => {} };
}

// ---------------------------------------------------------------- routing and live updates

function showError(error) {
  const app = document.getElementById("app");
  app.replaceChildren(el("p", { class: "error", text: String(error.message || error) }), el("p", {}, el("a", { href: "#/", text: "← all runs" })));
}

function route() {
  if (state.view && state.view.cleanup) state.view.cleanup();
  state.view = null;
  delete document.body.dataset.ready;
  const app = document.getElementById("app");
  const hash = location.hash.slice(1) || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  document.getElementById("nav-runs").classList.toggle("on", path === "/");
  document.getElementById("nav-compare").classList.toggle("on", path.startsWith("/compare"));
  window.scrollTo(0, 0);
  if (path.startsWith("/run/")) renderRunView(app, decodeURIComponent(path.slice(5))).catch(showError);
  else if (path.startsWith("/compare")) renderCompareView(app, params).catch(showError);
  else renderRunsView(app);
}

async function poll() {
  const live = document.getElementById("live");
  try {
    const { token } = await getJSON("/api/token");
    live.classList.remove("off");
    if (token !== state.token && state.view && state.view.name === "runs") {
      await loadRuns();
      state.view.refresh();
    } else if (token !== state.token) {
      state.token = token;
      state.runs = null;   // reloaded when the table is shown again
    }
  } catch (e) {
    live.classList.add("off");
  }
  setTimeout(poll, POLL_MS);
}

window.addEventListener("hashchange", route);
route();
setTimeout(poll, POLL_MS);
