// 同步队列: everything this phone has to send, with its state — waiting, sending, sent (with the
// case number) or rejected (with the server's words).
(function () {
  "use strict";
  const $ = UI.$, el = UI.el, t = UI.t;

  function render(items) {
    const waiting = GC.unsynced(items).length;
    const rejected = items.filter(function (i) { return i.state === "rejected"; }).length;
    $("queue-summary").textContent = items.length
      ? t("%(waiting)s not synced, %(rejected)s rejected, %(count)s records in all", { waiting: waiting, rejected: rejected, count: items.length })
      : t("Nothing on this phone waits to be sent");
    $("queue-summary").dataset.waiting = String(waiting);
    const list = $("queue-list");
    list.replaceChildren();
    items.forEach(function (item) {
      const li = el("li", "m-card");
      li.dataset.id = item.id;
      li.dataset.state = item.state;
      const chip = el("span", "m-chip", UI.outboxState(item.state));
      chip.dataset.state = item.state;
      const head = el("div", "m-item");
      const main = el("div", "m-item-main");
      main.append(el("div", "m-item-title", (item.kind === "report" ? t("Report: ") : "") + item.title),
                  el("div", "m-item-sub", t("Made %(time)s", { time: UI.formatTime(item.createdAt) }) +
                     (item.photos && item.photos.length ? " · " + t("%(n)s photos", { n: item.photos.length }) : "") +
                     (item.attempts ? " · " + t("%(n)s attempts", { n: item.attempts }) : "")));
      head.append(main, chip);
      li.append(head);
      if (item.state === "sent" && item.result && item.result.number) {
        li.append(el("p", "m-case-number", t("Case number %(number)s", { number: item.result.number })));
      }
      if (item.message) li.append(el("p", item.state === "rejected" ? "m-error" : "m-item-sub", item.message));
      if (item.state === "rejected" || item.state === "sent") {
        const row = el("div", "m-row m-row-end");
        const remove = el("button", "m-button m-quiet", item.state === "sent" ? t("Remove from the list") : t("Delete this one"));
        remove.type = "button";
        remove.addEventListener("click", function () { GC.discard(item.id); });
        row.append(remove);
        li.append(row);
      }
      list.append(li);
    });
  }

  document.addEventListener("gc:outbox", function (event) { render(event.detail.items); });

  $("queue-send").addEventListener("click", async function () {
    const button = this;
    button.disabled = true;
    const result = await UI.sendNow(true);
    button.disabled = false;
    if (result && result.offline) UI.toast(t("Offline: sent automatically when back online"));
  });
})();
