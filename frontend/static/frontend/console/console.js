// The supervision-centre console (docs/console.md): grids coloured by a metric, open cases as
// clustered markers by traffic light, area drill-down, work queues, the case panel, live updates.
// Data: #console-config (json_script from frontend.views.console) and the JSON API only.
// Plain script, no build step; Leaflet from django-leaflet; no tiles unless config.tilesUrl.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("console-config").textContent);
  const LANG = (document.documentElement.lang || "zh").toLowerCase().startsWith("zh") ? "zh" : "en";

  // --- Text: the console's own labels in both languages (names and statuses come from the API) ---
  const TEXT = {
    zh: {
      queues: "工作队列", alerts: "消息", colourBy: "网格着色", period: "时段", status: "状态", category: "类别",
      overdueOnly: "仅超期", supervisedOnly: "仅督办", allOpen: "全部在办", allCategories: "全部类别",
      city: "全市", drillHint: "点击网格逐级下钻：区 → 街道 → 社区 → 网格",
      m_closure_rate: "结案率", m_disposal_rate: "处置率", m_closure_on_time_rate: "按期结案率",
      m_disposal_on_time_rate: "按期处置率", m_open: "在办案件数（当前）", m_overdue: "超期未处置数",
      p_this_week: "本周", p_last_week: "上周", p_this_month: "本月", p_custom: "自定义日期",
      q_accept: "待受理", q_verify: "待核实", q_register: "待立案", q_dispatch: "待派遣", q_requests: "待审批申请",
      q_close: "待结案", q_overdue: "超期", q_supervised: "督办",
      s_reported: "待受理", s_verifying: "待核实", s_pending_registration: "待立案", s_dispatching: "待派遣",
      s_handling: "处置中", s_suspended: "挂账", s_checking: "待核查", s_closing: "待结案",
      a_send_verify: "转核实", a_verify: "核实", a_accept: "受理", a_reject: "不予受理", a_merge: "合并",
      a_relocate: "修改位置", a_register: "立案", a_decline: "不予立案", a_dispatch: "派遣",
      a_request_return: "申请回退", a_approve_return: "同意回退", a_deny_return: "驳回回退",
      a_request_extension: "申请延期", a_approve_extension: "同意延期", a_deny_extension: "驳回延期",
      a_request_suspension: "申请挂账", a_approve_suspension: "同意挂账", a_deny_suspension: "驳回挂账",
      a_resume: "恢复处置", a_feedback: "处置反馈", a_check: "核查", a_self_handle: "自行处置", a_close: "结案",
      a_void: "作废", a_supervise: "督办", a_report: "上报",
      i_reason: "原因", i_unit: "处置单位", i_outcome: "结果", i_duplicate_of: "重复于（案卷号或编号）",
      i_amount: "延期时长（分钟）", i_lon: "经度", i_lat: "纬度", i_address: "地址",
      o_confirmed: "属实", o_not_confirmed: "不属实", o_pass: "通过", o_fail: "不通过",
      submit: "提交", cancel: "取消", suggested: "（建议）",
      r_return: "回退申请", r_extension: "延期申请", r_suspension: "挂账申请", pendingRequest: "待审批：{what}",
      l_green: "正常", l_yellow: "预警", l_red: "超期", lightsTitle: "案件（按灯色）",
      noData: "无数据（—）", fewSamples: "样本不足（少于 3 件）",
      f_category: "类别", f_grid: "网格", f_address: "地址", f_description: "描述", f_source: "来源",
      f_reporter: "上报人", f_reported: "上报时间", f_unit: "处置单位", f_deadline: "处置时限", f_light: "灯色",
      photos: "照片", timeline: "流转记录", duplicates: "疑似重复案件", noDuplicates: "无",
      mergeInto: "合并到 {number}", actionsTitle: "可执行操作", noActions: "您在此状态下无可执行操作", close: "关闭",
      conflict: "案卷已被他人更新：{detail} 已重新载入最新内容。", done: "{number}：{action}完成",
      failed: "操作失败：{detail}", loadFailed: "数据载入失败，稍后自动重试。", newCase: "新案件 {number}",
      markRead: "全部标为已读", noAlerts: "暂无消息", empty: "暂无", more: "另有 {n} 件未显示",
      agoMin: "{n} 分钟前", agoHour: "{n} 小时前", agoDay: "{n} 天前", leftMin: "剩 {n} 分钟",
      leftHour: "剩 {n} 小时", leftDay: "剩 {n} 天", overBy: "已超期 {t}", distance: "{m} 米",
      liveOff: "实时连接中断，正在重连…", casesShown: "{n} 件在办案件",
      t_new_report: "新上报", t_verify_task: "核实任务", t_check_task: "核查任务", t_dispatched: "已派遣",
      t_approval_request: "待审批申请", t_deadline_warning: "即将超期", t_overdue: "已超期", t_rework: "返工",
      t_supervised: "督办", t_report_published: "通报已发布",
    },
    en: {
      queues: "Work queues", alerts: "Alerts", colourBy: "Colour grids by", period: "Period", status: "Status",
      category: "Category", overdueOnly: "Overdue only", supervisedOnly: "Supervised only", allOpen: "All open",
      allCategories: "All categories", city: "City",
      drillHint: "Click a grid to drill down: district → street → community → grid",
      m_closure_rate: "Closure rate", m_disposal_rate: "Disposal rate", m_closure_on_time_rate: "On-time closure rate",
      m_disposal_on_time_rate: "On-time disposal rate", m_open: "Open cases (now)", m_overdue: "Overdue open cases",
      p_this_week: "This week", p_last_week: "Last week", p_this_month: "This month", p_custom: "Dates…",
      q_accept: "To accept", q_verify: "To verify", q_register: "To register", q_dispatch: "To dispatch",
      q_requests: "Requests to approve", q_close: "To close", q_overdue: "Overdue", q_supervised: "Supervised",
      s_reported: "To accept", s_verifying: "To verify", s_pending_registration: "To register",
      s_dispatching: "To dispatch", s_handling: "Handling", s_suspended: "Suspended", s_checking: "To check",
      s_closing: "To close",
      a_send_verify: "Send to verify", a_verify: "Verify", a_accept: "Accept", a_reject: "Reject", a_merge: "Merge",
      a_relocate: "Relocate", a_register: "Register", a_decline: "Decline", a_dispatch: "Dispatch",
      a_request_return: "Request return", a_approve_return: "Approve return", a_deny_return: "Deny return",
      a_request_extension: "Request extension", a_approve_extension: "Approve extension",
      a_deny_extension: "Deny extension", a_request_suspension: "Request suspension",
      a_approve_suspension: "Approve suspension", a_deny_suspension: "Deny suspension", a_resume: "Resume",
      a_feedback: "Feedback", a_check: "Check", a_self_handle: "Self-handle", a_close: "Close", a_void: "Void",
      a_supervise: "Supervise", a_report: "Report",
      i_reason: "Reason", i_unit: "Handling unit", i_outcome: "Outcome", i_duplicate_of: "Duplicate of (case number or id)",
      i_amount: "Extension (minutes)", i_lon: "Longitude", i_lat: "Latitude", i_address: "Address",
      o_confirmed: "Confirmed", o_not_confirmed: "Not confirmed", o_pass: "Pass", o_fail: "Fail",
      submit: "Submit", cancel: "Cancel", suggested: " (suggested)",
      r_return: "return", r_extension: "extension", r_suspension: "suspension", pendingRequest: "Pending request: {what}",
      l_green: "On track", l_yellow: "Warning", l_red: "Overdue", lightsTitle: "Cases by light",
      noData: "No data (—)", fewSamples: "Too few cases (under 3)",
      f_category: "Category", f_grid: "Grid", f_address: "Address", f_description: "Description", f_source: "Source",
      f_reporter: "Reporter", f_reported: "Reported", f_unit: "Handling unit", f_deadline: "Deadline", f_light: "Light",
      photos: "Photos", timeline: "Timeline", duplicates: "Possible duplicates", noDuplicates: "None",
      mergeInto: "Merge into {number}", actionsTitle: "Actions", noActions: "No action for you in this state", close: "Close",
      conflict: "Someone else changed this case: {detail} It has been reloaded.", done: "{number}: {action} done",
      failed: "Failed: {detail}", loadFailed: "Could not load data; retrying shortly.", newCase: "New case {number}",
      markRead: "Mark all read", noAlerts: "No alerts", empty: "Nothing waiting", more: "{n} more not shown",
      agoMin: "{n} min ago", agoHour: "{n} h ago", agoDay: "{n} d ago", leftMin: "{n} min left",
      leftHour: "{n} h left", leftDay: "{n} d left", overBy: "overdue by {t}", distance: "{m} m",
      liveOff: "Live connection lost, reconnecting…", casesShown: "{n} open cases",
      t_new_report: "New report", t_verify_task: "Verify task", t_check_task: "Check task", t_dispatched: "Dispatched",
      t_approval_request: "Request to approve", t_deadline_warning: "Deadline warning", t_overdue: "Overdue",
      t_rework: "Rework", t_supervised: "Supervised", t_report_published: "Report published",
    },
  }[LANG];

  function t(key, vars) {
    let s = TEXT[key] !== undefined ? TEXT[key] : key;
    if (vars) Object.keys(vars).forEach((k) => { s = s.split("{" + k + "}").join(String(vars[k])); });
    return s;
  }

  // An element with text content (names come from the database: never build HTML strings).
  function el(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined && content !== null) node.textContent = content;
    return node;
  }

  document.querySelectorAll("[data-t]").forEach((node) => { node.textContent = t(node.dataset.t); });
  // The toolbar is a form for its labels only (no inline handler: the Content-Security-Policy forbids them).
  document.getElementById("gcc-toolbar").addEventListener("submit", (event) => event.preventDefault());

  const root = document.getElementById("console");
  const OPEN_STATUSES = ["reported", "verifying", "pending_registration", "dispatching", "handling", "suspended",
    "checking", "closing"];
  const LIGHT_COLOURS = { green: "#16a34a", yellow: "#eab308", red: "#dc2626" };
  const LIGHT_RANK = { green: 0, yellow: 1, red: 2 };

  // --- HTTP -------------------------------------------------------------------------------------
  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function getJSON(url, signal) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, signal: signal })
      .then((response) => {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      });
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    }).then((response) => response.json().catch(() => ({})).then((data) => ({ status: response.status, data: data })));
  }

  function query(params) {
    const parts = [];
    Object.keys(params).forEach((k) => {
      if (params[k] !== undefined && params[k] !== null && params[k] !== "") {
        parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(params[k]));
      }
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  // A message from an API error body: {"detail": …} or {field: [messages]}.
  function errorText(data, status) {
    if (!data || typeof data !== "object") return "HTTP " + status;
    if (data.detail) return String(data.detail);
    const parts = [];
    Object.keys(data).forEach((k) => {
      if (k === "case" || k === "code") return;
      const v = Array.isArray(data[k]) ? data[k].join(" ") : String(data[k]);
      parts.push(k + ": " + v);
    });
    return parts.join("; ") || "HTTP " + status;
  }

  let toastTimer = null;
  function toast(message, isError) {
    const box = document.getElementById("gcc-toast");
    box.textContent = message;
    box.classList.toggle("gcc-error", !!isError);
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, isError ? 8000 : 4000);
  }

  // --- Time ---------------------------------------------------------------------------------------
  const SHANGHAI = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" });
  const STAMP = new Intl.DateTimeFormat(LANG === "zh" ? "zh-CN" : "en-GB", {
    timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
  });
  const todayISO = () => SHANGHAI.format(new Date());
  function addDays(iso, n) {
    const d = new Date(iso + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }
  function stamp(iso) { return iso ? STAMP.format(new Date(iso)) : "—"; }
  function span(minutes) {
    const m = Math.abs(minutes);
    if (m < 60) return { key: "Min", n: Math.max(1, Math.round(m)) };
    if (m < 60 * 48) return { key: "Hour", n: Math.round(m / 60) };
    return { key: "Day", n: Math.round(m / 1440) };
  }
  function ago(iso) {
    const s = span((Date.now() - new Date(iso).getTime()) / 60000);
    return t("ago" + s.key, { n: s.n });
  }
  function untilDeadline(iso) {
    const minutes = (new Date(iso).getTime() - Date.now()) / 60000;
    const s = span(minutes);
    if (minutes >= 0) return t("left" + s.key, { n: s.n });
    return t("overBy", { t: t("ago" + s.key, { n: s.n }).replace(/ ?(ago|前)$/, "") });
  }

  // --- Map ------------------------------------------------------------------------------------------
  const mapEl = document.getElementById("gcc-map");
  const map = L.map(mapEl, { minZoom: config.minZoom, maxZoom: config.maxZoom, zoomSnap: 1 });
  if (config.extent) map.fitBounds(config.extent, { padding: [16, 16] });
  else map.setView(config.center, config.zoom);

  // GCJ-02 (the "Mars" datum of Chinese commercial maps): our data is WGS84, so a GCJ-02 tile layer
  // is drawn shifted by the local offset — for display only; nothing is ever stored converted.
  const GCJ = (function () {
    const A = 6378245.0, EE = 0.00669342162296594323;
    function outOfChina(lon, lat) { return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271; }
    function tLat(x, y) {
      let r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
      r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
      r += (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
      r += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
      return r;
    }
    function tLon(x, y) {
      let r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
      r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
      r += (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
      r += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
      return r;
    }
    function fromWgs84(lon, lat) {
      if (outOfChina(lon, lat)) return [lon, lat];
      let dLat = tLat(lon - 105.0, lat - 35.0), dLon = tLon(lon - 105.0, lat - 35.0);
      const radLat = lat / 180.0 * Math.PI;
      let magic = Math.sin(radLat);
      magic = 1 - EE * magic * magic;
      const sqrtMagic = Math.sqrt(magic);
      dLat = (dLat * 180.0) / ((A * (1 - EE)) / (magic * sqrtMagic) * Math.PI);
      dLon = (dLon * 180.0) / (A / sqrtMagic * Math.cos(radLat) * Math.PI);
      return [lon + dLon, lat + dLat];
    }
    return { fromWgs84: fromWgs84 };
  })();
  const toGcj = (latlng) => { const p = GCJ.fromWgs84(latlng.lng, latlng.lat); return L.latLng(p[1], p[0]); };
  // The tile grid is laid out around the GCJ-02 position of the map centre instead of the centre.
  const GcjTileLayer = L.TileLayer.extend({
    _setZoomTransform: function (level, center, zoom) {
      return L.TileLayer.prototype._setZoomTransform.call(this, level, toGcj(center), zoom);
    },
    _getTiledPixelBounds: function (center) {
      return L.TileLayer.prototype._getTiledPixelBounds.call(this, toGcj(center));
    },
  });
  if (config.tilesUrl) {
    const Layer = config.tilesGcj02 ? GcjTileLayer : L.TileLayer;
    new Layer(config.tilesUrl, { maxZoom: config.maxZoom, attribution: "" }).addTo(map);
  }
  L.control.scale({ imperial: false }).addTo(map);

  map.createPane("boundaries").style.zIndex = 450;
  map.getPane("boundaries").style.pointerEvents = "none";
  map.createPane("cases").style.zIndex = 620;
  const gridRenderer = L.svg({ padding: 0.3 });
  const caseRenderer = L.svg({ pane: "cases", padding: 0.3 });
  map.addLayer(gridRenderer);
  // The hatch for "too few cases": an SVG pattern that grid paths use as their fill.
  (function addHatch() {
    const NS = "http://www.w3.org/2000/svg";
    const svg = gridRenderer._container;
    const defs = document.createElementNS(NS, "defs");
    const pattern = document.createElementNS(NS, "pattern");
    pattern.setAttribute("id", "gcc-hatch");
    pattern.setAttribute("patternUnits", "userSpaceOnUse");
    pattern.setAttribute("width", "6");
    pattern.setAttribute("height", "6");
    pattern.setAttribute("patternTransform", "rotate(45)");
    const back = document.createElementNS(NS, "rect");
    back.setAttribute("width", "6"); back.setAttribute("height", "6"); back.setAttribute("fill", "#f3f4f6");
    const line = document.createElementNS(NS, "rect");
    line.setAttribute("width", "2"); line.setAttribute("height", "6"); line.setAttribute("fill", "#9ca3af");
    pattern.append(back, line);
    defs.append(pattern);
    svg.insertBefore(defs, svg.firstChild);
  })();

  // --- State ------------------------------------------------------------------------------------------
  const state = {
    metric: "closure_rate",
    period: "this_month",
    filters: { status: "", category: "", overdue: false, supervised: false },
    path: [], // drill-down: [{code, name, level}]
    metricRows: {}, // grid code → metrics row
    counts: {}, // grid code → {open, overdue}
    cases: new Map(), // id → case row (open cases under the filters)
    fresh: new Set(), // ids that arrived live, pulsed once
    queues: [],
    openQueues: new Set(config.myQueues.length ? config.myQueues.concat(["overdue"]) : config.queues.slice(0, 3)),
    units: null,
    selected: null, // id of the case in the panel
    alerts: new Map(), // seq → alert
    failing: new Set(),
    pending: 0,
  };
  const LEVEL_LENGTHS = [6, 9, 12, 15];
  const LEVELS = ["district", "street", "community", "grid"];

  function setState() {
    const value = state.pending ? "loading" : state.failing.size ? "error" : "ready";
    root.dataset.state = value;
    mapEl.dataset.state = value;
  }
  function track(name, promise) {
    state.pending += 1;
    setState();
    return promise
      .then((value) => { state.failing.delete(name); return value; })
      .catch((error) => {
        if (error.name !== "AbortError") { state.failing.add(name); toast(t("loadFailed"), true); }
      })
      .finally(() => { state.pending -= 1; setState(); });
  }

  // --- Metric colouring --------------------------------------------------------------------------
  const RATE_METRICS = {
    closure_rate: "due_closure", closure_on_time_rate: "due_closure",
    disposal_rate: "due_disposal", disposal_on_time_rate: "due_disposal",
  };
  const METRICS = ["closure_rate", "closure_on_time_rate", "disposal_rate", "disposal_on_time_rate", "open", "overdue"];
  const MIN_SAMPLE = 3;
  const RATE_SCALE = [ // percent, higher is better
    { min: 95, colour: "#15803d", label: "≥ 95%" },
    { min: 85, colour: "#84cc16", label: "85–95%" },
    { min: 70, colour: "#facc15", label: "70–85%" },
    { min: 50, colour: "#f97316", label: "50–70%" },
    { min: -1, colour: "#dc2626", label: "< 50%" },
  ];
  const COUNT_SCALE = [ // cases, fewer is better
    { min: 7, colour: "#7f1d1d", label: "≥ 7" },
    { min: 4, colour: "#ef4444", label: "4–6" },
    { min: 2, colour: "#fb923c", label: "2–3" },
    { min: 1, colour: "#fde68a", label: "1" },
    { min: 0, colour: "#f1f5f9", label: "0" },
  ];
  const NO_DATA = "#e5e7eb";
  const HATCH = "url(#gcc-hatch)";

  // {colour, text} for one grid under the chosen metric.
  function gridValue(code) {
    const metric = state.metric;
    if (metric === "open") {
      const n = (state.counts[code] || {}).open || 0;
      return { colour: COUNT_SCALE.find((s) => n >= s.min).colour, text: String(n) };
    }
    const row = state.metricRows[code];
    if (metric === "overdue") {
      const n = row ? row.overdue_open : 0;
      return { colour: COUNT_SCALE.find((s) => n >= s.min).colour, text: String(n) };
    }
    const denominator = row ? row[RATE_METRICS[metric]] : 0;
    if (!denominator) return { colour: NO_DATA, text: "—" };
    const numerators = { closure_rate: "closed", closure_on_time_rate: "closed_on_time",
      disposal_rate: "disposed", disposal_on_time_rate: "disposed_on_time" };
    const fraction = " (" + row[numerators[metric]] + "/" + denominator + ")";
    if (denominator < MIN_SAMPLE) return { colour: HATCH, text: t("fewSamples") + fraction };
    const value = row[metric];
    return { colour: RATE_SCALE.find((s) => value >= s.min).colour, text: value.toFixed(1) + "%" + fraction };
  }

  function renderLegend() {
    const box = document.getElementById("gcc-legend");
    box.replaceChildren();
    box.append(el("h3", null, t("m_" + state.metric) + (state.metric === "open" ? "" : " · " + periodLabel())));
    const list = el("ul");
    const item = (colour, label, swatchClass) => {
      const li = el("li");
      li.dataset.colour = colour;
      const sw = el("span", "gcc-sw" + (swatchClass ? " " + swatchClass : ""));
      if (!swatchClass) sw.style.background = colour;
      li.append(sw, document.createTextNode(label));
      list.append(li);
    };
    if (RATE_METRICS[state.metric]) {
      RATE_SCALE.forEach((s) => item(s.colour, s.label));
      item(HATCH, t("fewSamples"), "gcc-sw-hatch");
      item(NO_DATA, t("noData"));
    } else {
      COUNT_SCALE.forEach((s) => item(s.colour, s.label));
    }
    box.append(list);
    const lights = el("ul", "gcc-lights");
    lights.append(el("li", null, t("lightsTitle")));
    ["green", "yellow", "red"].forEach((light) => {
      const li = el("li");
      li.append(el("span", "gcc-dot gcc-light-" + light), document.createTextNode(t("l_" + light)));
      lights.append(li);
    });
    box.append(lights);
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
  }

  function gridStyle(feature) {
    const value = gridValue(feature.properties.code);
    const selected = state.path.length === 4 && state.path[3].code === feature.properties.code;
    return {
      renderer: gridRenderer, className: "gcc-grid", color: selected ? "#12355b" : "#64748b",
      weight: selected ? 3 : 0.6, fillColor: value.colour, fillOpacity: value.colour === HATCH ? 0.9 : 0.6,
    };
  }

  const grids = L.geoJSON(null, {
    style: gridStyle,
    onEachFeature: (feature, layer) => {
      layer.bindTooltip(() => {
        const p = feature.properties;
        const box = el("div");
        box.append(el("strong", null, p.name), el("br"), document.createTextNode(p.code), el("br"),
          document.createTextNode(t("m_" + state.metric) + ": " + gridValue(p.code).text));
        return box;
      }, { sticky: true });
      layer.on("click", () => drillInto(feature.properties));
    },
  }).addTo(map);
  const boundaries = L.geoJSON(null, {
    pane: "boundaries", interactive: false,
    style: { color: "#12355b", weight: 2.5, fill: false, opacity: 0.8, dashArray: "6 3" },
  }).addTo(map);
  const restyleGrids = () => {
    grids.setStyle(gridStyle);
    grids.eachLayer((layer) => layer.getElement() && layer.getElement().setAttribute("data-code", layer.feature.properties.code));
  };

  let gridController = null;
  function loadGrids() {
    if (gridController) gridController.abort();
    const mine = (gridController = new AbortController());
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
    return track("grids", getJSON(config.urls.grids + query({ bbox: bbox, zoom: Math.round(map.getZoom()) }), mine.signal)
      .then((data) => {
        grids.clearLayers();
        grids.addData(data);
        restyleGrids();
      }));
  }

  // --- Period --------------------------------------------------------------------------------------------
  function periodRange() {
    const today = todayISO();
    const tomorrow = addDays(today, 1);
    const weekday = (new Date(today + "T00:00:00Z").getUTCDay() + 6) % 7; // Monday 0
    const monday = addDays(today, -weekday);
    if (state.period === "this_week") return [monday, tomorrow];
    if (state.period === "last_week") return [addDays(monday, -7), monday];
    if (state.period === "this_month") return [today.slice(0, 8) + "01", tomorrow];
    const start = document.getElementById("gcc-start").value || monday;
    const last = document.getElementById("gcc-end").value || today;
    return [start, addDays(last < start ? start : last, 1)];
  }
  function periodLabel() {
    const range = periodRange();
    return range[0] + " – " + addDays(range[1], -1);
  }

  let metricController = null;
  function loadMetrics() {
    if (metricController) metricController.abort();
    const mine = (metricController = new AbortController());
    const range = periodRange();
    return track("metrics", getJSON(config.urls.metrics + query({ level: "grid", start: range[0], end: range[1] }), mine.signal)
      .then((data) => {
        const rows = {};
        (data.results || []).forEach((row) => { rows[row.code] = row; });
        state.metricRows = rows;
        restyleGrids();
        renderLegend();
      }));
  }

  function areaCode() { return state.path.length ? state.path[state.path.length - 1].code : ""; }

  function loadCounts() {
    return track("counts", getJSON(config.urls.gridCounts + query({ area: areaCode(), category: state.filters.category }))
      .then((data) => { state.counts = data.results || {}; restyleGrids(); }));
  }

  // --- Drill-down -------------------------------------------------------------------------------------------
  const areas = {}; // code → {name, level, bounds, feature}
  function loadAreas() {
    return Promise.all(["district", "street", "community"].map((level) =>
      getJSON(config.urls.areas + query({ level: level, zoom: 12 })).then((data) => {
        data.features.forEach((f) => {
          areas[f.properties.code] = { name: f.properties.name, level: level, feature: f,
            bounds: L.geoJSON(f).getBounds() };
        });
      }))).catch(() => state.failing.add("areas"));
  }

  function drillInto(gridProps) {
    const depth = Math.min(state.path.length, 3);
    const code = gridProps.code.slice(0, LEVEL_LENGTHS[depth]);
    if (depth === 3) {
      state.path = state.path.slice(0, 3).concat([{ code: gridProps.code, name: gridProps.name, level: "grid" }]);
    } else {
      const area = areas[code];
      state.path.push({ code: code, name: area ? area.name : code, level: LEVELS[depth] });
    }
    applyArea(true);
  }

  function applyArea(zoom) {
    const code = areaCode();
    boundaries.clearLayers();
    const here = areas[code];
    if (here) boundaries.addData(here.feature);
    if (zoom) {
      let bounds = here ? here.bounds : null;
      if (!bounds) grids.eachLayer((layer) => { if (layer.feature.properties.code === code) bounds = layer.getBounds(); });
      if (bounds) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 18 });
      else if (!code && config.extent) map.fitBounds(config.extent, { padding: [16, 16] });
    }
    renderBreadcrumb();
    restyleGrids();
    reloadData();
  }

  function renderBreadcrumb() {
    const nav = document.getElementById("gcc-breadcrumb");
    nav.replaceChildren();
    const crumbs = [{ code: "", name: t("city") }].concat(state.path);
    crumbs.forEach((crumb, i) => {
      if (i) nav.append(el("span", "gcc-sep", "›"));
      if (i === crumbs.length - 1) {
        nav.append(el("span", "gcc-here", crumb.name));
      } else {
        const button = el("button", null, crumb.name);
        button.type = "button";
        button.dataset.code = crumb.code;
        button.addEventListener("click", () => { state.path = state.path.slice(0, i); applyArea(true); });
        nav.append(button);
      }
    });
    nav.append(el("span", "gcc-hint", t("casesShown", { n: state.cases.size }) + " · " + t("drillHint")));
  }

  // --- Cases: loading, clustering, markers ---------------------------------------------------------------------
  function caseQuery(extra) {
    const f = state.filters;
    return Object.assign({
      status: f.status || OPEN_STATUSES.join(","), area: areaCode(), category: f.category,
      overdue: f.overdue ? "true" : "", supervised: f.supervised ? "true" : "", page_size: 500,
    }, extra || {});
  }

  function matchesFilters(row) {
    const f = state.filters;
    if (OPEN_STATUSES.indexOf(row.status) < 0) return false;
    if (f.status && row.status !== f.status) return false;
    if (f.category && row.category && String(row.category.id) !== String(f.category)) return false;
    if (f.overdue && !(row.status === "handling" && row.deadline && new Date(row.deadline) < new Date())) return false;
    if (f.supervised && !row.supervised) return false;
    const code = areaCode();
    if (code && !(row.grid && row.grid.code.startsWith(code))) return false;
    return true;
  }

  let casesGeneration = 0;
  function loadCases() {
    const generation = ++casesGeneration;
    const collected = new Map();
    const page = (url, left) => getJSON(url).then((data) => {
      data.results.forEach((row) => collected.set(row.id, row));
      if (data.next && left > 1) return page(data.next, left - 1);
      return null;
    });
    return track("cases", page(config.urls.cases + query(caseQuery()), 10).then(() => {
      if (generation !== casesGeneration) return;
      state.cases = collected;
      renderCases();
      renderBreadcrumb();
    }));
  }

  const caseLayer = L.layerGroup().addTo(map);
  const CLUSTER_BELOW_ZOOM = 16; // from this zoom every case is its own marker
  const CELL_PX = 56;

  function caseMarker(row) {
    const marker = L.circleMarker([row.lat, row.lon], {
      renderer: caseRenderer, radius: row.id === state.selected ? 10 : 7, color: row.id === state.selected ? "#12355b" : "#fff",
      weight: row.id === state.selected ? 3 : 2, fillColor: LIGHT_COLOURS[row.light] || "#64748b", fillOpacity: 1,
      className: "gcc-case gcc-case-" + row.id + " gcc-light-" + row.light + (state.fresh.has(row.id) ? " gcc-new" : ""),
    });
    // A node, not a string: Leaflet renders a string tooltip as HTML (a category name is data).
    marker.bindTooltip(el("span", null, row.number + " · " + (row.category ? row.category.name : "") + " · " + (row.status_display || t("s_" + row.status))));
    marker.on("click", (event) => { L.DomEvent.stop(event); openCase(row.id); });
    return marker;
  }

  function renderCases() {
    caseLayer.clearLayers();
    const rows = Array.from(state.cases.values()).filter((r) => r.lat !== null && r.lon !== null);
    const zoom = map.getZoom();
    if (zoom >= CLUSTER_BELOW_ZOOM) {
      rows.forEach((row) => caseLayer.addLayer(caseMarker(row)));
    } else {
      // Simple screen-grid clustering: one bucket per CELL_PX square at this zoom.
      const buckets = new Map();
      rows.forEach((row) => {
        const p = map.project([row.lat, row.lon], zoom);
        const key = Math.floor(p.x / CELL_PX) + ":" + Math.floor(p.y / CELL_PX);
        if (!buckets.has(key)) buckets.set(key, []);
        buckets.get(key).push(row);
      });
      buckets.forEach((members) => {
        if (members.length === 1) { caseLayer.addLayer(caseMarker(members[0])); return; }
        let worst = "green", lat = 0, lon = 0;
        members.forEach((r) => {
          if ((LIGHT_RANK[r.light] || 0) > LIGHT_RANK[worst]) worst = r.light;
          lat += r.lat; lon += r.lon;
        });
        const size = members.length < 10 ? 28 : members.length < 100 ? 34 : 42;
        const icon = L.divIcon({
          className: "", iconSize: [size, size],
          html: "<div class=\"gcc-cluster gcc-light-" + worst + "\" style=\"width:" + size + "px;height:" + size +
            "px\">" + members.length + "</div>",
        });
        const bounds = L.latLngBounds(members.map((r) => [r.lat, r.lon]));
        const marker = L.marker([lat / members.length, lon / members.length], { icon: icon, pane: "cases" });
        marker.on("click", () => {
          if (bounds.getNorthEast().equals(bounds.getSouthWest())) map.setView(bounds.getCenter(), CLUSTER_BELOW_ZOOM);
          else map.fitBounds(bounds, { padding: [40, 40], maxZoom: CLUSTER_BELOW_ZOOM });
        });
        caseLayer.addLayer(marker);
      });
    }
    state.fresh.clear();
  }

  function upsertCase(row) {
    if (matchesFilters(row)) state.cases.set(row.id, row);
    else state.cases.delete(row.id);
  }

  // --- Queues ----------------------------------------------------------------------------------------------------
  let queueController = null;
  function loadQueues() {
    if (queueController) queueController.abort();
    const mine = (queueController = new AbortController());
    return track("queues", getJSON(config.urls.queues + query({ area: areaCode(), category: state.filters.category }), mine.signal)
      .then((data) => { state.queues = data.queues; renderQueues(); }));
  }

  function loadUnits() {
    if (state.units) return Promise.resolve(state.units);
    return getJSON(config.urls.units).then((units) => (state.units = units));
  }

  function unitSelect(suggested) {
    const select = el("select", "gcc-unit");
    select.name = "unit";
    (state.units || []).forEach((unit) => {
      const option = el("option", null, unit.name + (suggested && suggested.id === unit.id ? t("suggested") : ""));
      option.value = unit.id;
      if (suggested && suggested.id === unit.id) option.selected = true;
      select.append(option);
    });
    if (!suggested && state.units && state.units.length) {
      const none = el("option", null, "—");
      none.value = "";
      none.selected = true;
      select.prepend(none);
    }
    return select;
  }

  function needsOf(action) { return config.actionNeeds[action] || []; }

  function renderQueues() {
    const box = document.getElementById("gcc-queues");
    box.replaceChildren();
    const mine = config.myQueues;
    state.queues.forEach((queue) => {
      const details = el("details", "gcc-queue" + (mine.indexOf(queue.key) >= 0 ? " gcc-mine" : ""));
      details.dataset.queue = queue.key;
      details.open = state.openQueues.has(queue.key);
      details.addEventListener("toggle", () => {
        if (details.open) state.openQueues.add(queue.key); else state.openQueues.delete(queue.key);
      });
      const summary = el("summary");
      summary.append(el("span", null, t("q_" + queue.key)), el("span", "gcc-count", String(queue.count)));
      details.append(summary);
      if (!queue.rows.length) {
        details.append(el("p", "gcc-empty", t("empty")));
      } else {
        const list = el("ol");
        queue.rows.forEach((row) => list.append(queueRow(queue.key, row)));
        details.append(list);
        if (queue.count > queue.rows.length) details.append(el("p", "gcc-empty", t("more", { n: queue.count - queue.rows.length })));
      }
      box.append(details);
    });
  }

  function queueRow(key, row) {
    const li = el("li", "gcc-row" + (row.id === state.selected ? " gcc-selected" : ""));
    li.dataset.case = row.id;
    const head = el("div", "gcc-row-head");
    head.append(el("span", "gcc-dot gcc-light-" + row.light), el("span", "gcc-number", row.number),
      el("span", "gcc-age", key === "overdue" || (row.deadline && row.status === "handling")
        ? untilDeadline(row.deadline) : ago(row.reported_at)));
    li.append(head);
    const meta = [row.category ? row.category.name : "", row.grid ? row.grid.name : "", row.address].filter(Boolean).join(" · ");
    li.append(el("div", "gcc-row-meta", meta));
    if (row.pending_request) li.append(el("div", "gcc-row-meta", t("pendingRequest", { what: t("r_" + row.pending_request) })));
    const actions = el("div", "gcc-row-actions");
    row.allowed_actions.forEach((action) => {
      const needs = needsOf(action);
      if (action === "dispatch") {
        const select = unitSelect(row.suggested_unit);
        const button = actionButton(action, true);
        button.addEventListener("click", (event) => {
          event.stopPropagation();
          if (!select.value) { select.focus(); return; }
          act(row, action, { unit: Number(select.value) }, button);
        });
        select.addEventListener("click", (event) => event.stopPropagation());
        actions.append(select, button);
      } else if (!needs.length) {
        const button = actionButton(action, false);
        button.addEventListener("click", (event) => { event.stopPropagation(); act(row, action, {}, button); });
        actions.append(button);
      } else {
        const button = actionButton(action, false);
        button.addEventListener("click", (event) => { event.stopPropagation(); openCase(row.id, action); });
        actions.append(button);
      }
    });
    if (row.allowed_actions.length) li.append(actions);
    li.addEventListener("click", () => { openCase(row.id); focusCase(row, false); });
    return li;
  }

  function actionButton(action, primary) {
    const danger = ["reject", "decline", "void"].indexOf(action) >= 0 || action.startsWith("deny_");
    const button = el("button", "gcc-act" + (primary ? " gcc-primary" : "") + (danger ? " gcc-danger" : ""), t("a_" + action));
    button.type = "button";
    button.dataset.action = action;
    return button;
  }

  // --- Acting ----------------------------------------------------------------------------------------------------
  // Every action sends the version the person saw; a 409 means someone else acted first.
  function act(row, action, inputs, button) {
    if (button) button.disabled = true;
    const body = Object.assign({ action: action, version: row.version }, inputs);
    return postJSON(config.urls.cases + row.id + "/transition", body).then((result) => {
      if (button) button.disabled = false;
      if (result.status === 200) {
        toast(t("done", { number: row.number, action: t("a_" + action) }));
        upsertCase(result.data);
        renderCases();
        loadQueues();
        loadCounts();
        if (state.selected === row.id) renderPanel(result.data, null, { ok: t("done", { number: row.number, action: t("a_" + action) }) });
        return true;
      }
      const message = errorText(result.data, result.status);
      if (result.status === 409 || result.status === 412) {
        toast(t("conflict", { detail: message }), true);
        loadQueues();
        openCase(row.id, null, { error: t("conflict", { detail: message }) });
      } else {
        toast(t("failed", { detail: message }), true);
        if (state.selected === row.id) showPanelMessage(t("failed", { detail: message }), true);
      }
      return false;
    }).catch((error) => {
      if (button) button.disabled = false;
      toast(t("failed", { detail: error.message }), true);
    });
  }

  // --- The case panel -----------------------------------------------------------------------------------------------
  const panel = document.getElementById("gcc-panel");
  let panelGeneration = 0;

  function openCase(id, withAction, message) {
    state.selected = id;
    const generation = ++panelGeneration;
    document.querySelectorAll(".gcc-row").forEach((li) => li.classList.toggle("gcc-selected", Number(li.dataset.case) === id));
    renderCases();
    return Promise.all([getJSON(config.urls.cases + id), loadUnits()]).then((results) => {
      const detail = results[0];
      if (generation !== panelGeneration) return null;
      const needSuggestion = detail.allowed_actions.indexOf("dispatch") >= 0;
      return (needSuggestion ? getJSON(config.urls.suggestion.replace("/0/", "/" + id + "/")) : Promise.resolve({}))
        .then((suggestion) => {
          if (generation !== panelGeneration) return;
          detail.suggested_unit = suggestion.suggested_unit || null;
          if (OPEN_STATUSES.indexOf(detail.status) >= 0) { upsertCase(detail); renderCases(); }
          renderPanel(detail, withAction, message);
        });
    }).catch((error) => {
      panel.hidden = false;
      panel.replaceChildren(el("p", "gcc-message gcc-error", t("failed", { detail: error.message })));
    });
  }

  function closePanel() {
    state.selected = null;
    panel.hidden = true;
    panel.replaceChildren();
    renderCases();
    map.invalidateSize();
  }

  function showPanelMessage(text, isError) {
    const box = panel.querySelector(".gcc-panel-message");
    if (!box) return;
    box.className = "gcc-panel-message gcc-message " + (isError ? "gcc-error" : "gcc-ok");
    box.textContent = text;
    box.hidden = false;
  }

  function fact(dl, label, value) {
    dl.append(el("dt", null, label));
    const dd = el("dd");
    if (value instanceof Node) dd.append(value); else dd.textContent = value === null || value === undefined || value === "" ? "—" : value;
    dl.append(dd);
  }

  function renderPanel(c, withAction, message) {
    const wasHidden = panel.hidden;
    panel.hidden = false;
    panel.replaceChildren();
    panel.dataset.case = c.id;
    panel.dataset.status = c.status;
    panel.dataset.version = c.version;
    const head = el("div", "gcc-panel-head");
    head.append(el("span", "gcc-dot gcc-light-" + c.light), el("h2", null, c.number), el("span", "gcc-status", c.status_display));
    const close = el("button", "gcc-close", "×");
    close.type = "button";
    close.title = t("close");
    close.setAttribute("aria-label", t("close"));
    close.addEventListener("click", closePanel);
    head.append(close);
    panel.append(head);
    const note = el("div", "gcc-panel-message gcc-message");
    note.hidden = true;
    panel.append(note);
    if (message && message.error) { note.hidden = false; note.classList.add("gcc-error"); note.textContent = message.error; }
    if (message && message.ok) { note.hidden = false; note.classList.add("gcc-ok"); note.textContent = message.ok; }
    if (c.pending_request) panel.append(el("div", "gcc-pending", t("pendingRequest", { what: t("r_" + c.pending_request) })));

    const dl = el("dl", "gcc-facts");
    fact(dl, t("f_category"), c.category ? [c.category.big_class, c.category.name].filter(Boolean).join(" / ") : "");
    fact(dl, t("f_grid"), c.grid ? c.grid.name + " " + c.grid.code : "");
    fact(dl, t("f_address"), c.address);
    fact(dl, t("f_description"), c.description);
    fact(dl, t("f_reporter"), c.reporter ? c.reporter.name : "");
    fact(dl, t("f_reported"), stamp(c.reported_at) + " (" + ago(c.reported_at) + ")");
    fact(dl, t("f_unit"), c.unit ? c.unit.name : "");
    const deadline = el("span");
    deadline.append(el("span", "gcc-dot gcc-light-" + c.light), document.createTextNode(" " + t("l_" + c.light) +
      (c.deadline ? " · " + stamp(c.deadline) + " · " + untilDeadline(c.deadline) : "")));
    fact(dl, t("f_deadline"), deadline);
    panel.append(dl);

    // Actions
    panel.append(el("h3", null, t("actionsTitle")));
    const actions = el("div", "gcc-actions");
    const formBox = el("div");
    if (!c.allowed_actions.length) panel.append(el("p", "gcc-empty", t("noActions")));
    c.allowed_actions.forEach((action) => {
      const button = actionButton(action, action === "dispatch");
      button.addEventListener("click", () => {
        if (!needsOf(action).length) { act(c, action, {}, button); return; }
        showForm(formBox, c, action);
      });
      actions.append(button);
    });
    panel.append(actions, formBox);
    if (withAction && c.allowed_actions.indexOf(withAction) >= 0 && needsOf(withAction).length) showForm(formBox, c, withAction);
    else if (c.allowed_actions.indexOf("dispatch") >= 0) showForm(formBox, c, "dispatch");

    // Photos
    if (c.photos && c.photos.length) {
      panel.append(el("h3", null, t("photos")));
      const photos = el("div", "gcc-photos");
      c.photos.forEach((photo) => {
        const link = el("a");
        link.href = photo.public;
        link.target = "_blank";
        link.rel = "noopener";
        const img = el("img");
        img.src = photo.thumbnail;
        img.alt = photo.stage;
        img.loading = "lazy";
        link.append(img);
        photos.append(link);
      });
      panel.append(photos);
    }

    // Duplicates
    if (c.duplicates) {
      panel.append(el("h3", null, t("duplicates")));
      if (!c.duplicates.length) panel.append(el("p", "gcc-empty", t("noDuplicates")));
      const list = el("ul", "gcc-dups");
      c.duplicates.forEach((dup) => {
        const li = el("li");
        const open = el("button", null, dup.number);
        open.type = "button";
        open.addEventListener("click", () => openCase(dup.id));
        li.append(open, el("span", null, t("distance", { m: Math.round(dup.distance_m) }) + " · " + dup.description));
        if (c.allowed_actions.indexOf("merge") >= 0) {
          const merge = actionButton("merge", false);
          merge.textContent = t("mergeInto", { number: dup.number });
          merge.addEventListener("click", () => act(c, "merge", { duplicate_of: dup.id }, merge));
          li.append(merge);
        }
        list.append(li);
      });
      panel.append(list);
    }

    // Timeline
    panel.append(el("h3", null, t("timeline")));
    const timeline = el("ol", "gcc-timeline");
    (c.events || []).slice().reverse().forEach((event) => {
      const li = el("li");
      li.append(el("strong", null, t("a_" + event.action)), document.createTextNode(" · " +
        (event.actor ? event.actor.name : "") + (event.unit ? " → " + event.unit.name : "")));
      li.append(el("div", "gcc-when", stamp(event.at) + (event.to ? " · " + t("s_" + event.to) : "")));
      if (event.reason) li.append(el("div", "gcc-reason", event.reason));
      timeline.append(li);
    });
    panel.append(timeline);
    if (wasHidden) map.invalidateSize();
  }

  function showForm(box, c, action) {
    box.replaceChildren();
    const form = el("form", "gcc-form");
    form.dataset.action = action;
    const needs = needsOf(action);
    const field = (label, control) => { const l = el("label"); l.append(el("span", null, label), control); form.append(l); };
    if (needs.indexOf("unit") >= 0) field(t("i_unit"), unitSelect(c.suggested_unit));
    if (needs.indexOf("outcome") >= 0) {
      const select = el("select");
      select.name = "outcome";
      ({ verify: ["confirmed", "not_confirmed"], check: ["pass", "fail"] }[action] || []).forEach((o) => {
        const option = el("option", null, t("o_" + o));
        option.value = o;
        select.append(option);
      });
      field(t("i_outcome"), select);
    }
    if (needs.indexOf("duplicate_of") >= 0) {
      const input = el("input");
      input.name = "duplicate_of";
      input.required = true;
      if (c.duplicates && c.duplicates.length) input.value = c.duplicates[0].number;
      field(t("i_duplicate_of"), input);
    }
    if (needs.indexOf("amount") >= 0) {
      const input = el("input");
      input.type = "number"; input.min = "1"; input.name = "amount_minutes"; input.required = true;
      field(t("i_amount"), input);
    }
    if (needs.indexOf("location") >= 0) {
      ["lon", "lat"].forEach((k) => {
        const input = el("input");
        input.type = "number"; input.step = "0.000001"; input.name = k; input.value = c[k];
        field(t("i_" + k), input);
      });
    }
    if (needs.indexOf("reason") >= 0) {
      const area = el("textarea");
      area.name = "reason"; area.rows = 2; area.required = true;
      field(t("i_reason"), area);
    }
    const buttons = el("div", "gcc-actions");
    const submit = el("button", "gcc-primary", t("a_" + action));
    submit.type = "submit";
    const cancel = el("button", null, t("cancel"));
    cancel.type = "button";
    cancel.addEventListener("click", () => box.replaceChildren());
    buttons.append(submit, cancel);
    form.append(buttons);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const inputs = {};
      new FormData(form).forEach((value, key) => {
        if (value === "") return;
        inputs[key] = ["unit", "amount_minutes", "lon", "lat"].indexOf(key) >= 0 ? Number(value) : value;
      });
      if (needs.indexOf("unit") >= 0 && !inputs.unit) { form.querySelector("select[name=unit]").focus(); return; }
      act(c, action, inputs, submit);
    });
    box.append(form);
  }

  function focusCase(rowOrId, open) {
    const row = typeof rowOrId === "object" ? rowOrId : state.cases.get(Number(rowOrId));
    if (!row || row.lat === null) return;
    map.setView([row.lat, row.lon], Math.max(map.getZoom(), CLUSTER_BELOW_ZOOM + 1));
    if (open) openCase(row.id);
  }

  // --- Alerts -----------------------------------------------------------------------------------------------------
  const alertsBox = document.getElementById("gcc-alerts");
  const alertsButton = document.getElementById("gcc-alerts-button");
  const seqKey = "gridcase.console.alertSeq." + config.user.id;
  let unread = 0;

  function renderBadge() {
    const badge = document.getElementById("gcc-alert-badge");
    badge.textContent = String(unread);
    badge.hidden = unread <= 0;
  }

  function renderAlerts() {
    alertsBox.replaceChildren();
    const items = Array.from(state.alerts.values()).sort((a, b) => b.seq - a.seq).slice(0, 50);
    if (!items.length) alertsBox.append(el("p", "gcc-empty", t("noAlerts")));
    const list = el("ol");
    items.forEach((alert) => {
      const li = el("li", alert.read ? "" : "gcc-unread");
      li.dataset.seq = alert.seq;
      const c = alert.case || {};
      const report = alert.report;  // report_published: no case, a link to the report
      li.append(el("div", null, t("t_" + alert.type) + " · " + (c.number || (report ? report.label : ""))),
        el("div", "gcc-row-meta", stamp(alert.at) + (report ? "" : " · " + (c.category || "") + " · " + (c.grid || ""))));
      if (c.id) li.addEventListener("click", () => { openCase(c.id); if (state.cases.has(c.id)) focusCase(c.id, false); });
      else if (report && report.url) li.addEventListener("click", () => { window.open(report.url, "_blank", "noopener"); });
      list.append(li);
    });
    alertsBox.append(list);
    const foot = el("div", "gcc-alerts-foot");
    const read = el("button", "gcc-act", t("markRead"));
    read.type = "button";
    read.addEventListener("click", () => {
      const top = Math.max(0, ...Array.from(state.alerts.keys()));
      postJSON(config.urls.alertsRead, { up_to: top }).then((result) => {
        if (result.status === 200) {
          unread = result.data.unread;
          state.alerts.forEach((a) => { a.read = true; });
          renderBadge();
          renderAlerts();
        }
      });
    });
    foot.append(read);
    alertsBox.append(foot);
  }

  alertsButton.addEventListener("click", () => {
    alertsBox.hidden = !alertsBox.hidden;
    alertsButton.setAttribute("aria-expanded", String(!alertsBox.hidden));
    if (!alertsBox.hidden) renderAlerts();
  });

  function lastSeq() { return Number(localStorage.getItem(seqKey) || 0); }
  function remember(seq) { if (seq > lastSeq()) localStorage.setItem(seqKey, String(seq)); }

  // The socket first replays what came after the last seq this browser saw, then pushes live
  // alerts: only those made since the page opened are new to the badge (its count is the server's).
  const openedAt = Date.now() - 10000;
  function receiveAlert(alert) {
    if (state.alerts.has(alert.seq)) return;
    state.alerts.set(alert.seq, alert);
    remember(alert.seq);
    const live = new Date(alert.at).getTime() >= openedAt;
    if (live) unread += 1;
    renderBadge();
    if (!alertsBox.hidden) renderAlerts();
    if (!live) return;
    const c = alert.case;
    toast(t("t_" + alert.type) + " · " + (c ? c.number : (alert.report ? alert.report.label : "")), alert.type === "overdue");
    if (c && c.id) refreshCase(c.id);
  }

  function loadAlerts() {
    // Recent unread alerts for the badge and list; the socket replays from the last seq seen here.
    const since = Math.max(0, lastSeq() - 50);
    return getJSON(config.urls.alerts + query({ since: since, limit: 200 })).then((data) => {
      unread = data.unread;
      (data.results || []).forEach((a) => state.alerts.set(a.seq, a));
      renderBadge();
    }).catch(() => {});
  }

  // --- Live: sockets ------------------------------------------------------------------------------------------------
  function socket(path, onOpen, onMessage) {
    let delay = 1000;
    function connect() {
      const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
      ws.addEventListener("open", () => { delay = 1000; root.dataset.live = (root.dataset.live || "") + path; onOpen(ws); });
      ws.addEventListener("message", (event) => {
        let message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        onMessage(message);
      });
      ws.addEventListener("close", () => {
        root.dataset.live = (root.dataset.live || "").split(path).join("");
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30000);
      });
    }
    connect();
  }

  function refreshCase(id) {
    return getJSON(config.urls.cases + id).then((detail) => {
      upsertCase(detail);
      renderCases();
      if (state.selected === id && !panel.querySelector("form.gcc-form")) {
        detail.suggested_unit = null;
        openCase(id);
      }
    }).catch(() => {});
  }

  let queueTimer = null;
  function queuesSoon() {
    clearTimeout(queueTimer);
    queueTimer = setTimeout(() => { loadQueues(); loadCounts(); }, 300);
  }

  function onCaseChanged(message) {
    if (message.type !== "case.changed" || !message.case) return;
    const c = message.case;
    const known = state.cases.get(c.id);
    // Show it at once from the push, then fetch the full row (filters need more than the push has).
    if (OPEN_STATUSES.indexOf(c.status) >= 0) {
      const row = Object.assign({}, known || {}, {
        id: c.id, number: c.number, status: c.status, light: c.light, lon: c.lon, lat: c.lat,
        grid: known ? known.grid : (c.grid ? { code: c.grid, name: c.grid } : null),
        category: known ? known.category : { id: null, name: c.category },
      });
      if (!known) state.fresh.add(c.id);
      if (!known && message.action === "report") toast(t("newCase", { number: c.number }));
      if (matchesFilters(row)) state.cases.set(c.id, row); else state.cases.delete(c.id);
    } else {
      state.cases.delete(c.id);
    }
    renderCases();
    renderBreadcrumb();
    refreshCase(c.id);
    queuesSoon();
  }

  // --- Timers: lights turn on their own -------------------------------------------------------------------------------
  // Every 20 s a handling case past its deadline turns red here; every 2 min the lists are re-read
  // (yellow needs the working calendar, which the server applies; its alarms also arrive as alerts).
  setInterval(() => {
    let changed = false;
    const now = Date.now();
    state.cases.forEach((row) => {
      if (row.status === "handling" && row.deadline && row.light !== "red" && new Date(row.deadline).getTime() < now) {
        row.light = "red";
        changed = true;
      }
    });
    if (changed) renderCases();
  }, 20000);
  setInterval(() => { loadCases(); loadQueues(); loadCounts(); }, 120000);

  // --- Toolbar --------------------------------------------------------------------------------------------------------
  function option(select, value, label) {
    const o = el("option", null, label);
    o.value = value;
    select.append(o);
    return o;
  }
  const metricSelect = document.getElementById("gcc-metric");
  METRICS.forEach((m) => option(metricSelect, m, t("m_" + m)));
  metricSelect.value = state.metric;
  const periodSelect = document.getElementById("gcc-period");
  ["this_week", "last_week", "this_month", "custom"].forEach((p) => option(periodSelect, p, t("p_" + p)));
  periodSelect.value = state.period;
  const statusSelect = document.getElementById("gcc-status");
  option(statusSelect, "", t("allOpen"));
  OPEN_STATUSES.forEach((s) => option(statusSelect, s, t("s_" + s)));
  const categorySelect = document.getElementById("gcc-category");
  option(categorySelect, "", t("allCategories"));
  getJSON(config.urls.categories).then((rows) => {
    const groups = new Map();
    (rows.results || rows).forEach((row) => {
      const name = row.big_class ? row.big_class.name : "";
      if (!groups.has(name)) {
        const group = el("optgroup");
        group.label = name;
        groups.set(name, group);
        categorySelect.append(group);
      }
      option(groups.get(name), row.id, row.code + " " + row.name);
    });
  }).catch(() => {});

  const dates = document.getElementById("gcc-dates");
  document.getElementById("gcc-start").max = todayISO();
  document.getElementById("gcc-end").max = todayISO();
  metricSelect.addEventListener("change", () => {
    state.metric = metricSelect.value;
    restyleGrids();
    renderLegend();
  });
  periodSelect.addEventListener("change", () => {
    state.period = periodSelect.value;
    dates.hidden = state.period !== "custom";
    if (state.period === "custom") {
      const range = periodRange();
      document.getElementById("gcc-start").value = range[0];
      document.getElementById("gcc-end").value = addDays(range[1], -1);
    }
    loadMetrics();
  });
  ["gcc-start", "gcc-end"].forEach((id) => document.getElementById(id).addEventListener("change", loadMetrics));
  function onFilter() {
    state.filters = {
      status: statusSelect.value, category: categorySelect.value,
      overdue: document.getElementById("gcc-overdue").checked,
      supervised: document.getElementById("gcc-supervised").checked,
    };
    reloadData();
  }
  [statusSelect, categorySelect, document.getElementById("gcc-overdue"), document.getElementById("gcc-supervised")]
    .forEach((node) => node.addEventListener("change", onFilter));

  function reloadData() { loadCases(); loadQueues(); loadCounts(); }

  map.on("moveend", loadGrids);
  map.on("zoomend", renderCases);

  // --- Start ------------------------------------------------------------------------------------------------------------
  renderLegend();
  renderBreadcrumb();
  setState();
  loadUnits().catch(() => {});
  Promise.all([loadAreas(), loadGrids(), loadMetrics(), loadCounts(), loadCases(), loadQueues(), loadAlerts()])
    .then(() => {
      socket(config.urls.wsCases, () => {}, onCaseChanged);
      socket(config.urls.wsAlerts, (ws) => ws.send(JSON.stringify({ since: lastSeq() })), (message) => {
        if (typeof message.seq === "number") receiveAlert(message);
      });
    });

  // For people who want a case by number in the address (#case=ID) and for the browser tests.
  window.gridcaseConsole = { openCase: openCase, focusCase: focusCase, state: state, toGcj: GCJ.fromWgs84, map: map };
  const hash = location.hash.match(/case=(\d+)/);
  if (hash) openCase(Number(hash[1]));
})();
