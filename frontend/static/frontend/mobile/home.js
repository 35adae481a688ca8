// Home: my tasks, unsynced reports, unread alerts, today's patrol; install; sign out.
(function () {
  "use strict";
  const $ = UI.$, t = UI.t;

  UI.me().then(async function (me) {
    $("home-user").textContent = me
      ? t("Hello, %(name)s", { name: me.first_name || me.last_name ? (me.last_name + me.first_name) : me.username }) +
        (me.grids && me.grids.length ? " · " + t("%(count)s grids in your charge", { count: me.grids.length }) : "") +
        (UI.isUnit(me) && me.organisation ? " · " + me.organisation.name : "")
      : t("Not signed in or offline: some information is not available");
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
    $("home-patrol").textContent = UI.patrol.active() ? t("Patrolling") : t("Not patrolling");
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
      ? t("The phone's storage is persistent: the browser will not clear unsynced reports.")
      : t("Tip: install the app on the home screen so the browser does not clear unsynced reports.");
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
    if (waiting && !window.confirm(t("%(count)s records are not synced yet: they stay on the phone and are sent when the same account signs in. Sign out?", { count: waiting }))) return;
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
      UI.toast(t("You cannot sign out while offline"));
    }
  });
})();
