// 我的上报: what I reported and where it stands; reports still on the phone first.
(function () {
  "use strict";
  const $ = UI.$, el = UI.el;

  function renderLocal(items) {
    const mine = items.filter(function (i) { return i.kind === "report" && i.state !== "sent"; });
    $("mine-local-card").hidden = !mine.length;
    const list = $("mine-local");
    list.replaceChildren();
    mine.forEach(function (i) {
      const li = el("li");
      const chip = el("span", "m-chip", i.state === "rejected" ? "被拒绝" : i.state === "sending" ? "发送中" : "待发送");
      chip.dataset.state = i.state;
      li.append(el("div", "m-item-title", i.title), chip, el("div", "m-item-sub", UI.formatTime(i.createdAt) + (i.message ? " · " + i.message : "")));
      list.append(li);
    });
  }
  document.addEventListener("gc:outbox", function (event) { renderLocal(event.detail.items); });

  UI.me().then(async function (me) {
    const list = $("mine-list");
    try {
      const answer = await GC.getJson(UI.urls.mine + "?limit=100", { owner: me ? me.id : "any" });
      list.replaceChildren();
      $("mine-stale").hidden = !answer.stale;
      $("mine-stale").textContent = answer.stale ? "离线：显示的是 " + UI.formatTime(answer.at) + " 保存的列表" : "";
      if (!answer.data.results.length) list.append(el("li", "m-muted", "还没有上报记录"));
      answer.data.results.forEach(function (c) {
        const li = el("li");
        const chip = el("span", "m-chip", UI.STATUS[c.status] || c.status_display);
        chip.dataset.status = c.status;
        li.append(el("div", "m-item-title", c.category.name + " · " + c.number), chip,
                  el("div", "m-item-sub", (c.grid ? c.grid.name : "网格外") + " · " + UI.formatTime(c.reported_at) +
                     (c.description ? " · " + c.description : "")));
        list.append(li);
      });
    } catch (e) {
      list.replaceChildren(el("li", "m-muted", "离线，且本机没有保存的列表"));
    }
  });
})();
