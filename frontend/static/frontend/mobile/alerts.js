// 消息: my alerts (newest first), live over the WebSocket; tap to open, or mark all read.
(function () {
  "use strict";
  const $ = UI.$, el = UI.el;
  // Alerts that call for work on the case: an officer's tasks, a unit's dispatch, rework and assignment.
  const TASK_TYPES = new Set(["verify_task", "check_task", "dispatched", "rework", "assigned"]);

  function render() {
    const list = $("alerts-list");
    list.replaceChildren();
    const rows = UI.alerts.list.slice().sort(function (a, b) { return b.seq - a.seq; });
    if (!rows.length) list.append(el("li", "m-muted", "暂无消息"));
    rows.forEach(function (a) {
      const li = el("li", a.read ? null : "m-unread");
      const link = el(a.case ? "a" : "div", "m-item");
      if (a.case) link.href = "/m/task?id=" + a.case.id;
      link.dataset.seq = String(a.seq);
      const main = el("div", "m-item-main");
      main.append(el("div", "m-item-title", UI.alertTitle(a) + (a.case ? " · " + a.case.category : "")),
                  el("div", "m-item-sub", (a.case ? a.case.number + " · " + (UI.STATUS[a.case.status] || a.case.status) + " · " : "") + UI.formatTime(a.at)));
      link.append(main);
      if (TASK_TYPES.has(a.type)) link.append(el("span", "m-chip", "去办理"));
      link.addEventListener("click", function () { if (!a.read) UI.markAlertsRead(null, a.seq).catch(function () {}); });
      li.append(link);
      list.append(li);
    });
    $("alerts-live").textContent = UI.alerts.live === "live" ? "实时推送已连接" : "实时推送未连接：每分钟检查一次新消息";
  }
  document.addEventListener("gc:alerts", render);

  $("alerts-read-all").addEventListener("click", async function () {
    if (!UI.alerts.lastSeq) return;
    try {
      await UI.markAlertsRead(UI.alerts.lastSeq);
      UI.toast("已全部标为已读");
    } catch (e) {
      UI.toast("离线，稍后再试");
    }
  });

  UI.me().then(function (me) {
    if (!me) { $("alerts-list").replaceChildren(el("li", "m-muted", "离线，且本机没有保存的消息")); return; }
    render();
    UI.catchUpAlerts().catch(function () {}).finally(render);
  });
})();
