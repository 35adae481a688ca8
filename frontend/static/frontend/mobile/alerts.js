// 消息: my alerts (newest first), live over the WebSocket; tap to open, or mark all read.
(function () {
  "use strict";
  const $ = UI.$, el = UI.el, t = UI.t;
  // Alerts that call for work on the case: an officer's tasks, a unit's dispatch, rework and assignment.
  const TASK_TYPES = new Set(["verify_task", "check_task", "dispatched", "rework", "assigned"]);

  // The list is drawn again only when what it shows changed: a list redrawn under a finger (the
  // catch-up after the first drawing, a live push of nothing new) loses the tap.
  let drawn = null;

  function render() {
    const list = $("alerts-list");
    const rows = UI.alerts.list.slice().sort(function (a, b) { return b.seq - a.seq; });
    const shown = JSON.stringify(rows.map(function (a) { return [a.seq, a.read, a.case && a.case.status]; }));
    $("alerts-live").textContent = UI.alerts.live === "live" ? t("Live updates connected") : t("Live updates not connected: checking for new messages every minute");
    if (shown === drawn) return;
    drawn = shown;
    list.replaceChildren();
    if (!rows.length) list.append(el("li", "m-muted", t("No messages")));
    rows.forEach(function (a) {
      const li = el("li", a.read ? null : "m-unread");
      // A case's alert opens the case; a report's opens the report (reports/).
      const href = a.case ? UI.urls.task + "?id=" + a.case.id : a.report && a.report.url ? a.report.url : "";
      const link = el(href ? "a" : "div", "m-item");
      if (href) link.href = href;
      link.dataset.seq = String(a.seq);
      const main = el("div", "m-item-main");
      main.append(el("div", "m-item-title", UI.alertTitle(a) + (a.case ? " · " + a.case.category : "")),
                  el("div", "m-item-sub", (a.case ? a.case.number + " · " + UI.statusLabel(a.case.status) + " · " : "") + UI.formatTime(a.at)));
      link.append(main);
      if (TASK_TYPES.has(a.type)) link.append(el("span", "m-chip", t("Go handle")));
      if (a.report && a.report.url) link.append(el("span", "m-chip", t("Read")));
      link.addEventListener("click", function () { if (!a.read) UI.markAlertsRead(null, a.seq).catch(function () {}); });
      li.append(link);
      list.append(li);
    });
  }
  document.addEventListener("gc:alerts", render);

  $("alerts-read-all").addEventListener("click", async function () {
    if (!UI.alerts.lastSeq) return;
    try {
      await UI.markAlertsRead(UI.alerts.lastSeq);
      UI.toast(t("All marked read"));
    } catch (e) {
      UI.toast(t("Offline: try again later"));
    }
  });

  UI.me().then(function (me) {
    if (!me) { $("alerts-list").replaceChildren(el("li", "m-muted", t("Offline, and no messages are saved on the phone"))); return; }
    render();
    UI.catchUpAlerts().catch(function () {}).finally(render);
  });
})();
