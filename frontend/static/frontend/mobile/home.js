// Home: my tasks, unsynced reports, unread alerts, today's patrol; install; sign out.
(function () {
  "use strict";
  const $ = UI.$;

  UI.me().then(async function (me) {
    $("home-user").textContent = me
      ? (me.first_name || me.last_name ? (me.last_name + me.first_name) : me.username) + "，你好" +
        (me.grids && me.grids.length ? " · 负责 " + me.grids.length + " 个网格" : "") +
        (UI.isUnit(me) && me.organisation ? " · " + me.organisation.name : "")
      : "未登录或离线：部分信息暂不可用";
    if (!me) return;
    UI.loadTasks().then(function (tasks) {
      const count = String(tasks.unit ? tasks.handle.length : tasks.verify.length + tasks.check.length);
      $("home-tasks").textContent = count;
      $("home-handle").textContent = count;
    }).catch(function () {
      $("home-tasks").textContent = localStorage.getItem("gc.tasks") || "–";
    });
    if (UI.isUnit(me)) return; // no patrol coverage for a handling unit
    try {
      const answer = await GC.getJson(UI.urls.coverage + "?day=" + UI.today(), { owner: me.id });
      const rate = answer.data.coverage;
      $("home-coverage").textContent = rate === null ? "—" : Math.round(rate * 100) + "%";
    } catch (e) { /* offline without a saved copy */ }
    renderPatrol();
  });

  function renderPatrol() {
    $("home-patrol").textContent = UI.patrol.active() ? "巡查中" : "未在巡查";
  }
  document.addEventListener("gc:patrol", renderPatrol);

  document.addEventListener("gc:outbox", function (event) {
    $("home-unsynced").textContent = String(event.detail.waiting);
  });
  function renderAlerts() { $("home-alerts").textContent = String(UI.alerts.unread); }
  document.addEventListener("gc:alerts", renderAlerts);
  renderAlerts();

  UI.persisted.then(function (yes) {
    $("storage-note").textContent = yes
      ? "本机存储已设为持久保存：未同步的上报不会被浏览器清理。"
      : "提示：安装到桌面可避免浏览器清理本机保存的未同步上报。";
  });

  // Installing: Chromium offers a prompt; iOS Safari needs Share → 添加到主屏幕 (docs/mobile.md).
  let prompt = null;
  window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault();
    prompt = event;
    $("install-card").hidden = false;
  });
  $("install-button").addEventListener("click", async function () {
    if (!prompt) return;
    prompt.prompt();
    await prompt.userChoice;
    prompt = null;
    $("install-card").hidden = true;
  });

  // Sign out by POST with a fresh token; unsent items stay on the phone for their owner.
  $("logout-button").addEventListener("click", async function () {
    const waiting = GC.unsynced(await GC.outbox()).length;
    if (waiting && !window.confirm(waiting + " 条记录尚未同步，将保留在本机，用同一账号登录后自动发送。确定退出？")) return;
    if (UI.patrol.active()) UI.patrol.stop();
    try {
      const current = await GC.session();
      // What was read for this person goes; what they made (outbox, track points) stays theirs.
      await GC.db.clear("cache");
      UI.forget();
      const form = document.createElement("form");
      form.method = "post";
      form.action = UI.urls.logout;
      [["csrfmiddlewaretoken", current.csrf_token], ["next", UI.urls.login + "?next=" + UI.urls.home]].forEach(function (pair) {
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = pair[0];
        input.value = pair[1];
        form.append(input);
      });
      document.body.append(form);
      form.submit();
    } catch (e) {
      UI.toast("离线时不能退出登录");
    }
  });
})();
