// 我的上报: what I reported and where it stands; reports still on the phone first. A row opens the
// case (/m/task: its timeline and photos, read-only for the reporter).
(function () {
  "use strict";
  const $ = UI.$, el = UI.el, t = UI.t;

  function renderLocal(items) {
    const mine = items.filter(function (i) { return i.kind === "report" && i.state !== "sent"; });
    $("mine-local-card").hidden = !mine.length;
    const list = $("mine-local");
    list.replaceChildren();
    mine.forEach(function (i) {
      const li = el("li");
      const chip = el("span", "m-chip", UI.outboxState(i.state));
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
      $("mine-stale").textContent = answer.stale ? t("Offline: the list saved at %(time)s", { time: UI.formatTime(answer.at) }) : "";
      if (!answer.data.results.length) list.append(el("li", "m-muted", t("No reports yet")));
      answer.data.results.forEach(function (c) {
        const li = el("li");
        const link = el("a", "m-item");
        link.href = UI.urls.task + "?id=" + c.id;
        link.dataset.caseId = String(c.id);
        const main = el("div", "m-item-main");
        const chip = el("span", "m-chip", UI.statusLabel(c.status));
        chip.dataset.status = c.status;
        main.append(el("div", "m-item-title", c.category.name + " · " + c.number),
                    el("div", "m-item-sub", (c.grid ? c.grid.name : t("Outside grid")) + " · " + UI.formatTime(c.reported_at) +
                       (c.description ? " · " + c.description : "")));
        link.append(main, chip);
        li.append(link);
        list.append(li);
      });
    } catch (e) {
      list.replaceChildren(el("li", "m-muted", t("Offline, and no list is saved on the phone")));
    }
  });
})();
