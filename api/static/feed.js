// Live-feed freshness line ("newest data hour … · last poll …"), kept apart from app.js on
// purpose: it reads GET /feed with the signed-in token and hides itself when no live feed
// reports (a stack replaying files). Refreshed every minute.
"use strict";
(() => {
  const line = document.getElementById("feed-line");
  const LATE_MS = 3 * 3600 * 1000; // an hour's data is due after it ends: late past 2 h more
  const format = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Europe/Paris", weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
  const when = (ts) => (ts ? format.format(new Date(ts)) : "—");

  function show(feed) {
    const failing = feed.last_error && (!feed.last_success || feed.last_error.at > feed.last_success);
    line.textContent = `newest data hour ${when(feed.newest_data_hour)} · last poll ${when(feed.last_success)}`
      + (failing ? ` · failing: ${feed.last_error.reason}` : "");
    const late = !feed.newest_data_hour || Date.now() - Date.parse(feed.newest_data_hour) > LATE_MS;
    line.classList.toggle("late", late || Boolean(failing));
    line.hidden = false;
  }

  async function refresh() {
    const token = sessionStorage.getItem("flowcast-token");
    if (!token) { line.hidden = true; return; }
    try {
      const response = await fetch("/feed", { headers: { Authorization: `Bearer ${token}` } });
      if (response.ok) show(await response.json()); else line.hidden = true;
    } catch (err) { line.hidden = true; }
  }

  refresh();
  setInterval(refresh, 60000);
  // signing in shows #app: refresh then rather than a minute later
  new MutationObserver(() => { if (!document.getElementById("app").hidden) refresh(); })
    .observe(document.getElementById("app"), { attributes: true, attributeFilter: ["hidden"] });
})();
