// 巡查: start and stop the day's patrol; a position every N seconds (ui.js records them on every
// page while the patrol is on), stored on the phone and sent in batches; today's grid coverage.
(function () {
  "use strict";
  const $ = UI.$, el = UI.el, t = UI.t;
  $("patrol-interval").textContent = String(UI.config.patrolIntervalSeconds);
  let me = null;

  async function renderState() {
    const active = UI.patrol.active();
    const state = UI.patrol.state();
    $("patrol-state").dataset.active = String(active);
    $("patrol-state").textContent = active ? t("Patrolling") : t("Not patrolling");
    const button = $("patrol-toggle");
    button.textContent = active ? t("End patrol") : t("Start patrol");
    button.classList.toggle("m-danger", active);
    button.classList.toggle("m-primary", !active);
    button.disabled = !me;
    $("patrol-since").textContent = active && state.since ? UI.formatTime(state.since) : "—";
    $("patrol-recorded").textContent = t("%(n)s points", { n: localStorage.getItem("gc.patrol.count." + UI.today()) || "0" });
    const waiting = (await GC.db.all("points")).filter(function (p) { return me && p.owner === me.id; }).length;
    $("patrol-waiting").textContent = t("%(n)s points", { n: waiting });
    $("patrol-waiting").dataset.count = String(waiting);
    const fix = UI.lastPosition();
    $("patrol-fix").textContent = UI.patrol.skipped || (fix ? t("accuracy ±%(n)s m", { n: Math.round(fix.coords.accuracy) }) + " · " + UI.formatTime(new Date(fix.timestamp).toISOString()) : "—");
  }

  async function renderCoverage() {
    if (!me) return;
    const list = $("coverage-list");
    try {
      const answer = await GC.getJson(UI.urls.coverage + "?day=" + UI.today(), { owner: me.id });
      const body = answer.data;
      const mine = body.officers.find(function (o) { return o.officer.id === me.id; });
      $("coverage-rate").textContent = !mine || mine.coverage === null ? "—" : Math.round(mine.coverage * 100) + "%";
      $("coverage-note").textContent = (answer.stale ? t("Offline copy (%(time)s). ", { time: UI.formatTime(answer.at) }) : "") +
        (mine ? t("%(done)s of %(assigned)s grids patrolled; the server has %(points)s points of today.", { done: mine.patrolled, assigned: mine.assigned, points: mine.points })
          : t("No grids are assigned to you yet."));
      list.replaceChildren();
      const patrolled = new Set(mine ? mine.patrolled_grids : []);
      body.grids.forEach(function (g) {
        const li = el("li");
        const row = el("div", "m-item");
        const main = el("div", "m-item-main");
        main.append(el("div", "m-item-title", g.name), el("div", "m-item-sub m-mono", g.code));
        const side = el("div", "m-item-side", patrolled.has(g.code) ? "✓ " + t("Patrolled") : "✗ " + t("Not patrolled"));
        side.dataset.patrolled = String(patrolled.has(g.code));
        row.append(main, side);
        li.append(row);
        list.append(li);
      });
      if (!body.grids.length) list.append(el("li", "m-muted", t("No grids assigned")));
    } catch (e) {
      list.replaceChildren(el("li", "m-muted", t("Offline, and no coverage is saved on the phone")));
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
