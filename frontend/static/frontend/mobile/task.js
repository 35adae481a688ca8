// 任务详情: one case, and the officer's answer on site — verify (属实/不属实) or check (通过/不通过)
// with photos. The answer goes through the outbox like a report: stored first, then sent.
(function () {
  "use strict";
  const $ = UI.$, el = UI.el, urls = UI.urls;
  const caseId = Number(new URLSearchParams(location.search).get("id"));
  const t = UI.t;
  // What the form offers comes from the server (cases/workflow.py via the page's config): an
  // officer answers the allowed action that has outcomes (verify, check); a unit's crew takes any
  // allowed action whose inputs this form has. Which inputs are required is the server's word too.
  const FORM_INPUTS = new Set(["reason", "photos", "outcome", "amount_minutes", "disposition", "demolished_m2"]);
  let unitMode = false;
  const before = UI.photoPicker($("before-photos"), $("before-photo-list"));
  let kase = null, action = null;
  const photos = UI.photoPicker($("action-photos"), $("action-photo-list"));

  async function load() {
    const me = await UI.me();
    unitMode = UI.isUnit(me);
    if (!caseId) { $("case-loading").textContent = t("No case given"); return; }
    try {
      const answer = await GC.getJson(urls.cases + caseId, { owner: me ? me.id : "any" });
      kase = answer.data;
      render(answer.stale ? answer.at : null);
    } catch (e) {
      $("case-loading").textContent = e.status === 404 ? t("You cannot see this case (it may no longer be in your grids)") : t("Offline, and this case is not saved on the phone");
      return;
    }
    const pending = (await GC.outbox()).find(function (i) { return i.kind === "transition" && i.caseId === caseId && (i.state === "waiting" || i.state === "sending"); });
    if (pending) showDone(pending);
    else showForm();
  }

  function render(staleAt) {
    $("case-loading").hidden = true;
    $("case-body").hidden = false;
    $("case-title").textContent = kase.category.name + (staleAt ? t(" (offline copy of %(time)s)", { time: UI.formatTime(staleAt) }) : "");
    $("case-status").textContent = UI.statusLabel(kase.status);
    $("case-number").textContent = kase.number;
    $("case-grid").textContent = kase.grid ? kase.grid.name + " (" + kase.grid.code + ")" : t("Outside grid");
    $("case-address-label").textContent = kase.address ? t("Address") : t("Coordinates");
    $("case-address").textContent = kase.address || (kase.lon !== null ? kase.lat.toFixed(6) + ", " + kase.lon.toFixed(6) : "—");
    $("case-reported").textContent = UI.formatTime(kase.reported_at);
    $("case-description").textContent = kase.description || "";
    const list = $("case-photos");
    list.replaceChildren();
    (kase.photos || []).forEach(function (p, i) {
      const li = el("li", "m-photo");
      li.dataset.stage = p.stage;
      const link = el("a");
      link.href = p.public;
      link.target = "_blank";
      const img = el("img");
      img.src = p.thumbnail;
      img.alt = t("Case photo %(n)s", { n: i + 1 });
      img.loading = "lazy";
      link.append(img, el("span", "m-photo-stage", UI.label("stages", p.stage)));
      li.append(link);
      list.append(li);
    });
    const events = $("case-events");
    events.replaceChildren();
    (kase.events || []).forEach(function (e) {
      const data = e.data || {};
      const outcome = data.outcome ? t(": %(outcome)s", { outcome: UI.outcomeLabel(e.action, data.outcome) }) : "";
      const disposed = data.disposition ? " · " + UI.label("dispositions", data.disposition) : "";
      events.append(el("li", null, UI.formatTime(e.at) + " " + UI.actionLabel(e.action) + outcome + disposed +
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
    if (!where) { line.textContent = kase.lon === null ? t("Distance: the case has no coordinates") : t("Distance: locating…"); return; }
    line.append(t("Distance: "), UI.arrow(where.bearing), " " + where.text +
      t(" (accuracy ±%(n)s m)", { n: Math.round(position.coords.accuracy) }));
  }
  UI.watchPosition(function (position) { if (position) renderDistance(position); });

  // The choices: one per outcome of an officer's action, or one per action of a unit's crew.
  function choices() {
    const allowed = kase.allowed_actions || [];
    if (!unitMode) {
      const key = allowed.find(function (a) { return UI.action(a) && UI.action(a).outcomes.length; });
      if (!key) return [];
      // The table lists the good outcome first (cases/workflow.py OUTCOMES).
      return UI.action(key).outcomes.map(function (o, i) {
        return { action: key, outcome: o.key, label: o.label, bad: i > 0, photos: o.photos_required };
      });
    }
    // The action that moves the case on (feedback) first, then the requests, in table order.
    const offered = allowed.filter(function (a) {
      const spec = UI.action(a);
      return spec && !spec.outcomes.length && Object.keys(spec.inputs).every(function (i) { return FORM_INPUTS.has(i); });
    });
    const moving = function (a) { return UI.action(a).to ? 0 : 1; };
    return offered.sort(function (a, b) { return moving(a) - moving(b); }).map(function (a) {
      return { action: a, outcome: "", label: UI.actionLabel(a), bad: false, photos: UI.action(a).photos_required };
    });
  }

  function showForm() {
    const list = choices();
    if (!list.length) {
      $("action-done").hidden = false;
      $("action-done-title").textContent = t("Nothing to do");
      $("action-done-text").textContent = kase.pending_request && unitMode
        ? t("Asked for: %(request)s. Waiting for the dispatcher's answer.", { request: UI.label("requests", kase.pending_request) })
        : t("This case is now “%(status)s”: nothing for you to do on it.", { status: UI.statusLabel(kase.status) });
      return;
    }
    $("action-title").textContent = unitMode ? t("Handle on site") : UI.actionLabel(list[0].action);
    const box = $("outcomes");
    list.forEach(function (c, i) {
      const label = el("label", c.bad ? "m-choice-bad" : null);
      const input = el("input");
      input.type = "radio";
      input.name = "outcome";
      input.value = c.outcome || c.action;
      input.dataset.index = String(i);
      label.append(input, el("span", null, c.label));
      box.append(label);
      input.addEventListener("change", renderFields);
    });
    if (unitMode) (box.querySelector("input[value=feedback]") || box.querySelector("input")).checked = true;
    renderFields();
    $("action-form").hidden = false;
  }

  function chosen() {
    const input = document.querySelector("input[name=outcome]:checked");
    return input ? choices()[Number(input.dataset.index)] : null;
  }

  // The fields of the chosen action, as the server's description of it says.
  function renderFields() {
    const c = chosen();
    const spec = UI.action(c ? c.action : (choices()[0] || {}).action);
    action = spec.key;
    const feedback = action === "feedback";
    $("before-box").hidden = !feedback;
    $("photos-box").hidden = unitMode && spec.inputs.photos === "optional";
    $("action-photos-label").textContent = feedback ? t("Take photos after disposal") : t("Take photos on site");
    $("hours-box").hidden = !spec.inputs.amount_minutes;
    const ledger = feedback && kase.ledger_entry;
    $("disposition-box").hidden = !ledger;
    if (ledger) {
      $("disposition-entry").textContent = t("Illegal-construction ledger entry %(number)s: %(area)s m², %(left)s m² still standing.",
        { number: ledger.number, area: ledger.area_m2, left: ledger.remaining_m2 });
      $("action-demolished").max = ledger.remaining_m2;
    }
    $("action-reason-label").textContent = spec.reason_required ? t("Reason (required)") : t("Note");
  }

  function fillDispositions() {
    const select = $("action-disposition");
    Object.keys(UI.config.labels.dispositions).forEach(function (value) {
      select.append(new Option(UI.label("dispositions", value), value));
    });
  }
  fillDispositions();

  // What is missing, in words, or "" (the server checks again: this only saves a round trip).
  function problem(c, spec, fields) {
    if (!c) return t("Choose the outcome");
    const photoCount = photos.list.length;
    if ((c.photos || spec.photos_required) && !photoCount) {
      return t("%(action)s %(outcome)s needs photos on site", { action: spec.label, outcome: c.outcome ? c.label : "" });
    }
    if (spec.inputs.amount_minutes && !(Number(fields.amount_minutes) > 0)) return t("Give the working hours asked for");
    if (spec.reason_required && !fields.reason) return t("Give the reason");
    if (action === "feedback" && kase.ledger_entry) {
      if (!fields.disposition) return t("Choose the disposition");
      if (fields.disposition === "demolish" && !(Number(fields.demolished_m2) > 0)) return t("Give the area demolished (m²)");
    }
    return "";
  }

  $("action-form").addEventListener("submit", async function (event) {
    event.preventDefault();
    const error = $("action-error");
    error.hidden = true;
    const c = chosen();
    const spec = UI.action(action);
    const fields = { reason: $("action-reason").value.trim() };
    if (c && c.outcome) fields.outcome = c.outcome;
    if (spec.inputs.amount_minutes) fields.amount_minutes = String(Math.round(Number($("action-hours").value || 0) * 60));
    if (action === "feedback" && kase.ledger_entry) {
      fields.disposition = $("action-disposition").value;
      if (fields.disposition === "demolish") fields.demolished_m2 = $("action-demolished").value.trim();
    }
    const missing = problem(c, spec, fields);
    if (missing) { error.textContent = missing; error.hidden = false; return; }
    const me = await UI.me();
    $("action-submit").disabled = true;
    const named = function (list, prefix) {
      return list.map(function (p) { return { name: prefix + p.name, type: p.type, data: p.data }; });
    };
    const sent = action === "feedback" ? named(before.stored(), "before-").concat(named(photos.stored(), "after-"))
      : $("photos-box").hidden ? [] : photos.stored();
    try {
      const item = await UI.enqueue("transition", {
        owner: me.id, caseId: caseId, action: action, version: kase.version, photos: sent,
        title: spec.label + (c.outcome ? t(": %(outcome)s", { outcome: c.label }) : "") + " · " + kase.number,
        fields: fields,
      });
      showDone(item);
    } catch (e) {
      $("action-submit").disabled = false;
      error.textContent = t("Cannot save on the phone: %(message)s", { message: e.message });
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
      $("action-done-title").textContent = t("Submitted");
      $("action-done-text").textContent = item.title + (item.result && item.result.status ? " → " + UI.statusLabel(item.result.status) : "");
    } else if (item.state === "rejected") {
      $("action-done-title").textContent = t("Not accepted");
      $("action-done-text").textContent = item.message + t(" (someone may have handled it already: reload to see)");
    } else {
      $("action-done-title").textContent = t("Saved on the phone");
      $("action-done-text").textContent = item.message || (navigator.onLine ? t("Sending…") : t("Offline now: sent automatically when back online."));
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
