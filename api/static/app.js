// Flowcast dashboard: plain JS, no external assets. Token kept in sessionStorage.
"use strict";
const $ = (id) => document.getElementById(id);
const NS = "http://www.w3.org/2000/svg";
const state = { token: sessionStorage.getItem("flowcast-token"), sensors: new Map(), forecasts: new Map(), selected: null, ws: null, retry: 1000 };

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${state.token}` }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) { logout(); throw new Error("signed out"); }
  if (!response.ok) throw new Error((await response.json()).detail || response.statusText);
  return response.json();
}

async function login(event) {
  event.preventDefault();
  const response = await fetch("/auth/token", { method: "POST", body: new URLSearchParams(new FormData(event.target)) });
  const body = await response.json();
  if (!response.ok) { $("login-error").textContent = body.detail; return; }
  state.token = body.access_token;
  sessionStorage.setItem("flowcast-token", state.token);
  start();
}

function logout() {
  sessionStorage.removeItem("flowcast-token");
  state.token = null;
  if (state.ws) { state.ws.onclose = null; state.ws.close(); }
  $("app").hidden = true; $("logout").hidden = true; $("login").hidden = false;
  setConn("off", "offline");
}

function setConn(cls, text) { const el = $("conn"); el.className = `conn ${cls}`; el.textContent = text; }

// Traffic state: the last reading's, else forecast flow against the sensor's largest flow seen.
function trafficState(sensor) {
  if (sensor.traffic_state && sensor.traffic_state !== "unknown") return sensor.traffic_state;
  const f = state.forecasts.get(sensor.sensor_id);
  if (!f || !sensor.maxFlow) return "unknown";
  const ratio = f.flow / sensor.maxFlow;
  return ratio < 0.5 ? "fluid" : ratio < 0.75 ? "pre_saturated" : ratio < 0.9 ? "saturated" : "blocked";
}

function drawMap() {
  const svg = $("map");
  svg.replaceChildren();
  const placed = [...state.sensors.values()].filter((s) => s.lat !== null && s.lon !== null);
  if (!placed.length) return;
  const lats = placed.map((s) => s.lat), lons = placed.map((s) => s.lon);
  const [minLat, maxLat, minLon, maxLon] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const kx = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);
  const scale = Math.min(960 / (((maxLon - minLon) * kx) || 1e-3), 660 / ((maxLat - minLat) || 1e-3));
  for (const s of placed) {
    const c = document.createElementNS(NS, "circle");
    c.setAttribute("cx", 20 + (s.lon - minLon) * kx * scale);
    c.setAttribute("cy", 680 - (s.lat - minLat) * scale);
    c.setAttribute("r", state.forecasts.has(s.sensor_id) ? 6 : 3);
    c.setAttribute("class", trafficState(s) + (s.sensor_id === state.selected ? " selected" : ""));
    c.dataset.id = s.sensor_id;
    const title = document.createElementNS(NS, "title");
    title.textContent = `${s.name || s.sensor_id} (${s.sensor_id})`;
    c.append(title);
    c.addEventListener("click", () => select(s.sensor_id));
    svg.append(c);
  }
}

function polyline(points, cls) {
  const p = document.createElementNS(NS, "polyline");
  p.setAttribute("points", points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "));
  p.setAttribute("class", cls);
  return p;
}

function drawChart(history) {
  const svg = document.createElementNS(NS, "svg");
  svg.id = "chart"; svg.setAttribute("viewBox", "0 0 600 180"); svg.setAttribute("preserveAspectRatio", "none");
  const pts = history.points;
  if (!pts.length) return svg;
  const values = pts.flatMap((p) => [p.observed, p.forecast && p.forecast.flow_high]).filter((v) => v !== null && v !== undefined);
  const top = Math.max(1, ...values);
  const x = (i) => (i / Math.max(1, pts.length - 1)) * 600, y = (v) => 175 - (v / top) * 170;
  const fc = pts.map((p, i) => [i, p.forecast]).filter(([, f]) => f);
  const band = fc.map(([i, f]) => [x(i), y(f.flow_high)]).concat(fc.slice().reverse().map(([i, f]) => [x(i), y(f.flow_low)]));
  svg.append(polyline(band, "band"));
  svg.append(polyline(fc.map(([i, f]) => [x(i), y(f.flow)]), "forecast"));
  svg.append(polyline(pts.map((p, i) => [i, p.observed]).filter(([, v]) => v !== null).map(([i, v]) => [x(i), y(v)]), "observed"));
  return svg;
}

async function select(id) {
  state.selected = id;
  drawMap();
  const panel = $("panel");
  try {
    const [sensor, history] = await Promise.all([api(`/sensors/${encodeURIComponent(id)}`), api(`/forecasts/${encodeURIComponent(id)}/history?hours=168`)]);
    const f = sensor.forecast, r = sensor.last_reading;
    const info = document.createElement("div");
    const line = (text) => { const p = document.createElement("p"); p.textContent = text; info.append(p); };
    line(`${sensor.name || "?"} — id ${sensor.sensor_id}`);
    line(f ? `Forecast ${f.ts}: ${f.flow.toFixed(0)} veh/h (${f.flow_low.toFixed(0)}–${f.flow_high.toFixed(0)}), model ${f.model}` : "No forecast yet");
    line(r ? `Last reading ${r.ts}: ${r.flow ?? "—"} veh/h, ${r.traffic_state}` : "No reading yet");
    line(history.mae === null ? "Live error: not scored yet" : `Live MAE over ${history.n} h: ${history.mae.toFixed(1)} veh/h`);
    const h2 = document.createElement("h2"); h2.textContent = "Sensor";
    const legend = document.createElement("p"); legend.textContent = "blue: forecast (band: interval) · black: observed, last 7 days";
    panel.replaceChildren(h2, info, drawChart(history), legend);
  } catch (err) { panel.querySelector("p").textContent = `Error: ${err.message}`; }
}

function addAlert(alert) {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()} ${alert.sensor_id || ""} ${alert.kind || alert.message || JSON.stringify(alert)}`;
  $("alerts").prepend(li);
  while ($("alerts").children.length > 100) $("alerts").lastChild.remove();
}

function onForecast(f) {
  state.forecasts.set(f.sensor_id, f);
  const s = state.sensors.get(f.sensor_id);
  if (s) s.maxFlow = Math.max(s.maxFlow || 0, f.flow_high);
  const dot = $("map").querySelector(`circle[data-id="${CSS.escape(f.sensor_id)}"]`);
  if (dot && s) { dot.setAttribute("class", `${trafficState(s)} flash${f.sensor_id === state.selected ? " selected" : ""}`); dot.setAttribute("r", 6); }
  if (f.sensor_id === state.selected) select(f.sensor_id);
}

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  setConn("wait", "connecting…");
  const ws = new WebSocket(`${proto}://${location.host}/ws/forecasts?token=${encodeURIComponent(state.token)}`);
  state.ws = ws;
  ws.onopen = () => { setConn("on", "live"); state.retry = 1000; };
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "snapshot") { msg.forecasts.forEach((f) => state.forecasts.set(f.sensor_id, f)); drawMap(); }
    else if (msg.type === "forecast") onForecast(msg.data);
    else if (msg.type === "alert") addAlert(msg.data);
  };
  ws.onclose = (event) => {
    if (!state.token) return;
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
  } catch (err) { $("login-error").textContent = err.message; }
}

$("login").addEventListener("submit", login);
$("logout").addEventListener("click", logout);
if (state.token) start();
