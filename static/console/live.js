// Live console pages (派单台, 案件总台 and 工作台): new rows appear, changed rows redraw,
// counts follow, all without a reload.
// Gets a five-minute API token from the console (session + CSRF), opens WS /ws/v1/ with it
// as a subprotocol, subscribes to the page's streams. On an event the page listens to it
// refetches the counts (one small JSON GET, debounced: a bulk assign sends many events); on a
// board it also inserts the row of a new item and redraws the row of a changed one
// (server-rendered, same access check; a row the user may no longer see goes).
//   派单台 (data-board absent): service_request.* frames, rows tr[data-request=<request id>].
//   案件总台 (data-board="cases"): case.* frames (rows tr[data-case=<case id>]) and the services
//   app's service_request.* frames (rows tr[data-ref="service_request:<request id>"]); a new
//   row is asked for with match=1 and the page's filters, and the server answers 204 when it
//   does not match them, so the page adds only rows it would have listed.
// Reconnects with a fresh token after a drop.
(function () {
  "use strict";
  var script = document.currentScript;
  var tokenUrl = script.getAttribute("data-token-url");
  var rowUrl = script.getAttribute("data-row-url");
  var refRowUrl = script.getAttribute("data-ref-row-url");
  var caseBoard = script.getAttribute("data-board") === "cases";
  var countsUrl = script.getAttribute("data-counts-url");
  var csrf = script.getAttribute("data-csrf");
  var streamsNode = document.getElementById("realtime-streams");
  var streams = streamsNode ? JSON.parse(streamsNode.textContent) : [];
  var rows = document.getElementById("dispatch-rows");
  var status = document.getElementById("live-status");
  var retry = 1000;
  var countsTimer = null;
  if (!streams.length) return;

  function say(text) { if (status) status.textContent = text; }

  // A row is found by `selector` and fetched from `url` (with {id} filled in).
  function target(kind, id) {
    if (!caseBoard) return { selector: 'tr[data-request="' + id + '"]', url: rowUrl, id: id };
    if (kind === "service_request") return { selector: 'tr[data-ref="service_request:' + id + '"]', url: refRowUrl, id: id };
    return { selector: 'tr[data-case="' + id + '"]', url: rowUrl, id: id };
  }

  function fetchRow(t, changed) {
    var url = t.url.replace("{id}", t.id);
    if (caseBoard) url = url.replace("{match}", changed ? "0" : "1");
    else url += changed ? "?changed=1" : "";
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 404) return null;  // no longer mine to see
      if (r.status === 204) return "";  // not one this page lists (its filters)
      return r.ok ? r.text() : "";
    });
  }

  // The caption counts the rows on the page: recounted from the table after every insert or
  // removal, so it cannot drift from what the officer sees.
  function recount() {
    var node = document.getElementById("dispatch-row-count");
    if (!node || !rows) return;
    var n = rows.querySelectorAll("tr[data-request], tr[data-case]").length;
    node.textContent = n;
    node.setAttribute("data-row-count", n);
  }

  function rowFrom(html) {
    var tmp = document.createElement("tbody");
    tmp.innerHTML = html.trim();
    return tmp.firstElementChild;
  }

  function insertRow(t) {
    if (!rows || rows.querySelector(t.selector)) return;
    fetchRow(t, false).then(function (html) {
      if (!html || rows.querySelector(t.selector)) return;
      var row = rowFrom(html);
      // A service request's case may already be listed under its case id (a case.* frame came first).
      if (!row || (row.hasAttribute("data-case") && rows.querySelector('tr[data-case="' + row.getAttribute("data-case") + '"]'))) return;
      var empty = rows.querySelector(".empty-row");
      if (empty) empty.remove();
      rows.insertBefore(row, rows.firstChild); recount(); say((caseBoard ? "新案件 " : "新工单 #" + t.id + " ") + "已到达");
    });
  }

  function redrawRow(t) {
    var old = rows && rows.querySelector(t.selector);
    if (!old) return;
    var picked = old.querySelector('input[name="ids"]');
    var wasPicked = picked && picked.checked;
    fetchRow(t, true).then(function (html) {
      var current = rows.querySelector(t.selector);
      if (!current) return;
      if (html === null) { current.remove(); recount(); return; }
      if (!html) return;
      var row = rowFrom(html);
      if (!row) return;
      var box = row.querySelector('input[name="ids"]');
      if (box && wasPicked) box.checked = true;  // keep the officer's selection for bulk assign
      current.replaceWith(row);
      say((caseBoard ? "案件" : "工单 #" + t.id + " ") + "状态已更新");
    });
  }

  function drawCounts(counts) {
    Object.keys(counts).forEach(function (key) {
      var value = counts[key];
      // Board: data-count-status="<key>"; 工作台: the card data-card="<key>".
      var nodes = document.querySelectorAll('[data-count-status="' + key + '"], [data-card="' + key + '"] .count');
      nodes.forEach(function (node) {
        node.textContent = value;
        node.setAttribute("data-count", value);
        var card = node.closest(".card");
        if (card && card.hasAttribute("data-urgent")) card.classList.toggle("is-urgent", value > 0);
      });
    });
  }

  function refreshCounts() {
    if (!countsUrl) return;
    clearTimeout(countsTimer);
    countsTimer = setTimeout(function () {
      fetch(countsUrl, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (counts) { if (counts) drawCounts(counts); });
    }, 250);
  }

  function onEvent(data) {
    if (typeof data.type !== "string") return;
    var payload = data.payload || {};
    var t = null, created = false;
    if (data.type.indexOf("service_request.") === 0) {
      if (payload.id) t = target("service_request", payload.id);
      created = data.type === "service_request.created";
    } else if (caseBoard && data.type.indexOf("case.") === 0) {
      if (payload.case_id) t = target("case", payload.case_id);
      created = data.type === "case.created";
    } else {
      return;
    }
    if (t && rows) {
      // On 案件总台 a case moved into the page's view (transferred to my unit, reopened …) is
      // added like a new one, if it matches the filters.
      if (created || (caseBoard && !rows.querySelector(t.selector))) insertRow(t);
      else redrawRow(t);
    }
    refreshCounts();
  }

  function connect() {
    fetch(tokenUrl, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf } })
      .then(function (r) { if (!r.ok) throw new Error("token " + r.status); return r.json(); })
      .then(function (body) {
        var scheme = location.protocol === "https:" ? "wss://" : "ws://";
        var ws = new WebSocket(scheme + location.host + "/ws/v1/", ["bearer", body.token]);
        ws.onopen = function () {
          retry = 1000;
          streams.forEach(function (s) { ws.send(JSON.stringify({ action: "subscribe", stream: s })); });
        };
        ws.onmessage = function (msg) {
          var data;
          try { data = JSON.parse(msg.data); } catch (e) { return; }
          if (data.type === "subscribed") {
            document.body.setAttribute("data-live", "on");
            say("实时更新已开启");
            refreshCounts();  // catch up on what changed while we were away
            return;
          }
          onEvent(data);
        };
        ws.onclose = function () {
          document.body.setAttribute("data-live", "off");
          say("实时连接已断开，正在重连…");
          setTimeout(connect, retry);
          retry = Math.min(retry * 2, 30000);
        };
      })
      .catch(function () { setTimeout(connect, retry); retry = Math.min(retry * 2, 30000); });
  }
  connect();
})();
