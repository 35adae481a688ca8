// 巡查: start and stop the day's patrol; a position every N seconds (ui.js records them on every
// page while the patrol is on), stored on the phone and sent in batches; today's grid coverage.
(function () {
  "use strict";
  const $ = UI.$, el = UI.el;
  $("patrol-interval").textContent = String(UI.config.patrolIntervalSeconds);
  let me = null;

  async function renderState() {
    const active = UI.patrol.active();
    const state = UI.patrol.state();
    $("patrol-state").dataset.active = String(active);
    $("patrol-state").textContent = active ? "巡查中" : "未在巡查";
    const button = $("patrol-toggle");
    button.textContent = active ? "结束巡查" : "开始巡查";
    button.classList.toggle("m-danger", active);
    button.classList.toggle("m-primary", !active);
    button.disabled = !me;
    $("patrol-since").textContent = active && state.since ? UI.formatTime(state.since) : "—";
    $("patrol-recorded").textContent = (localStorage.getItem("gc.patrol.count." + UI.today()) || "0") + " 个点";
    const waiting = (await GC.db.all("points")).filter(function (p) { return me && p.owner === me.id; }).length;
    $("patrol-waiting").textContent = waiting + " 个点";
    $("patrol-waiting").dataset.count = String(waiting);
    const fix = UI.lastPosition();
    $("patrol-fix").textContent = UI.patrol.skipped || (fix ? "精度 ±" + Math.round(fix.coords.accuracy) + " 米 · " + UI.formatTime(new Date(fix.timestamp).toISOString()) : "—");
  }

  async function renderCoverage() {
    if (!me) return;
    const list = $("coverage-list");
    try {
      const answer = await GC.getJson(UI.urls.coverage + "?day=" + UI.today(), { owner: me.id });
      const body = answer.data;
      const mine = body.officers.find(function (o) { return o.officer.id === me.id; });
      $("coverage-rate").textContent = !mine || mine.coverage === null ? "—" : Math.round(mine.coverage * 100) + "%";
      $("coverage-note").textContent = (answer.stale ? "离线副本（" + UI.formatTime(answer.at) + "）。" : "") +
        (mine ? "已巡查 " + mine.patrolled + " / " + mine.assigned + " 个网格，今日服务器已收到 " + mine.points + " 个点。" : "你还没有分配网格。");
      list.replaceChildren();
      const patrolled = new Set(mine ? mine.patrolled_grids : []);
      body.grids.forEach(function (g) {
        const li = el("li");
        const row = el("div", "m-item");
        const main = el("div", "m-item-main");
        main.append(el("div", "m-item-title", g.name), el("div", "m-item-sub m-mono", g.code));
        const side = el("div", "m-item-side", patrolled.has(g.code) ? "✓ 已巡查" : "✗ 未巡查");
        side.dataset.patrolled = String(patrolled.has(g.code));
        row.append(main, side);
        li.append(row);
        list.append(li);
      });
      if (!body.grids.length) list.append(el("li", "m-muted", "没有分配的网格"));
    } catch (e) {
      list.replaceChildren(el("li", "m-muted", "离线，且本机没有保存的覆盖情况"));
    }
  }

  $("patrol-toggle").addEventListener("click", function () {
    if (UI.patrol.active()) UI.patrol.stop(); else UI.patrol.start();
    renderState();
  });

  document.addEventListener("gc:patrol", renderState);
  document.addEventListener("gc:points", function () { renderState(); renderCoverage(); });
  UI.watchPosition(function (position, error) {
    if (error && !position) $("patrol-fix").textContent = UI.positionProblem(error);
    else renderState();
  });

  UI.me().then(function (person) {
    me = person;
    renderState();
    renderCoverage();
  });
  setInterval(renderCoverage, 60000);
})();
