// 同步队列: everything this phone has to send, with its state — waiting, sending, sent (with the
// case number) or rejected (with the server's words).
(function () {
  "use strict";
  const $ = UI.$, el = UI.el;
  const STATE_NAMES = { waiting: "等待发送", sending: "发送中", sent: "已发送", rejected: "被拒绝" };

  function render(items) {
    const waiting = GC.unsynced(items).length;
    const rejected = items.filter(function (i) { return i.state === "rejected"; }).length;
    $("queue-summary").textContent = items.length
      ? waiting + " 条未同步" + (rejected ? "，" + rejected + " 条被拒绝" : "") + "，共 " + items.length + " 条记录"
      : "本机没有待发送的记录";
    $("queue-summary").dataset.waiting = String(waiting);
    const list = $("queue-list");
    list.replaceChildren();
    items.forEach(function (item) {
      const li = el("li", "m-card");
      li.dataset.id = item.id;
      li.dataset.state = item.state;
      const chip = el("span", "m-chip", STATE_NAMES[item.state] || item.state);
      chip.dataset.state = item.state;
      const head = el("div", "m-item");
      const main = el("div", "m-item-main");
      main.append(el("div", "m-item-title", (item.kind === "report" ? "上报：" : "") + item.title),
                  el("div", "m-item-sub", "创建 " + UI.formatTime(item.createdAt) + (item.photos && item.photos.length ? " · " + item.photos.length + " 张照片" : "") +
                     (item.attempts ? " · 已尝试 " + item.attempts + " 次" : "")));
      head.append(main, chip);
      li.append(head);
      if (item.state === "sent" && item.result && item.result.number) {
        li.append(el("p", "m-case-number", "案卷号 " + item.result.number));
      }
      if (item.message) li.append(el("p", item.state === "rejected" ? "m-error" : "m-item-sub", item.message));
      if (item.state === "rejected" || item.state === "sent") {
        const row = el("div", "m-row m-row-end");
        const remove = el("button", "m-button m-quiet", item.state === "sent" ? "从列表移除" : "删除这条");
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
    if (result && result.offline) UI.toast("离线：联网后会自动发送");
  });
})();
