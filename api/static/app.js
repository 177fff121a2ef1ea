// Flowcast dashboard: plain JS, no external assets. Token kept in sessionStorage.
"use strict";
const $ = (id) => document.getElementById(id);
const NS = "http://www.w3.org/2000/svg";
const STATES = ["fluid", "pre_saturated", "saturated", "blocked"];
const state = {
  token: sessionStorage.getItem("flowcast-token"), role: sessionStorage.getItem("flowcast-role"), sensors: new Map(), forecasts: new Map(),
  selected: null, ws: null, retry: 1000, projection: null,
};
const PARIS_TIME = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Europe/Paris", weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
});

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${state.token}` }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) { logout(); throw new Error("signed out"); }
  if (!response.ok) throw new Error((await response.json()).detail || response.statusText);
  return response.json();
}

async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const response = await fetch("/auth/token", { method: "POST", body: new URLSearchParams(new FormData(event.target)) });
  const body = await response.json();
  if (!response.ok) { $("login-error").textContent = body.detail; return; }
  state.token = body.access_token;
  state.role = body.role;
  sessionStorage.setItem("flowcast-token", state.token);
  sessionStorage.setItem("flowcast-role", state.role || "");
  start();
}

function logout() {
  sessionStorage.removeItem("flowcast-token");
  state.token = null;
  if (state.ws) { state.ws.onclose = null; state.ws.close(); }
  $("app").hidden = true; $("logout").hidden = true; $("login").hidden = false; $("counts").textContent = "";
  setConn("off", "offline");
}

function setConn(cls, text) { const el = $("conn"); el.className = `conn ${cls}`; el.textContent = text; }
const el = (tag, attrs = {}, text) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
};
const svgEl = (tag, attrs = {}) => {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
};
const when = (ts) => (ts ? PARIS_TIME.format(new Date(ts)) : "—");
const veh = (v) => (v === null || v === undefined ? "—" : `${Math.round(v)} veh/h`);
const label = (s) => (s && s.name ? s.name.replaceAll("_", " ") : "");

// Traffic state: the last reading's, else forecast flow against the sensor's largest flow seen.
function trafficState(sensor) {
  if (sensor.traffic_state && sensor.traffic_state !== "unknown") return sensor.traffic_state;
  const f = state.forecasts.get(sensor.sensor_id);
  if (!f || !sensor.maxFlow) return "unknown";
  const ratio = f.flow / sensor.maxFlow;
  return STATES[ratio < 0.5 ? 0 : ratio < 0.75 ? 1 : ratio < 0.9 ? 2 : 3];
}

// Equirectangular projection fitted to the sensors; cos(latitude) keeps the aspect right.
function fitProjection(placed) {
  const lats = placed.map((s) => s.lat), lons = placed.map((s) => s.lon);
  const [minLat, maxLat, minLon, maxLon] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const kx = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);
  const w = ((maxLon - minLon) * kx) || 1e-3, h = (maxLat - minLat) || 1e-3;
  const scale = Math.min(960 / w, 660 / h);
  const ox = (1000 - w * scale) / 2, oy = (700 + h * scale) / 2;
  return (s) => [ox + (s.lon - minLon) * kx * scale, oy - (s.lat - minLat) * scale];
}

function dotClass(s) {
  const cls = [trafficState(s)];
  if (state.forecasts.has(s.sensor_id)) cls.push("has-forecast");
  if (s.sensor_id === state.selected) cls.push("selected");
  return cls.join(" ");
}

function drawMap() {
  const svg = $("map");
  const placed = [...state.sensors.values()].filter((s) => s.lat !== null && s.lon !== null);
  svg.replaceChildren();
  if (!placed.length) return;
  state.projection = fitProjection(placed);
  // sensors with a forecast last, so they are drawn on top
  placed.sort((a, b) => state.forecasts.has(a.sensor_id) - state.forecasts.has(b.sensor_id));
  for (const s of placed) {
    const [x, y] = state.projection(s);
    const c = svgEl("circle", { cx: x.toFixed(1), cy: y.toFixed(1), class: dotClass(s) });
    c.dataset.id = s.sensor_id;
    const title = svgEl("title");
    title.textContent = `${label(s) || "sensor"} (${s.sensor_id})`;
    c.append(title);
    c.addEventListener("click", () => select(s.sensor_id));
    svg.append(c);
  }
  drawUnplaced();
  updateCounts();
}

// Sensors with a forecast but no position in the catalog: listed under the map.
function drawUnplaced() {
  const box = $("unplaced");
  const ids = [...state.forecasts.keys()].filter((id) => { const s = state.sensors.get(id); return !s || s.lat === null || s.lon === null; });
  box.replaceChildren();
  box.hidden = !ids.length;
  if (!ids.length) return;
  box.append(document.createTextNode("Not on the map (no position in the catalog): "));
  for (const id of ids.sort()) {
    const a = el("a", { href: "#", "data-id": id }, `${label(state.sensors.get(id)) || "sensor"} (${id})`);
    a.addEventListener("click", (event) => { event.preventDefault(); select(id); });
    box.append(a, document.createTextNode(" "));
  }
}

function updateCounts() {
  $("counts").textContent = `${state.sensors.size} sensors · ${state.forecasts.size} forecasts`;
}

function polyline(points, cls) {
  return svgEl("polyline", { points: points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "), class: cls });
}

function drawChart(history) {
  const W = 600, H = 200, L = 44, B = 18;
  const svg = svgEl("svg", { id: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "forecast vs observed" });
  const pts = history.points;
  if (!pts.length) { const t = svgEl("text", { x: W / 2, y: H / 2, class: "empty" }); t.textContent = "no history yet"; svg.append(t); return svg; }
  const values = pts.flatMap((p) => [p.observed, p.forecast && p.forecast.flow_high]).filter((v) => v !== null && v !== undefined);
  const top = Math.max(1, ...values) * 1.05;
  const x = (i) => L + (i / Math.max(1, pts.length - 1)) * (W - L - 4), y = (v) => H - B - (v / top) * (H - B - 6);
  for (const frac of [0, 0.5, 1]) {
    svg.append(svgEl("line", { x1: L, x2: W, y1: y(top * frac), y2: y(top * frac), class: "grid" }));
    const t = svgEl("text", { x: L - 4, y: y(top * frac) + 4, class: "axis", "text-anchor": "end" });
    t.textContent = Math.round(top * frac);
    svg.append(t);
  }
  for (const [i, anchor] of [[0, "start"], [pts.length - 1, "end"]]) {
    const t = svgEl("text", { x: x(i), y: H - 3, class: "axis", "text-anchor": anchor });
    t.textContent = when(pts[i].ts);
    svg.append(t);
  }
  const fc = pts.map((p, i) => [i, p.forecast]).filter(([, f]) => f);
  const band = fc.map(([i, f]) => [x(i), y(f.flow_high)]).concat(fc.slice().reverse().map(([i, f]) => [x(i), y(f.flow_low)]));
  svg.append(polyline(band, "band"));
  svg.append(polyline(fc.map(([i, f]) => [x(i), y(f.flow)]), "forecast"));
  svg.append(polyline(pts.map((p, i) => [i, p.observed]).filter(([, v]) => v !== null && v !== undefined).map(([i, v]) => [x(i), y(v)]), "observed"));
  return svg;
}

function forecastFacts(f) {
  const dl = el("dl", { id: "forecast" });
  const row = (term, node) => { dl.append(el("dt", {}, term)); const dd = el("dd"); dd.append(node); dl.append(dd); };
  if (!f) { row("Forecast", document.createTextNode("none yet")); return dl; }
  const t = el("time", { id: "forecast-ts", datetime: f.ts }, when(f.ts));
  row("Forecast for", t);
  row("Flow", el("strong", { id: "forecast-flow" }, veh(f.flow)));
  row("Interval", document.createTextNode(`${Math.round(f.flow_low)}–${Math.round(f.flow_high)} veh/h`));
  row("Model", document.createTextNode(`${f.model} (v${f.model_version})`));
  row("Produced", document.createTextNode(when(f.produced_at)));
  return dl;
}

async function select(id) {
  state.selected = id;
  for (const c of $("map").querySelectorAll("circle.selected")) c.classList.remove("selected");
  const dot = $("map").querySelector(`circle[data-id="${CSS.escape(id)}"]`);
  if (dot) dot.classList.add("selected");
  const panel = $("panel");
  try {
    const [sensor, history] = await Promise.all([
      api(`/sensors/${encodeURIComponent(id)}`), api(`/forecasts/${encodeURIComponent(id)}/history?hours=168`),
    ]);
    if (state.selected !== id) return;
    const f = state.forecasts.get(id) || sensor.forecast, r = sensor.last_reading;
    refreshDot(id, r);
    const head = el("h2", {}, label(sensor) || "Sensor");
    head.append(el("small", {}, ` id ${sensor.sensor_id}`));
    const reading = el("p", { class: "reading" });
    reading.append(document.createTextNode(r ? `Last reading ${when(r.ts)}: ${veh(r.flow)}, ` : "No reading yet"));
    if (r) reading.append(el("span", { class: `badge ${r.traffic_state}` }, r.traffic_state.replace("_", "-")));
    const mae = el("p", {}, history.mae === null ? "Live error: not scored yet" : `Live MAE over ${history.n} h: ${history.mae.toFixed(1)} veh/h`);
    const legend = el("p", { class: "chart-legend" });
    legend.innerHTML = '<i class="k-forecast"></i>forecast <i class="k-band"></i>interval <i class="k-observed"></i>observed · last 7 days';
    panel.replaceChildren(head, forecastFacts(f), reading, mae, drawChart(history), legend);
  } catch (err) {
    panel.replaceChildren(el("h2", {}, "Sensor"), el("p", { class: "error" }, `Error: ${err.message}`));
  }
}

// A reading fetched later than /sensors may change the sensor's traffic state: recolour it.
function refreshDot(id, reading) {
  const s = state.sensors.get(id);
  if (!s || !reading) return;
  s.traffic_state = reading.traffic_state;
  const dot = $("map").querySelector(`circle[data-id="${CSS.escape(id)}"]`);
  if (dot) dot.setAttribute("class", dotClass(s));
}

function prependCapped(list, item, cap) {
  const hint = list.querySelector(".hint");
  if (hint) hint.remove();
  list.prepend(item);
  while (list.children.length > cap) list.lastChild.remove();
}

// One row per alert id: a later phase of the same event (drift → switched) updates its row.
function addAlert(alert) {
  const list = $("alerts");
  const id = alert.id || "";
  const old = id ? list.querySelector(`li[data-id="${CSS.escape(id)}"]`) : null;
  const text = alert.message || `${alert.sensor_id || ""} ${alert.kind || JSON.stringify(alert)}`;
  const phase = alert.phase ? ` [${alert.phase}]` : "";
  const li = el("li", { "data-id": id, class: `alert ${alert.severity || ""}` },
    `${when(alert.ts)} ${text}${phase}${alert.acknowledged ? " ✓" : ""}`);
  if (id && state.role === "admin" && !alert.acknowledged) {
    const ack = el("button", { type: "button", class: "ack" }, "ack");
    ack.addEventListener("click", async () => {
      try { addAlert(await api(`/alerts/${encodeURIComponent(id)}/ack`, { method: "POST" })); }
      catch (err) { ack.textContent = err.message; }
    });
    li.append(" ", ack);
  }
  if (old) old.replaceWith(li); else prependCapped(list, li, 100);
}

// Anomaly flags of the latest readings, and the alerts already stored, at sign-in.
async function loadAlerts() {
  try {
    for (const alert of (await api("/alerts?limit=50")).reverse()) addAlert(alert);
    for (const flag of await api("/alerts/anomalies")) {
      const s = state.sensors.get(flag.sensor_id);
      if (s) s.anomaly = flag.kinds.join(", ");
    }
  } catch (err) { /* alerts are optional on the dashboard */ }
}

function addUpdate(f) {
  const li = el("li");
  li.append(el("span", { class: "time" }, new Date().toLocaleTimeString()));
  const who = el("a", { href: "#" }, `${label(state.sensors.get(f.sensor_id)) || "sensor"} (${f.sensor_id})`);
  who.addEventListener("click", (event) => { event.preventDefault(); select(f.sensor_id); });
  li.append(who, document.createTextNode(` → ${veh(f.flow)} at ${when(f.ts)}`));
  prependCapped($("updates"), li, 50);
}

function onForecast(f) {
  state.forecasts.set(f.sensor_id, f);
  const s = state.sensors.get(f.sensor_id);
  if (s) s.maxFlow = Math.max(s.maxFlow || 0, f.flow_high);
  const dot = $("map").querySelector(`circle[data-id="${CSS.escape(f.sensor_id)}"]`);
  if (dot && s) {
    dot.setAttribute("class", `${dotClass(s)} flash`);
    dot.parentNode.append(dot); // on top
  }
  addUpdate(f);
  updateCounts();
  if (f.sensor_id === state.selected) {
    const facts = $("forecast");
    if (facts) facts.replaceWith(forecastFacts(f));
    select(f.sensor_id); // refresh reading, error and chart
  }
}

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  setConn("wait", "connecting…");
  // the token goes in the first message, never in the URL (URLs end up in logs)
  const ws = new WebSocket(`${proto}://${location.host}/ws/forecasts?auth=message`);
  state.ws = ws;
  ws.onopen = () => {
    ws.send(JSON.stringify({ type: "auth", token: state.token }));
    setConn("on", "live"); state.retry = 1000;
  };
  ws.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    // several queued pushes may arrive as one {"type": "batch", "messages": [...]} frame
    for (const msg of frame.type === "batch" ? frame.messages : [frame]) {
      if (msg.type === "snapshot") {
        for (const f of msg.forecasts) {
          state.forecasts.set(f.sensor_id, f);
          const s = state.sensors.get(f.sensor_id);
          if (s) s.maxFlow = Math.max(s.maxFlow || 0, f.flow_high);
        }
        drawMap();
      } else if (msg.type === "forecast") onForecast(msg.data);
      else if (msg.type === "alert") addAlert(msg.data);
    }
  };
  ws.onclose = (event) => {
    if (!state.token) return;
    if (event.code === 4401) { logout(); return; } // token expired or revoked: sign in again
    setConn("off", `offline (${event.reason || event.code}), retrying`);
    setTimeout(connect, state.retry);
    state.retry = Math.min(state.retry * 2, 30000);
  };
}

async function start() {
  $("login").hidden = true; $("app").hidden = false; $("logout").hidden = false;
  try {
    const sensors = await api("/sensors");
    state.sensors = new Map(sensors.map((s) => [s.sensor_id, s]));
    drawMap();
    connect();
    loadAlerts();
  } catch (err) { $("login-error").textContent = err.message; }
}

$("login").addEventListener("submit", login);
$("logout").addEventListener("click", logout);
if (state.token) start();
