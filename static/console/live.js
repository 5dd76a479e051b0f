// Live dispatch board: new requests appear without a reload.
// Gets a five-minute API token from the console (session + CSRF), opens WS /ws/v1/ with it
// as a subprotocol, subscribes to the region's staff streams, and inserts the server-
// rendered row of each new request. Reconnects with a fresh token after a drop.
(function () {
  "use strict";
  var script = document.currentScript;
  var tokenUrl = script.getAttribute("data-token-url");
  var rowUrl = script.getAttribute("data-row-url");
  var csrf = script.getAttribute("data-csrf");
  var streams = JSON.parse(document.getElementById("realtime-streams").textContent);
  var rows = document.getElementById("dispatch-rows");
  var status = document.getElementById("live-status");
  var retry = 1000;
  if (!streams.length || !rows) return;

  function say(text) { if (status) status.textContent = text; }

  function insertRow(id) {
    if (rows.querySelector('tr[data-request="' + id + '"]')) return;
    fetch(rowUrl.replace("{id}", id), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        if (!html) return;
        var empty = rows.querySelector(".empty-row");
        if (empty) empty.remove();
        var tmp = document.createElement("tbody");
        tmp.innerHTML = html.trim();
        var row = tmp.firstElementChild;
        if (row) { rows.insertBefore(row, rows.firstChild); say("新工单 #" + id + " 已到达"); }
      });
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
          if (data.type === "subscribed") { document.body.setAttribute("data-live", "on"); say("实时更新已开启"); }
          if (data.type === "service_request.created" && data.payload) insertRow(data.payload.id);
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
