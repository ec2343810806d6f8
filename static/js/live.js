// Live session page: tell the server the last seq we rendered on every
// (re)connect, so it sends exactly the missing events, and whose composer the
// page shows, so a seat change it missed swaps it; reload when asked.
(function () {
  function lastSeq() {
    var marker = document.getElementById("last-seq");
    return marker ? parseInt(marker.dataset.seq || "0", 10) : 0;
  }
  document.body.addEventListener("htmx:wsOpen", function (evt) {
    // A notice that live updates are down stays only if this socket gets it again.
    var liveStatus = document.getElementById("live-status");
    if (liveStatus) liveStatus.textContent = "";
    var composer = document.getElementById("composer");
    var root = document.getElementById("live-root");
    evt.detail.socketWrapper.send(JSON.stringify({
      type: "hello", last_seq: lastSeq(), seat: composer ? composer.dataset.role : "",
      view_as: root ? root.dataset.viewAs || "" : ""
    }));
  });
  // 4503: live updates are down (the server's Redis); the page says so. Try again,
  // backing off to 30 s; the backoff starts over once a message arrives without the notice.
  var retries = 0;
  document.body.addEventListener("htmx:wsClose", function (evt) {
    if (!evt.detail.event || evt.detail.event.code !== 4503) return;
    var delay = Math.min(30000, 1000 * Math.pow(2, retries++)) * (0.5 + Math.random() / 2);
    setTimeout(function () { evt.detail.socketWrapper.reconnect(); }, delay);
  });
  // Actions that answer next to their control (FEEDBACK_TARGETS of collab/live/consumers.py).
  var FEEDBACK = {inject: "inject-feedback", take_seat: "seat-feedback", release_seat: "seat-feedback",
                  say: "composer-feedback"};
  function say(action, text, level) {
    var box = document.getElementById(FEEDBACK[action]);
    if (!box) return;
    box.textContent = text;
    box.className = "control-feedback is-shown" + (level ? " is-" + level : "");
  }
  document.body.addEventListener("htmx:wsBeforeMessage", function (evt) {
    var message = evt.detail.message;
    if (message.charAt(0) !== "{") return;
    try { message = JSON.parse(message); } catch (e) { return; }
    if (message.type === "refused") say(message.action, message.reason, "error");
  });
  document.body.addEventListener("htmx:wsConfigSend", function (evt) {
    if (overLimit(evt.detail.elt)) { evt.preventDefault(); return; }  // the counter says why
    say(evt.detail.parameters.action, "Sending…", "pending");
    // Forms also post over HTTP without the socket; over the socket the CSRF token is not needed.
    delete evt.detail.parameters.csrfmiddlewaretoken;
  });
  // Stop ends the session for good: ask first. Capturing, so a "no" stops the
  // submit before the ws extension (or a plain post) sees it.
  document.addEventListener("submit", function (evt) {
    var stop = evt.target.querySelector && evt.target.querySelector("[data-action=stop]");
    if (stop && !window.confirm("Stop this session for everyone? It cannot be resumed.")) {
      evt.preventDefault();
      evt.stopImmediatePropagation();
    }
  }, true);
  // Message boxes count their characters against the server's limit and say
  // before sending that a text is too long: nothing is cut silently.
  var numbers = new Intl.NumberFormat("en");
  function countChars(box) {
    var limit = parseInt(box.dataset.limit, 10);
    var counter = document.getElementById(box.id + "-count");
    var n = box.value.length, over = n > limit;
    box.setCustomValidity(over ? "At most " + numbers.format(limit) + " characters." : "");
    box.classList.toggle("is-over", over);
    if (counter) {
      counter.classList.toggle("over", over);
      counter.textContent = over
        ? numbers.format(n) + " / " + numbers.format(limit) + " characters: " + numbers.format(n - limit) +
          " too many. Shorten it to send; nothing is cut."
        : (n > limit * 0.8 ? numbers.format(n) + " / " + numbers.format(limit) + " characters" : "");
    }
    var form = box.form, button = form && form.querySelector("button[type=submit]");
    if (button) button.disabled = over;
    return over;
  }
  function overLimit(form) {
    var over = false;
    if (form && form.querySelectorAll) {
      form.querySelectorAll("textarea[data-limit]").forEach(function (box) { over = countChars(box) || over; });
    }
    return over;
  }
  document.body.addEventListener("input", function (evt) {
    if (evt.target.matches && evt.target.matches("textarea[data-limit]")) countChars(evt.target);
  });
  document.body.addEventListener("htmx:wsAfterSend", function (evt) {
    var form = evt.detail.elt;
    if (form && form.querySelector) {
      var box = form.querySelector("textarea");
      if (box) { box.value = ""; if (box.dataset.limit) countChars(box); }
    }
    if (form && form.id === "plan-edit-form") form.dataset.sent = "1";
  });
  // The plan editor always shows the current plan: each new version replaces
  // its fields. Changes the user had not sent are then gone, so say so.
  function planDraft(form) { return new URLSearchParams(new FormData(form)).toString(); }
  var planDraftReplaced = false;
  document.body.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target;
    if (!target || target.id !== "plan-edit-fields") return;
    var form = target.closest("form");
    planDraftReplaced = planDraftReplaced ||
      (form.dataset.sent !== "1" && planDraft(form) !== form.dataset.draft);
  });
  function syncPlanEditor() {
    var form = document.getElementById("plan-edit-form");
    var fields = document.getElementById("plan-edit-fields");
    if (!form || !fields || fields.dataset.seen) return;
    fields.dataset.seen = "1";
    form.dataset.draft = planDraft(form);
    form.dataset.sent = "";
    fields.querySelector(".plan-edit-replaced").hidden = !planDraftReplaced;
    planDraftReplaced = false;
  }
  syncPlanEditor();
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
    document.querySelectorAll("form.inject, .dock-speak").forEach(function (el) { el.hidden = over; });
    // A dock with nothing to offer (an ended session, no seat) takes no room.
    var dock = document.getElementById("live-dock");
    if (dock) {
      var offers = dock.querySelector("#composer") ||
        Array.prototype.some.call(dock.querySelectorAll(".controls > form, .controls > a"), function (el) { return !el.hidden; });
      dock.classList.toggle("is-empty", !offers);
    }
  }
  syncControls();
  // The composer follows whose turn the status badge says it is.
  function syncComposer() {
    var badge = document.getElementById("session-status");
    var composer = document.getElementById("composer");
    if (!badge || !composer) return;
    var awaited = (badge.dataset.awaiting || "").split(",");
    var mine = badge.dataset.status === "awaiting_human" && awaited.indexOf(composer.dataset.role) >= 0;
    if (mine && composer.classList.contains("waiting")) {  // it just became my turn: bring the composer to me
      composer.scrollIntoView({block: "end", behavior: "smooth"});
      var box = composer.querySelector("textarea");
      if (box) box.focus({preventScroll: true});
    }
    composer.classList.toggle("waiting", !mine);
    var label = document.getElementById("composer-turn");
    if (label) label.textContent = mine ? "— it is your turn" : "— wait for your turn";
  }
  document.body.addEventListener("htmx:wsAfterMessage", function () {
    var liveStatus = document.getElementById("live-status");
    if (liveStatus && !liveStatus.textContent.trim()) retries = 0;
    syncControls();
    syncComposer();
    syncPlanEditor();
    var reload = document.getElementById("live-reload");
    if (reload && reload.dataset.reload) window.location.reload();
    var stream = document.getElementById("stream");
    if (stream && following) {  // keep the newest event in view, above the dock
      var dock = document.getElementById("live-dock");
      var below = stream.getBoundingClientRect().bottom - window.innerHeight + (dock ? dock.offsetHeight : 0);
      if (below > 0) window.scrollBy(0, below);
    }
  });
  // Whether the reader is at the stream's end when a message arrives (then the page follows it); a
  // reader elsewhere (the side panel below the stream on a phone, an older message) stays put.
  var following = false;
  document.body.addEventListener("htmx:wsBeforeMessage", function () {
    var stream = document.getElementById("stream"), dock = document.getElementById("live-dock");
    following = !!stream && stream.getBoundingClientRect().bottom <=
      window.innerHeight + (dock ? dock.offsetHeight : 0) + 120 && stream.getBoundingClientRect().bottom > 0;
  });
  // The dock's "Note to the team" (phones: the form is below the stream) goes to the box, ready to type.
  document.body.addEventListener("click", function (evt) {
    var link = evt.target.closest && evt.target.closest(".dock-speak");
    var box = document.getElementById("inject-text");
    if (!link || !box) return;
    evt.preventDefault();
    box.scrollIntoView({block: "center"});
    box.focus({preventScroll: true});
  });
  function tick() {
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      var left = Math.max(0, Math.round((Date.parse(el.dataset.deadline) - Date.now()) / 1000));
      el.textContent = "(" + left + " s left, then the agent answers)";
    });
  }
  // A dock fixed to the screen (phones) must not cover the end of the page: pad the page by its height.
  var dockEl = document.getElementById("live-dock");
  if (dockEl && window.ResizeObserver) {
    new ResizeObserver(function () {
      var fixed = getComputedStyle(dockEl).position === "fixed";
      document.body.style.paddingBottom = fixed ? dockEl.offsetHeight + "px" : "";
    }).observe(dockEl);
  }
  var composerNow = document.getElementById("composer");
  if (composerNow && !composerNow.classList.contains("waiting")) composerNow.scrollIntoView({block: "end"});
  setInterval(tick, 1000);
  tick();
})();
