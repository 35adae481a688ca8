// The reports list: request a report, then follow its progress until it is published or fails.
(function () {
  "use strict";
  const form = document.getElementById("rl-request");
  const status = document.getElementById("rl-status");
  const zh = (document.documentElement.lang || "").toLowerCase().startsWith("zh");
  const T = zh
    ? { queued: "已排队…", building: "生成中", published: "已发布", draft: "草稿已生成", failed: "失败", offline: "网络不可用，请稍后重试" }
    : { queued: "Queued…", building: "Building", published: "Published", draft: "Draft built", failed: "Failed", offline: "No network: try again later" };

  function csrf() {
    const input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function explain(body) {
    if (!body) return "";
    if (body.detail) return body.detail;
    return Object.entries(body).filter(([k]) => k !== "report")
      .map(([k, v]) => k + ": " + (Array.isArray(v) ? v.join(" ") : v)).join("; ");
  }

  function follow(id) {
    fetch("/api/reports/" + id, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => r.json())
      .then((r) => {
        if (r.state === "published" || r.state === "draft") { status.textContent = T[r.state]; window.location.reload(); return; }
        if (r.state === "failed") { status.textContent = T.failed + ": " + r.error + " " + (r.failure_help || ""); return; }
        status.textContent = (r.state === "queued" ? T.queued : T.building + " " + r.progress + "% " + (r.step || ""));
        setTimeout(() => follow(id), 1000);
      })
      .catch(() => { status.textContent = T.offline; setTimeout(() => follow(id), 3000); });
  }

  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const body = { kind: data.get("kind"), period: data.get("period").trim(), revise: data.get("revise") === "on",
                     reason: data.get("reason") || "" };
      status.textContent = T.queued;
      fetch(form.dataset.url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify(body),
      }).then((answer) => answer.json().then((json) => ({ answer, json })))
        .then(({ answer, json }) => {
          if (answer.status === 202) follow(json.id);
          else status.textContent = explain(json);
        })
        .catch(() => { status.textContent = T.offline; });
    });
  }
  // Reports being built when the page opened: follow them too.
  document.querySelectorAll("tr[data-report] progress").forEach((bar) => {
    const id = bar.closest("tr").dataset.report;
    if (status) follow(id);
  });
})();
