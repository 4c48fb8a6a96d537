/*
 * The corpus page: every action goes through the token-checked admin API (/api/admin/…).
 * The token lives in sessionStorage only, so it is gone when the tab closes. Every piece
 * of server or document text reaches the page through textContent, never innerHTML.
 */
(function () {
  "use strict";
  var KEY = "pq-admin-token";
  var $ = function (sel) { return document.querySelector(sel); };
  var kindLabels = {};
  var token = function () { try { return sessionStorage.getItem(KEY) || ""; } catch (e) { return ""; } };

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  async function api(method, path) {
    var r = await fetch("/api/admin" + path, { method: method, headers: { Authorization: "Bearer " + token() } });
    var body = {};
    try { body = await r.json(); } catch (e) { body = {}; }
    if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
    return body;
  }

  // ---- sign in --------------------------------------------------------------------
  async function enter() {
    try {
      var fields = await api("GET", "/fields");
      kindLabels = fields.kind_labels || {};
      fillSelect("kind", fields.kinds, fields.kind_labels, "policy");
      fillSelect("legal_level", [""].concat(fields.legal_levels), { "": "（未指定）" }, "");
      fillSelect("status", fields.statuses, {}, fields.unchecked);
      $("#signin").hidden = true;
      $("#manage").hidden = false;
      await refresh();
      return true;
    } catch (err) {
      try { sessionStorage.removeItem(KEY); } catch (e) { /* private mode */ }
      $("#signin").hidden = false;
      $("#manage").hidden = true;
      var msg = $("#signin-msg");
      msg.className = "msg error";
      msg.textContent = /401|token/.test(err.message) ? "令牌不对，请重新输入。" : "无法进入：" + err.message;
      return false;
    }
  }

  function fillSelect(name, values, labels, chosen) {
    var sel = document.querySelector("#upload-form [name=" + name + "]");
    sel.textContent = "";
    values.forEach(function (v) {
      var o = el("option", { value: v }, labels[v] || v);
      if (v === chosen) o.defaultSelected = o.selected = true;  // form.reset() comes back to it
      sel.appendChild(o);
    });
  }

  $("#signin-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    try { sessionStorage.setItem(KEY, $("#token").value.trim()); } catch (e) { /* private mode */ }
    $("#token").value = "";
    enter().then(function (ok) { if (ok) $("#upload-h").focus && $("#main").focus(); });
  });

  // ---- the document list ------------------------------------------------------------
  async function refresh() {
    var data = await api("GET", "/documents");
    var body = $("#docs tbody");
    body.textContent = "";
    data.documents.forEach(function (d) {
      var tr = el("tr", { "data-doc": d.doc_id });
      var title = el("td");
      title.appendChild(el("strong", {}, d.title));
      // An upload can be deleted; a document of the corpus folder is withdrawn (and can come back).
      title.appendChild(el("span", { class: "id" }, d.doc_id + (d.uploaded ? " · 网页上传" : " · 语料目录")));
      tr.appendChild(title);
      tr.appendChild(el("td", {}, [kindLabels[d.kind] || d.kind, d.legal_level].filter(Boolean).join(" · ")));
      tr.appendChild(el("td", {}, [d.issuer, d.doc_number].filter(Boolean).join(" · ")));
      tr.appendChild(el("td", {}, d.date || ""));
      tr.appendChild(el("td", {}, [(d.cities || []).join("、"), (d.domains || []).join("、")].filter(Boolean).join(" · ")));
      tr.appendChild(el("td", { class: "chunks" }, d.chunks));
      tr.appendChild(el("td", {}, d.status || ""));
      var indexing = el("td", { class: "indexing" });
      var bar = el("progress", { max: "3", value: "0", hidden: "" });
      bar.setAttribute("aria-label", "《" + d.title + "》索引进度");
      indexing.appendChild(bar);
      indexing.appendChild(el("span", { class: "state" }, ""));
      tr.appendChild(indexing);
      var actions = el("td", { class: "actions" });
      var remove = el("button", { type: "button", class: d.uploaded ? "danger" : "secondary" }, d.uploaded ? "删除" : "撤下");
      remove.setAttribute("aria-label", (d.uploaded ? "删除" : "撤下") + "《" + d.title + "》");
      remove.addEventListener("click", function () { removeDoc(d, remove); });
      actions.appendChild(remove);
      tr.appendChild(actions);
      body.appendChild(tr);
    });
    var list = $("#withdrawn");
    list.textContent = "";
    if (!data.withdrawn.length) list.appendChild(el("li", { class: "empty" }, "没有撤下的文件。"));
    data.withdrawn.forEach(function (w) {
      var li = el("li", { class: "job" });
      li.appendChild(el("span", { class: "name" }, w.title || w.doc_id));
      var back = el("button", { type: "button", class: "secondary" }, "恢复");
      back.setAttribute("aria-label", "恢复《" + (w.title || w.doc_id) + "》");
      back.addEventListener("click", function () { restoreDoc(w, back); });
      li.appendChild(back);
      list.appendChild(li);
    });
  }

  async function removeDoc(d, button) {
    var what = d.uploaded ? "删除上传的文件" : "撤下语料目录中的文件（可以恢复）";
    if (!window.confirm(what + "：《" + d.title + "》？")) return;
    button.disabled = true;
    try { await api("DELETE", "/documents/" + encodeURIComponent(d.doc_id)); say("已" + (d.uploaded ? "删除" : "撤下") + "《" + d.title + "》。"); }
    catch (err) { say("操作失败：" + err.message, true); }
    await refresh();
  }

  async function restoreDoc(w, button) {
    button.disabled = true;
    var job = null;
    try { job = await follow(await api("POST", "/documents/" + encodeURIComponent(w.doc_id) + "/restore")); }
    catch (err) { say("恢复失败：" + err.message, true); }
    await refresh();
    if (job) { showDocuments(job.documents); showErrors(job.report ? job.report.errors : []); }
  }

  function say(text, error) {
    var msg = $("#reindex-msg");
    msg.className = error ? "msg error" : "msg";
    msg.textContent = text;
  }

  // ---- re-index: a background job, polled until it ends ------------------------------
  // A document's bar: read (1 of 3), embedded (2), stored (3); its words say the rest.
  var STEPS = { reading: [1, "读取中"], embedding: [2, "生成向量"], indexed: [3, "已更新"],
                unchanged: [3, "无变化"], withdrawn: [3, "已撤下"], failed: [3, "失败"] };

  function showDocuments(states) {
    Object.keys(states || {}).forEach(function (id) {
      var row = Array.from(document.querySelectorAll("#docs tbody tr")).find(function (r) { return r.getAttribute("data-doc") === id; });
      if (!row) return;
      var step = STEPS[states[id]] || [0, states[id]];
      var bar = row.querySelector("td.indexing progress");
      bar.hidden = false;
      bar.value = step[0];
      var words = row.querySelector("td.indexing .state");
      words.textContent = step[1];
      words.className = states[id] === "failed" ? "state error" : "state";
    });
  }

  function showErrors(lines) {
    var list = $("#errors");
    (lines || []).forEach(function (line) {
      var li = el("li", { class: "job failed" });
      li.appendChild(el("span", { class: "name" }, line));
      var clear = el("button", { type: "button", class: "secondary" }, "清除");
      clear.setAttribute("aria-label", "清除这条错误：" + line.slice(0, 40));
      clear.addEventListener("click", function () { li.remove(); });
      li.appendChild(clear);
      list.appendChild(li);
    });
  }

  async function follow(job) {
    var bar = $("#reindex-progress");
    bar.hidden = false;
    bar.max = job.total || 2;
    while (job.state === "queued" || job.state === "running") {
      bar.value = job.done || 0;
      showDocuments(job.documents);
      say("正在重新索引（" + (job.stage === "uploads" ? "上传的文件" : "语料目录") + "）…");
      await new Promise(function (ok) { setTimeout(ok, 400); });
      job = await api("GET", "/jobs/" + job.id);
    }
    bar.value = bar.max;
    if (job.state === "failed") say("重新索引失败：" + job.error, true);
    else say("重新索引完成：资料库共 " + (job.report ? job.report.chunks : 0) + " 段。");
    return job;
  }

  $("#reindex").addEventListener("click", async function () {
    var b = $("#reindex");
    b.disabled = true;
    var job = null;
    try { job = await follow(await api("POST", "/reindex")); } catch (err) { say("重新索引失败：" + err.message, true); }
    b.disabled = false;
    await refresh();
    if (job) { showDocuments(job.documents); showErrors(job.report ? job.report.errors : []); }
  });

  // ---- upload: one line per file, with its progress, its result or its error ----------
  $("#upload-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var form = ev.target;
    var file = form.file.files[0];
    if (!file) return;
    var data = new FormData(form);
    Array.from(data.keys()).forEach(function (k) { if (data.get(k) === "") data.delete(k); });
    var list = $("#uploads");
    var empty = list.querySelector(".empty");
    if (empty) empty.remove();
    var li = el("li", { class: "job running" });
    li.appendChild(el("span", { class: "name" }, file.name));
    var bar = el("progress", { max: "100", value: "0" });
    bar.setAttribute("aria-label", file.name + " 上传进度");
    li.appendChild(bar);
    var state = el("span", { class: "state", role: "status" }, "正在上传…");
    li.appendChild(state);
    list.prepend(li);

    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/admin/documents");
    xhr.setRequestHeader("Authorization", "Bearer " + token());
    // Sending is the first half of the bar; reading and indexing on the server the second.
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) bar.value = Math.round(50 * e.loaded / e.total); };
    xhr.upload.onload = function () { bar.value = 50; state.textContent = "正在读取并建立索引…"; };
    xhr.onerror = function () { done(false, "连接中断，文件没有上传。"); };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
      if (xhr.status === 201) {
        done(true, "已加入资料库：《" + body.document.title + "》，问答现在可以引用它。");
        form.reset();
        refresh();
      } else {
        done(false, body.error || ("HTTP " + xhr.status));
      }
    };
    function done(ok, text) {
      bar.value = 100;
      li.className = "job " + (ok ? "done" : "failed");
      state.textContent = ok ? text : "未能加入：" + text;
      var clear = el("button", { type: "button", class: "secondary" }, "清除");
      clear.setAttribute("aria-label", "清除 " + file.name + " 这条记录");
      clear.addEventListener("click", function () { li.remove(); if (!list.children.length) list.appendChild(el("li", { class: "empty" }, "还没有上传。")); });
      li.appendChild(clear);
    }
    xhr.send(data);
  });

  if (token()) enter();
})();
