// 我的任务: verify tasks (verifying) and check tasks (checking) in my grids, with the distance and
// direction from where I stand.
(function () {
  "use strict";
  const $ = UI.$, el = UI.el, t = UI.t;
  let tasks = null;

  function row(c) {
    const li = el("li");
    const link = el("a", "m-item");
    link.href = UI.urls.task + "?id=" + c.id;
    link.dataset.caseId = String(c.id);
    const main = el("div", "m-item-main");
    main.append(el("div", "m-item-title", c.category.name + " · " + c.number + (tasks.me && c.assignee === tasks.me ? " · " + t("Assigned to me") : "")),
                el("div", "m-item-sub", (c.grid ? c.grid.name : t("Outside grid")) + (c.description ? " · " + c.description : "")),
                el("div", "m-item-sub", t("Reported %(time)s", { time: UI.formatTime(c.reported_at) })));
    const side = el("div", "m-item-side");
    const where = UI.directionTo(UI.lastPosition(), c.lon, c.lat);
    if (where) side.append(UI.arrow(where.bearing), el("div", "m-small", where.text));
    else side.append(el("div", "m-small m-muted", c.lon === null ? t("No coordinates") : "—"));
    link.append(main, side);
    li.append(link);
    return li;
  }

  function render() {
    if (!tasks) return;
    const lists = tasks.unit ? [["handle", tasks.handle], ["fedback", tasks.fedback]]
      : [["verify", tasks.verify], ["check", tasks.check]];
    lists.forEach(function (pair) {
      const list = $(pair[0] + "-list");
      list.replaceChildren();
      $(pair[0] + "-count").textContent = String(pair[1].length);
      if (!pair[1].length) list.append(el("li", "m-muted", t("No tasks")));
      const here = UI.lastPosition();
      const myId = tasks.me || 0;
      const sorted = pair[1].slice().sort(function (a, b) {
        const mine = (b.assignee === myId) - (a.assignee === myId); // assigned to me first (二级派遣)
        if (mine) return mine;
        const da = UI.directionTo(here, a.lon, a.lat), db = UI.directionTo(here, b.lon, b.lat);
        return (da ? da.distance : 1e9) - (db ? db.distance : 1e9);
      });
      sorted.forEach(function (c) { list.append(row(c)); });
    });
    const stale = $("tasks-stale");
    stale.hidden = !tasks.stale;
    stale.textContent = tasks.stale ? t("Offline: the tasks saved at %(time)s", { time: UI.formatTime(tasks.at) }) : "";
  }

  UI.loadTasks().then(async function (loaded) {
    const me = await UI.me();
    tasks = loaded;
    tasks.me = me ? me.id : 0;
    render();
  }).catch(function () {
    ["verify", "check", "handle", "fedback"].forEach(function (k) { $(k + "-list").replaceChildren(el("li", "m-muted", t("Offline, and no tasks are saved on the phone"))); });
  });

  let lastRender = 0;
  UI.watchPosition(function (position, error) {
    const line = $("tasks-position");
    if (position) {
      line.textContent = t("My position: accuracy ±%(n)s m", { n: Math.round(position.coords.accuracy) });
      line.dataset.state = "good";
      if (Date.now() - lastRender > 5000) { lastRender = Date.now(); render(); }
    } else if (error) {
      line.textContent = UI.positionProblem(error);
      line.dataset.state = "error";
    }
  });
})();
