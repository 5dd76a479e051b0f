// Live console pages (派单台 and 工作台): new requests appear, changed requests redraw,
// counts follow, all without a reload.
// Gets a five-minute API token from the console (session + CSRF), opens WS /ws/v1/ with it
// as a subprotocol, subscribes to the region's staff streams. On any service_request.*
// event it refetches the counts (one small JSON GET, debounced: a bulk assign sends many
// events); on the board it also inserts the row of a new request and redraws the row of a
// changed one (server-rendered, same access check; a row the user may no longer see goes).
// Reconnects with a fresh token after a drop.
(function () {
  "use strict";
  var script = document.currentScript;
  var tokenUrl = script.getAttribute("data-token-url");
  var rowUrl = script.getAttribute("data-row-url");
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

  function fetchRow(id, changed) {
    var url = rowUrl.replace("{id}", id) + (changed ? "?changed=1" : "");
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 404) return null;  // no longer mine to see
      return r.ok ? r.text() : "";
    });
  }

  // The caption counts the rows on the page: recounted from the table after every insert or
  // removal, so it cannot drift from what the officer sees.
  function recount() {
    var node = document.getElementById("dispatch-row-count");
    if (!node || !rows) return;
    var n = rows.querySelectorAll("tr[data-request]").length;
    node.textContent = n;
    node.setAttribute("data-row-count", n);
  }

  function rowFrom(html) {
    var tmp = document.createElement("tbody");
    tmp.innerHTML = html.trim();
    return tmp.firstElementChild;
  }

  function insertRow(id) {
    if (!rows || rows.querySelector('tr[data-request="' + id + '"]')) return;
    fetchRow(id, false).then(function (html) {
      if (!html || rows.querySelector('tr[data-request="' + id + '"]')) return;
      var empty = rows.querySelector(".empty-row");
      if (empty) empty.remove();
      var row = rowFrom(html);
      if (row) { rows.insertBefore(row, rows.firstChild); recount(); say("新工单 #" + id + " 已到达"); }
    });
  }

  function redrawRow(id) {
    var old = rows && rows.querySelector('tr[data-request="' + id + '"]');
    if (!old) return;
    var picked = old.querySelector('input[name="ids"]');
    var wasPicked = picked && picked.checked;
    fetchRow(id, true).then(function (html) {
      var current = rows.querySelector('tr[data-request="' + id + '"]');
      if (!current) return;
      if (html === null) { current.remove(); recount(); return; }
      if (!html) return;
      var row = rowFrom(html);
      if (!row) return;
      var box = row.querySelector('input[name="ids"]');
      if (box && wasPicked) box.checked = true;  // keep the officer's selection for bulk assign
      current.replaceWith(row);
      say("工单 #" + id + " 状态已更新");
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
    if (typeof data.type !== "string" || data.type.indexOf("service_request.") !== 0) return;
    var id = data.payload && data.payload.id;
    if (id && rows) {
      if (data.type === "service_request.created") insertRow(id);
      else redrawRow(id);
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
