// The supervision-centre console (docs/console.md), the page around the map (map.js): the live
// sockets, the toasts, the toolbar's filters and the alerts badge. The queues, search,
// alerts list, case panel and action forms are server-rendered partials that htmx swaps in place
// (templates/frontend/console/_*.html); this file only opens them and asks htmx to refresh.
// Words: the page (#gcc-labels, the toolbar, the legend); data: #console-config and the JSON API.
(function () {
  "use strict";

  const C = window.gridcaseConsole; // map.js: the map, the markers and the grids
  const config = JSON.parse(document.getElementById("console-config").textContent);
  const root = document.getElementById("console");
  const labels = document.getElementById("gcc-labels");
  const { state, map, t, el, getJSON, query, todayISO, addDays, renderCases, upsertCase, refreshCase, loadCounts,
    loadCases, restyleGrids, renderLegend, renderBreadcrumb, periodRange, loadMetrics, loadGrids, loadAreas, finishedChosen,
    setState, CLUSTER_BELOW_ZOOM } = C;
  const metricSelect = document.getElementById("gcc-metric");
  const periodSelect = document.getElementById("gcc-period");
  const OPEN_STATUSES = C.OPEN_STATUSES;
  // htmx swaps the server's 4xx answers too: they carry the panel with the reason (a conflict, a field).
  htmx.config.responseHandling = [
    { code: "204", swap: false }, { code: "[23]..", swap: true }, { code: "4..", swap: true, error: false },
    { code: "...", swap: false, error: true },
  ];
  htmx.config.historyCacheSize = 0;
  document.getElementById("gcc-toolbar").addEventListener("submit", (event) => event.preventDefault());

  // --- Toast: a live alert or a new case opens on a click ---------------------------------------
  const toastBox = document.getElementById("gcc-toast");
  let toastTimer = null, toastCase = null;
  function toast(message, isError, caseId) {
    toastBox.textContent = message;
    toastBox.classList.toggle("gcc-error", !!isError);
    toastBox.classList.toggle("gcc-clickable", !!caseId);
    toastCase = caseId || null;
    toastBox.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toastBox.hidden = true; }, isError || caseId ? 8000 : 4000);
  }
  toastBox.addEventListener("click", () => { if (toastCase) openCase(toastCase); toastBox.hidden = true; });
  // --- The case panel and the queues: server-rendered, swapped by htmx ------------------------------------------
  const panelUrl = (id) => config.urls.panel.replace(/\/0$/, "/" + id);
  function openCase(id) { return htmx.ajax("GET", panelUrl(id), { target: "#gcc-panel", swap: "outerHTML" }); }
  function openRef(ref) { return htmx.ajax("GET", config.urls.find + query({ ref: ref }), { target: "#gcc-panel", swap: "outerHTML" }); }
  function focusCase(id, open) {
    const row = state.cases.get(Number(id));
    if (row && row.lat !== null) map.setView([row.lat, row.lon], Math.max(map.getZoom(), CLUSTER_BELOW_ZOOM + 1));
    if (open) openCase(id);
  }
  function panelShown() {
    const panel = document.getElementById("gcc-panel");
    state.selected = panel.dataset.case ? Number(panel.dataset.case) : null;
    document.querySelectorAll(".gcc-row").forEach((li) => li.classList.toggle("gcc-selected", Number(li.dataset.case) === state.selected));
    const at = panel.dataset.lat ? [Number(panel.dataset.lat), Number(panel.dataset.lon)] : null;
    if (state.selected && at && !map.getBounds().contains(at)) map.panTo(at);
    if (state.selected) { history.replaceState(null, "", "#case=" + panel.dataset.number); refreshCase(state.selected); }
    renderCases();
    map.invalidateSize();
  }
  // A refreshed queue list keeps the queues the person opened or closed (and the selected row).
  const queuesOpen = new Map();
  document.getElementById("gcc-queues").addEventListener("toggle", (event) => {
    if (event.target.dataset.queue) queuesOpen.set(event.target.dataset.queue, event.target.open);
  }, true);
  document.body.addEventListener("htmx:afterSettle", (event) => {
    if (event.detail.target && event.detail.target.id === "gcc-queues") {
      document.querySelectorAll("#gcc-queues details[data-queue]").forEach((d) => {
        if (queuesOpen.has(d.dataset.queue)) d.open = queuesOpen.get(d.dataset.queue);
        d.querySelectorAll(".gcc-row").forEach((li) => li.classList.toggle("gcc-selected", Number(li.dataset.case) === state.selected));
      });
    }
    if (event.detail.target && event.detail.target.id === "gcc-panel") panelShown();
    if (event.detail.target && event.detail.target.id === "gcc-alerts") showUnread();
  });
  document.body.addEventListener("click", (event) => {
    const row = event.target.closest(".gcc-row[data-case]");
    if (row && !event.target.closest("a, button, select, input, label")) { openCase(row.dataset.case); return; }
    const show = event.target.closest("#gcc-panel [data-show]");
    if (show) {
      document.querySelectorAll("#gcc-panel form.gcc-form").forEach((f) => { f.hidden = f.dataset.action !== show.dataset.show; });
      return;
    }
    if (event.target.closest("#gcc-panel [data-hide]")) { event.target.closest("form").hidden = true; return; }
    if (event.target.closest("#gcc-panel [data-close]")) {
      const panel = document.getElementById("gcc-panel");
      panel.hidden = true;
      panel.replaceChildren();
      delete panel.dataset.case;
      history.replaceState(null, "", location.pathname);
      panelShown();
    }
  });

  // --- Alerts: the list is server-rendered; the badge counts what the socket brings ----------------------------
  const alertsBox = document.getElementById("gcc-alerts");
  const alertsButton = document.getElementById("gcc-alerts-button");
  const seqKey = "gridcase.console.alertSeq." + config.user.id;
  const badge = document.getElementById("gcc-alert-badge");
  let unread = 0;
  function renderBadge() { badge.textContent = String(unread); badge.hidden = unread <= 0; }
  function showUnread() {
    const inner = alertsBox.querySelector("[data-unread]");
    if (inner) { unread = Number(inner.dataset.unread); renderBadge(); }
  }
  alertsButton.addEventListener("click", () => {
    alertsBox.hidden = !alertsBox.hidden;
    alertsButton.setAttribute("aria-expanded", String(!alertsBox.hidden));
  });
  const lastSeq = () => Number(localStorage.getItem(seqKey) || 0);
  // The socket first replays what came after the last seq this browser saw, then pushes live
  // alerts: only those made since the page opened are new to the badge (its count is the server's).
  const openedAt = Date.now() - 10000, seen = new Set();
  function receiveAlert(alert) {
    if (seen.has(alert.seq)) return;
    seen.add(alert.seq);
    if (alert.seq > lastSeq()) localStorage.setItem(seqKey, String(alert.seq));
    if (new Date(alert.at).getTime() < openedAt) return;
    unread += 1;
    renderBadge();
    if (!alertsBox.hidden) htmx.ajax("GET", alertsButton.getAttribute("hx-get"), { target: "#gcc-alerts" });
    const c = alert.case;
    toast(labels.getAttribute("data-kind-" + alert.type.replace(/_/g, "")) + " · " + (c ? c.number : alert.report ? alert.report.label : ""),
      alert.type === "overdue", c && c.id);
    if (c && c.id) refreshCase(c.id);
  }
  function loadUnread() {
    return getJSON(config.urls.alerts + query({ since: Math.max(0, lastSeq() - 50), limit: 1 }))
      .then((data) => { unread = data.unread; renderBadge(); }).catch(() => {});
  }

  // --- Live: sockets ------------------------------------------------------------------------------------------------
  function socket(path, onOpen, onMessage) {
    let delay = 1000;
    function connect() {
      const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
      ws.addEventListener("open", () => { delay = 1000; root.dataset.live = (root.dataset.live || "") + path; onOpen(ws); });
      ws.addEventListener("message", (event) => { try { onMessage(JSON.parse(event.data)); } catch (e) { /* not ours */ } });
      ws.addEventListener("close", () => {
        root.dataset.live = (root.dataset.live || "").split(path).join("");
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30000);
      });
    }
    connect();
  }
  const changed = () => htmx.trigger(document.body, "console-changed");
  function onCaseChanged(message) {
    if (message.type !== "case.changed" || !message.case) return;
    const c = message.case, known = state.cases.get(c.id);
    // Shown at once from the push (the full row follows) when the map shows its status: open ones, or the finished one chosen.
    if (OPEN_STATUSES.indexOf(c.status) >= 0 || c.status === state.filters.status) {
      const row = Object.assign({}, known || {}, { id: c.id, number: c.number, status: c.status, light: c.light, lon: c.lon,
        lat: c.lat, grid: known ? known.grid : (c.grid ? { code: c.grid, name: c.grid } : null),
        category: known ? known.category : { id: null, name: c.category } });
      if (!known) state.fresh.add(c.id);
      if (!known && message.action === "report") toast(t("newCase", { number: c.number }), false, c.id);
      upsertCase(row);
    } else {
      state.cases.delete(c.id);
    }
    renderCases();
    renderBreadcrumb();
    refreshCase(c.id);
    changed();
    const panel = document.getElementById("gcc-panel");
    const editing = panel.querySelector("form.gcc-form:not([hidden]) textarea:not(:placeholder-shown)");
    if (state.selected === c.id && Number(panel.dataset.version) < c.version && !editing) openCase(c.id);
  }
  document.body.addEventListener("console-changed", () => loadCounts());

  // --- Timers: lights turn on their own; the lists are re-read every 2 min ------------------------------------------
  setInterval(() => {
    let turned = false;
    state.cases.forEach((row) => {
      if (row.status === "handling" && row.deadline && row.light !== "red" && new Date(row.deadline).getTime() < Date.now()) {
        row.light = "red";
        turned = true;
      }
    });
    if (turned) renderCases();
  }, 20000);
  setInterval(() => { loadCases(); changed(); }, 120000);

  // --- Toolbar --------------------------------------------------------------------------------------------------------
  const statusSelect = document.getElementById("gcc-status");
  const categorySelect = document.getElementById("gcc-category");
  getJSON(config.urls.categories).then((rows) => {
    const groups = new Map();
    (rows.results || rows).forEach((row) => {
      const name = row.big_class ? row.big_class.name : "";
      if (!groups.has(name)) { const group = el("optgroup"); group.label = name; groups.set(name, group); categorySelect.append(group); }
      const o = el("option", null, row.code + " " + row.name);
      o.value = row.id;
      groups.get(name).append(o);
    });
  }).catch(() => {});
  const dates = document.getElementById("gcc-dates");
  document.getElementById("gcc-start").max = todayISO();
  document.getElementById("gcc-end").max = todayISO();
  metricSelect.addEventListener("change", () => { state.metric = metricSelect.value; restyleGrids(); renderLegend(); });
  periodSelect.addEventListener("change", () => {
    state.period = periodSelect.value;
    dates.hidden = state.period !== "custom";
    if (state.period === "custom") {
      const range = periodRange();
      document.getElementById("gcc-start").value = range[0];
      document.getElementById("gcc-end").value = addDays(range[1], -1);
    }
    loadMetrics();
    if (finishedChosen()) loadCases(); // finished cases are those reported in the period
  });
  ["gcc-start", "gcc-end"].forEach((id) => document.getElementById(id).addEventListener("change", () => {
    loadMetrics();
    if (finishedChosen()) loadCases();
  }));
  function onFilter() {
    state.filters = { status: statusSelect.value, category: categorySelect.value,
      overdue: document.getElementById("gcc-overdue").checked, supervised: document.getElementById("gcc-supervised").checked };
    reloadData();
  }
  [statusSelect, categorySelect, document.getElementById("gcc-overdue"), document.getElementById("gcc-supervised")]
    .forEach((node) => node.addEventListener("change", onFilter));
  function reloadData() { loadCases(); changed(); loadCounts(); }
  map.on("moveend", loadGrids);
  map.on("zoomend", renderCases);

  // --- Start ------------------------------------------------------------------------------------------------------------
  renderLegend();
  renderBreadcrumb();
  setState();
  Promise.all([loadAreas(), loadGrids(), loadMetrics(), loadCounts(), loadCases(), loadUnread()]).then(() => {
    socket(config.urls.wsCases, () => {}, onCaseChanged);
    socket(config.urls.wsAlerts, (ws) => ws.send(JSON.stringify({ since: lastSeq() })), (message) => {
      if (typeof message.seq === "number") receiveAlert(message);
    });
  });
  Object.assign(C, { openCase: openCase, openRef: openRef, focusCase: focusCase, toast: toast, reloadData: reloadData });
  // A case by number (or id) in the address: /console/?case=<number> (rendered) or #case=<number>.
  const hash = location.hash.match(/case=(\d+)/);
  if (document.getElementById("gcc-panel").dataset.case) panelShown();
  else if (hash) openRef(hash[1]);
})();
