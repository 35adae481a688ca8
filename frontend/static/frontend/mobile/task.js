// 任务详情: one case, and the officer's answer on site — verify (属实/不属实) or check (通过/不通过)
// with photos. The answer goes through the outbox like a report: stored first, then sent.
(function () {
  "use strict";
  const $ = UI.$, el = UI.el, urls = UI.urls;
  const caseId = Number(new URLSearchParams(location.search).get("id"));
  const ACTIONS = {
    verify: { title: "现场核实", outcomes: [["confirmed", "属实", false], ["not_confirmed", "不属实", true]], photoNeeded: function () { return false; } },
    check: { title: "现场核查", outcomes: [["pass", "通过", false], ["fail", "不通过（返工）", true]], photoNeeded: function (o) { return o === "pass"; } },
  };
  const EVENT_NAMES = {
    report: "上报", send_verify: "派核实", verify: "核实", accept: "受理", reject: "不予受理", register: "立案",
    decline: "不予立案", dispatch: "派遣", feedback: "处置反馈", check: "核查", close: "结案", self_handle: "自行处置",
    void: "作废", merge: "合并", supervise: "督办", relocate: "修改位置", request_return: "申请回退",
    approve_return: "同意回退", deny_return: "不同意回退", request_extension: "申请延期", approve_extension: "同意延期",
    deny_extension: "不同意延期", request_suspension: "申请挂账", approve_suspension: "同意挂账",
    deny_suspension: "不同意挂账", resume: "恢复处置", assign: "指派",
  };
  // A handling unit's crew (docs/units.md): feedback with before/after photos, or one of the requests.
  const UNIT_ACTIONS = {
    feedback: { label: "处置反馈", reason: "处置说明" },
    request_extension: { label: "申请延期", reason: "延期原因（必填）" },
    request_return: { label: "申请回退", reason: "回退原因（必填）" },
    request_suspension: { label: "申请挂账", reason: "挂账原因（必填）" },
  };
  const REQUESTS = { extension: "延期", "return": "回退", suspension: "挂账" };
  let unitMode = false;
  const before = UI.photoPicker($("before-photos"), $("before-photo-list"));
  const OUTCOME_NAMES = { confirmed: "属实", not_confirmed: "不属实", pass: "通过", fail: "不通过" };
  let kase = null, action = null;
  const photos = UI.photoPicker($("action-photos"), $("action-photo-list"));

  async function load() {
    const me = await UI.me();
    unitMode = UI.isUnit(me);
    if (!caseId) { $("case-loading").textContent = "没有指定案件"; return; }
    try {
      const answer = await GC.getJson(urls.cases + caseId, { owner: me ? me.id : "any" });
      kase = answer.data;
      render(answer.stale ? answer.at : null);
    } catch (e) {
      $("case-loading").textContent = e.status === 404 ? "看不到这个案件（可能已不在你的网格）" : "离线，且本机没有保存这个案件";
      return;
    }
    const pending = (await GC.outbox()).find(function (i) { return i.kind === "transition" && i.caseId === caseId && (i.state === "waiting" || i.state === "sending"); });
    if (pending) showDone(pending);
    else showForm();
  }

  function render(staleAt) {
    $("case-loading").hidden = true;
    $("case-body").hidden = false;
    $("case-title").textContent = kase.category.name + (staleAt ? "（离线副本 " + UI.formatTime(staleAt) + "）" : "");
    $("case-status").textContent = UI.STATUS[kase.status] || kase.status_display;
    $("case-number").textContent = kase.number;
    $("case-grid").textContent = kase.grid ? kase.grid.name + "（" + kase.grid.code + "）" : "网格外";
    $("case-address-label").textContent = kase.address ? "地址" : "坐标";
    $("case-address").textContent = kase.address || (kase.lon !== null ? kase.lat.toFixed(6) + ", " + kase.lon.toFixed(6) : "—");
    $("case-reported").textContent = UI.formatTime(kase.reported_at);
    $("case-description").textContent = kase.description || "";
    const list = $("case-photos");
    list.replaceChildren();
    (kase.photos || []).forEach(function (p, i) {
      const li = el("li", "m-photo");
      const link = el("a");
      link.href = p.public;
      link.target = "_blank";
      const img = el("img");
      img.src = p.thumbnail;
      img.alt = "案件照片 " + (i + 1);
      img.loading = "lazy";
      link.append(img);
      li.append(link);
      list.append(li);
    });
    const events = $("case-events");
    events.replaceChildren();
    (kase.events || []).forEach(function (e) {
      const outcome = e.data && e.data.outcome ? "：" + (OUTCOME_NAMES[e.data.outcome] || e.data.outcome) : "";
      events.append(el("li", null, UI.formatTime(e.at) + " " + (EVENT_NAMES[e.action] || e.action) + outcome +
        (e.actor ? " · " + e.actor.name : "") + (e.reason ? " · " + e.reason : "")));
    });
    $("case-events-card").hidden = !(kase.events || []).length;
    renderDistance(UI.lastPosition());
  }

  function renderDistance(position) {
    if (!kase) return;
    const line = $("case-distance");
    line.replaceChildren();
    const where = UI.directionTo(position, kase.lon, kase.lat);
    if (!where) { line.textContent = kase.lon === null ? "距离：案件没有坐标" : "距离：正在定位…"; return; }
    line.append("距离：", UI.arrow(where.bearing), " " + where.text + "（精度 ±" + Math.round(position.coords.accuracy) + " 米）");
  }
  UI.watchPosition(function (position) { if (position) renderDistance(position); });

  function showForm() {
    if (unitMode) return showUnitForm();
    action = (kase.allowed_actions || []).find(function (a) { return ACTIONS[a]; });
    if (!action) {
      $("action-done").hidden = false;
      $("action-done-title").textContent = "没有待办";
      $("action-done-text").textContent = "这个案件现在是「" + (UI.STATUS[kase.status] || kase.status) + "」，不需要你核实或核查。";
      return;
    }
    const spec = ACTIONS[action];
    $("action-title").textContent = spec.title;
    const box = $("outcomes");
    spec.outcomes.forEach(function (o) {
      const label = el("label", o[2] ? "m-choice-bad" : null);
      const input = el("input");
      input.type = "radio";
      input.name = "outcome";
      input.value = o[0];
      label.append(input, el("span", null, o[1]));
      box.append(label);
    });
    $("action-form").hidden = false;
  }

  function showUnitForm() {
    const allowed = kase.allowed_actions || [];
    const choices = Object.keys(UNIT_ACTIONS).filter(function (a) { return allowed.indexOf(a) >= 0; });
    if (!choices.length) {
      $("action-done").hidden = false;
      $("action-done-title").textContent = "没有待办";
      $("action-done-text").textContent = kase.pending_request
        ? "已申请" + (REQUESTS[kase.pending_request] || kase.pending_request) + "，等待派遣员答复。"
        : "这个案件现在是「" + (UI.STATUS[kase.status] || kase.status) + "」，不需要本单位处置。";
      return;
    }
    $("action-title").textContent = "现场处置";
    const box = $("outcomes");
    choices.forEach(function (a) {
      const label = el("label");
      const input = el("input");
      input.type = "radio";
      input.name = "outcome";
      input.value = a;
      label.append(input, el("span", null, UNIT_ACTIONS[a].label));
      box.append(label);
      input.addEventListener("change", renderUnitFields);
    });
    const first = box.querySelector("input[value=feedback]") || box.querySelector("input");
    first.checked = true;
    renderUnitFields();
    $("action-form").hidden = false;
  }

  function renderUnitFields() {
    const chosen = document.querySelector("input[name=outcome]:checked").value;
    action = chosen;
    $("before-box").hidden = chosen !== "feedback";
    $("photos-box").hidden = chosen !== "feedback";
    $("action-photos-label").textContent = "拍处置后照片";
    $("hours-box").hidden = chosen !== "request_extension";
    $("action-reason-label").textContent = UNIT_ACTIONS[chosen].reason;
  }

  async function submitUnit() {
    const error = $("action-error");
    const chosen = document.querySelector("input[name=outcome]:checked").value;
    const reason = $("action-reason").value.trim();
    const hours = Number($("action-hours").value || 0);
    const problem = chosen === "feedback" && !photos.list.length ? "处置反馈需要处置后照片" :
      chosen === "request_extension" && !(hours > 0) ? "请填写申请延长的工作时" :
      chosen !== "feedback" && !reason ? "请写明原因" : "";
    if (problem) { error.textContent = problem; error.hidden = false; return; }
    const me = await UI.me();
    $("action-submit").disabled = true;
    const named = function (list, prefix) {
      return list.map(function (p) { return { name: prefix + p.name, type: p.type, data: p.data }; });
    };
    const fields = { reason: reason };
    if (chosen === "request_extension") fields.amount_minutes = String(Math.round(hours * 60));
    try {
      const item = await UI.enqueue("transition", {
        owner: me.id, caseId: caseId, action: chosen, version: kase.version,
        photos: chosen === "feedback" ? named(before.stored(), "before-").concat(named(photos.stored(), "after-")) : [],
        title: UNIT_ACTIONS[chosen].label + " · " + kase.number, fields: fields,
      });
      showDone(item);
    } catch (e) {
      $("action-submit").disabled = false;
      error.textContent = "无法保存到本机：" + e.message;
      error.hidden = false;
    }
  }

  $("action-form").addEventListener("submit", async function (event) {
    event.preventDefault();
    const error = $("action-error");
    error.hidden = true;
    if (unitMode) return submitUnit();
    const chosen = document.querySelector("input[name=outcome]:checked");
    const problem = !chosen ? "请选择结果" :
      ACTIONS[action].photoNeeded(chosen.value) && !photos.list.length ? "核查通过需要现场照片" :
      (chosen.value === "not_confirmed" || chosen.value === "fail") && !$("action-reason").value.trim() ? "请写明原因" : "";
    if (problem) { error.textContent = problem; error.hidden = false; return; }
    const me = await UI.me();
    $("action-submit").disabled = true;
    try {
      const item = await UI.enqueue("transition", {
        owner: me.id, caseId: caseId, action: action, version: kase.version, photos: photos.stored(),
        title: ACTIONS[action].title + "：" + OUTCOME_NAMES[chosen.value] + " · " + kase.number,
        fields: { outcome: chosen.value, reason: $("action-reason").value.trim() },
      });
      showDone(item);
    } catch (e) {
      $("action-submit").disabled = false;
      error.textContent = "无法保存到本机：" + e.message;
      error.hidden = false;
    }
  });

  function showDone(item) {
    $("action-form").hidden = true;
    const done = $("action-done");
    done.hidden = false;
    done.dataset.id = item.id;
    done.dataset.state = item.state;
    if (item.state === "sent") {
      $("action-done-title").textContent = "已提交";
      $("action-done-text").textContent = item.title + (item.result && item.result.status ? " → " + (UI.STATUS[item.result.status] || item.result.status) : "");
    } else if (item.state === "rejected") {
      $("action-done-title").textContent = "未被接收";
      $("action-done-text").textContent = item.message + "（可能已有人处理，请刷新查看）";
    } else {
      $("action-done-title").textContent = "已保存到本机";
      $("action-done-text").textContent = item.message || (navigator.onLine ? "正在发送…" : "当前离线，联网后自动发送。");
    }
  }

  let refreshed = false;
  document.addEventListener("gc:outbox", function (event) {
    const id = $("action-done").dataset.id;
    const item = id && event.detail.items.find(function (i) { return i.id === id; });
    if (!item) return;
    showDone(item);
    if (item.state === "sent" && !refreshed) {
      refreshed = true; // the new status and the officer's own event in the timeline
      UI.me().then(function (me) { return GC.getJson(urls.cases + caseId, { owner: me.id }); })
        .then(function (answer) { kase = answer.data; render(null); }).catch(function () {});
      UI.loadTasks().catch(function () {});
    }
  });

  load();
})();
