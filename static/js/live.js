// Live session page: tell the server the last seq we rendered on every
// (re)connect, so it sends exactly the missing events, and whose composer the
// page shows, so a seat change it missed swaps it; reload when asked.
(function () {
  function lastSeq() {
    var marker = document.getElementById("last-seq");
    return marker ? parseInt(marker.dataset.seq || "0", 10) : 0;
  }
  document.body.addEventListener("htmx:wsOpen", function (evt) {
    var composer = document.getElementById("composer");
    var root = document.getElementById("live-root");
    evt.detail.socketWrapper.send(JSON.stringify({
      type: "hello", last_seq: lastSeq(), seat: composer ? composer.dataset.role : "",
      view_as: root ? root.dataset.viewAs || "" : ""
    }));
  });
  document.body.addEventListener("htmx:wsConfigSend", function (evt) {
    // Forms also post over HTTP without the socket; over the socket the CSRF token is not needed.
    delete evt.detail.parameters.csrfmiddlewaretoken;
  });
  document.body.addEventListener("htmx:wsAfterSend", function (evt) {
    var form = evt.detail.elt;
    if (form && form.querySelector) {
      var box = form.querySelector("textarea");
      if (box) box.value = "";
    }
  });
  // The controls each status offers: CONTROLS of collab/sessions/views.py, in the page.
  var controlsMap = document.getElementById("controls-map");
  var CONTROLS = controlsMap ? JSON.parse(controlsMap.textContent) : {};
  function syncControls() {
    var badge = document.getElementById("session-status");
    if (!badge) return;
    var allowed = CONTROLS[badge.dataset.status] || [];
    document.querySelectorAll(".controls [data-action]").forEach(function (button) {
      (button.form || button).hidden = allowed.indexOf(button.dataset.action) < 0;
    });
    var over = badge.dataset.status === "finished" || badge.dataset.status === "failed";
    document.querySelectorAll("form.inject").forEach(function (form) { form.hidden = over; });
  }
  // The composer follows whose turn the status badge says it is.
  function syncComposer() {
    var badge = document.getElementById("session-status");
    var composer = document.getElementById("composer");
    if (!badge || !composer) return;
    var awaited = (badge.dataset.awaiting || "").split(",");
    var mine = badge.dataset.status === "awaiting_human" && awaited.indexOf(composer.dataset.role) >= 0;
    composer.classList.toggle("waiting", !mine);
    var label = document.getElementById("composer-turn");
    if (label) label.textContent = mine ? "— it is your turn" : "— wait for your turn";
  }
  document.body.addEventListener("htmx:wsAfterMessage", function () {
    syncControls();
    syncComposer();
    var reload = document.getElementById("live-reload");
    if (reload && reload.dataset.reload) window.location.reload();
    var stream = document.getElementById("stream");
    if (stream && window.innerHeight + window.scrollY >= document.body.scrollHeight - 200) {
      window.scrollTo(0, document.body.scrollHeight);
    }
  });
  function tick() {
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      var left = Math.max(0, Math.round((Date.parse(el.dataset.deadline) - Date.now()) / 1000));
      el.textContent = "(" + left + " s left, then the agent answers)";
    });
  }
  setInterval(tick, 1000);
  tick();
})();
