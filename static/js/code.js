// Keyboard-first coding. Every change is a small JSON action sent to the
// project's coding socket (or, while the socket is not open, posted to the
// project's annotate door: the same action, the same answer), in order,
// through a queue kept in localStorage:
// a closed tab or a lost connection loses nothing, the queue is sent when
// the page (or the network) comes back. A reply, whatever its status, is
// final: a refused action is dropped with its reason shown, so one bad action
// never blocks the queue; only an action with no reply (a failed fetch, a
// socket closed before it answered) is tried again. The
// page redraws from what the server answers, so what it shows is what was
// saved. The queue spans the coder's sessions in this project: an action
// from another session's page is saved but draws nothing here.
(function () {
  var script = document.getElementById("code-script");
  var url = script.dataset.url, session = parseInt(script.dataset.session, 10), storeKey = script.dataset.key;
  var state = JSON.parse(document.getElementById("code-state").textContent);
  var csrf = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] ||
    JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
  var palette = Array.prototype.map.call(document.querySelectorAll("#palette li"), function (li) {
    return {id: parseInt(li.dataset.label, 10), color: li.dataset.color, name: li.dataset.name};
  });
  var labels = state.labels;
  var mine = state.mine.map(function (a) { return {id: a.id, seq: a.seq, label: a.label_id, start: a.start, end: a.end}; });
  var reviewed = new Set(state.reviewed);
  var initiallyReviewed = reviewed.size;
  var notes = state.notes;
  var verdicts = state.verdicts;
  var suggestions = state.suggestions;
  var units = Array.prototype.slice.call(document.querySelectorAll(".unit"));
  var texts = {};
  units.forEach(function (u) { var t = u.querySelector(".unit-text"); texts[u.dataset.seq] = t ? t.textContent : ""; });
  var saveState = document.getElementById("save-state");
  var undoStack = [];
  var queue = JSON.parse(localStorage.getItem(storeKey) || "[]");
  var sending = false;
  var current = 0;

  // -- saving ----------------------------------------------------------------
  function stateText() {
    var waiting = queue.length ? (navigator.onLine === false ? "Offline: " : "Saving… ") + queue.length +
      " change" + (queue.length > 1 ? "s" : "") + " waiting" : "";
    var error = saveState.dataset.error;
    return error ? "Not saved: " + error + (waiting ? ". " + waiting : "") : waiting || "All changes saved.";
  }
  function persist() {
    localStorage.setItem(storeKey, JSON.stringify(queue));
    saveState.dataset.pending = queue.length;
    var text = stateText();
    // A change saved at once (most are, in a few tens of ms) never flashes "Saving…": that is
    // shown once a change has waited a moment, so a keypress is one redraw, not three.
    if (text.indexOf("Saving… ") === 0 && saveState.textContent === "All changes saved.") {
      if (!persist.later) persist.later = setTimeout(function () {
        persist.later = null;
        saveState.textContent = stateText();
      }, 400);
      return;
    }
    clearTimeout(persist.later);
    persist.later = null;
    saveState.textContent = text;
  }
  // Each action's key: sent again (no answer reached the page), it is answered from its receipt, not applied twice.
  function newKey() {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);  // unlike randomUUID, there on a plain-http page too
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function enqueue(action, undoable) {
    delete saveState.dataset.error;  // a new change: the last refusal has been seen
    action.key = newKey();
    action.t = Date.now();
    action.undoable = !!undoable;
    queue.push(action);
    persist();
    flush();
  }
  // The socket: one action in flight at a time, answered by id. Closed (a restart,
  // a dropped network), it is opened again with backoff; meanwhile actions go by fetch.
  var socketPath = script.dataset.socket, socket = null, inFlight = null, nextId = 1, socketWait = 500;
  function connect() {
    if (!socketPath || !window.WebSocket) return;
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + socketPath);
    ws.onopen = function () { socket = ws; socketWait = 500; document.body.dataset.codeSocket = "open"; flush(); };
    ws.onmessage = function (m) {
      var reply = null;
      try { reply = JSON.parse(m.data); } catch (e) { return; }
      if (!inFlight || !reply || reply.id !== inFlight.id) return;
      var action = inFlight.action;
      inFlight = null;
      var ok = reply.result !== null && typeof reply.result === "object";
      settle(action, ok, ok ? reply.result : null, typeof reply.error === "string" ? reply.error : "the socket answered without a result");
    };
    ws.onclose = function (event) {
      if (socket === ws) socket = null;
      document.body.dataset.codeSocket = event.code === 4403 ? "refused" : "closed";
      if (inFlight) {  // sent, never answered: keep the action and send it again (by fetch, until the socket is back)
        inFlight = null;
        sending = false;
        persist();
        setTimeout(flush, 0);
      }
      if (event.code === 4403) return;  // refused (signed out, no longer a coder): the HTTP door answers from now on
      setTimeout(connect, socketWait);
      socketWait = Math.min(socketWait * 2, 30000);
    };
  }
  function flush() {
    if (sending || !queue.length) return;
    sending = true;
    var action = queue[0];
    if (socket && socket.readyState === WebSocket.OPEN) {
      inFlight = {id: nextId++, action: action};
      socket.send(JSON.stringify({id: inFlight.id, action: action}));
      return;
    }
    fetch(url, {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
                body: JSON.stringify(action)})
      .then(function (r) {
        return r.text().then(function (text) { answered(action, r, text); }, function () { answered(action, r, ""); });
      }, function () {
        sending = false;  // no reply (network down): keep the action and try again
        persist();
        setTimeout(flush, 2000);
      });
  }
  function answered(action, reply, text) {
    var body = null;
    try { body = JSON.parse(text); } catch (e) { body = null; }
    var ok = reply.ok && body !== null && typeof body === "object";
    settle(action, ok, body, (body && typeof body.error === "string" && body.error) ||
      ("the server answered " + reply.status + (reply.statusText ? " " + reply.statusText : "") +
       (reply.ok ? ", not JSON" + (reply.redirected ? " (signed out?)" : "") : "")));
  }
  function settle(action, ok, body, why) {
    queue.shift();
    sending = false;
    if (!ok) saveState.dataset.error = why;
    try {
      if (ok) applyResult(action, body);
    } finally {
      persist();
      window.dispatchEvent(new CustomEvent("collab:saved", {detail: {action: action, ok: ok}}));
      flush();
    }
  }
  window.addEventListener("online", flush);
  function suggestionSeq(id) {
    var s = suggestions.filter(function (x) { return x.id === id; })[0];
    return s ? s.seq : undefined;
  }
  function applyResult(action, body) {
    if (action.session !== session) return;  // saved from another session's page: nothing here to draw
    var touched = new Set([action.seq]);
    (body.removed || []).forEach(function (r) { mine = mine.filter(function (a) { return a.id !== r.id; }); touched.add(r.seq); });
    if (action.op === "undo") {
      var gone = new Set(action.delete || []);
      mine.forEach(function (a) { if (gone.has(a.id)) touched.add(a.seq); });
      mine = mine.filter(function (a) { return !gone.has(a.id); });
    }
    if (body.created) { mine.push(body.created); touched.add(body.created.seq); }
    (body.restored || []).forEach(function (r, i) {
      mine.push(r);
      touched.add(r.seq);
      // A restored label comes back with a new id: older undo steps that name the old id must follow it.
      var old = ((action.restore || [])[i] || {}).id;
      undoStack.forEach(function (step) {
        step.delete = step.delete.map(function (id) { return id === old ? r.id : id; });
      });
    });
    if (action.seq !== undefined && action.op !== "undo") reviewed.add(action.seq);
    if (action.op === "review" && body.note !== undefined) notes[action.seq] = body.note;
    if (action.op === "suggestion") verdicts[body.suggestion] = body.verdict;
    (body.unverdicted || []).forEach(function (id) { delete verdicts[id]; touched.add(suggestionSeq(id)); });
    if (action.undoable && (body.created || (body.removed || []).length)) {
      undoStack.push({delete: body.created ? [body.created.id] : [], restore: body.removed || []});
    }
    touched.forEach(function (seq) { var u = unitFor(seq); if (u) draw(u); });
    var count = document.getElementById("reviewed-count");
    if (count) count.textContent = parseInt(count.dataset.base, 10) + reviewed.size - initiallyReviewed;
  }

  // -- drawing ---------------------------------------------------------------
  function unitFor(seq) { return document.getElementById("u-" + seq); }
  function labelInfo(id) { return labels[id] || {name: "?", color: "#888888"}; }
  function draw(unit) {
    var seq = parseInt(unit.dataset.seq, 10);
    var own = mine.filter(function (a) { return a.seq === seq; });
    unit.classList.toggle("is-reviewed", reviewed.has(seq));
    var chips = unit.querySelector(".unit-labels");
    chips.innerHTML = "";
    own.forEach(function (a) {
      var info = labelInfo(a.label);
      var chip = document.createElement("span");
      chip.className = "label-chip";
      chip.style.setProperty("--label", info.color);
      chip.dataset.label = a.label;
      chip.textContent = info.name + (a.start !== null && a.start !== undefined ? " (span “" + texts[seq].slice(a.start, a.end) + "”)" : "");
      chips.appendChild(chip);
    });
    var text = unit.querySelector(".unit-text[data-span]");
    if (text) drawSpans(text, texts[seq], own.filter(function (a) { return a.start !== null && a.start !== undefined; }));
    var note = unit.querySelector(".unit-note");
    note.hidden = !notes[seq];
    note.textContent = notes[seq] ? "Note: " + notes[seq] : "";
    var box = unit.querySelector(".unit-suggestions");
    box.innerHTML = "";
    suggestions.filter(function (s) { return s.seq === seq; }).forEach(function (s) {
      var chip = document.createElement("span");
      chip.className = "chip-suggestion " + (verdicts[s.id] || "");
      chip.dataset.suggestion = s.id;
      chip.style.setProperty("--label", labelInfo(s.label_id).color);
      chip.textContent = "model suggests: " + s.label__name + (verdicts[s.id] ? " — " + verdicts[s.id] : " (a accept, r reject)");
      box.appendChild(chip);
    });
  }
  function drawSpans(el, text, spans) {
    // The text stays the same characters; marks only wrap parts of it, so offsets hold.
    var cuts = new Set([0, text.length]);
    spans.forEach(function (s) { cuts.add(s.start); cuts.add(s.end); });
    var points = Array.from(cuts).sort(function (a, b) { return a - b; });
    el.textContent = "";
    for (var i = 0; i < points.length - 1; i++) {
      var a = points[i], b = points[i + 1];
      var piece = text.slice(a, b);
      var cover = spans.filter(function (s) { return s.start <= a && s.end >= b; });
      if (!cover.length) { el.appendChild(document.createTextNode(piece)); continue; }
      var mark = document.createElement("mark");
      mark.style.setProperty("--label", labelInfo(cover[0].label).color);
      mark.title = cover.map(function (s) { return labelInfo(s.label).name; }).join(", ");
      mark.textContent = piece;
      el.appendChild(mark);
    }
  }

  // -- moving ----------------------------------------------------------------
  function focusUnit(i, scroll) {
    if (!units.length) return;
    current = Math.max(0, Math.min(units.length - 1, i));
    units.forEach(function (u, j) { u.classList.toggle("is-current", j === current); });
    var unit = units[current];
    unit.focus({preventScroll: true});
    if (scroll !== false) unit.scrollIntoView({block: "center"});
    history.replaceState(null, "", "?seq=" + unit.dataset.seq + "#u-" + unit.dataset.seq);
  }
  function seqOf(i) { return parseInt(units[i].dataset.seq, 10); }
  var unitsBox = document.getElementById("units");
  function whenSaved(then) {
    // Leave the page only once the queue is empty (it would survive anyway, in localStorage).
    if (!queue.length) then(); else window.addEventListener("collab:saved", function again() {
      if (queue.length) return;
      window.removeEventListener("collab:saved", again);
      then();
    });
  }
  function move(delta) {
    if (!units.length) return;
    var seq = seqOf(current);
    if (delta > 0 && !reviewed.has(seq)) enqueue({op: "review", session: session, seq: seq});
    var target = current + delta;
    if (target >= units.length && unitsBox.dataset.next) {
      whenSaved(function () { location.assign(unitsBox.dataset.next); });
    } else if (target < 0 && unitsBox.dataset.prev) {
      whenSaved(function () { location.assign(unitsBox.dataset.prev + "#end"); });
    } else {
      focusUnit(target);
    }
  }
  function selectionSpan() {
    var sel = window.getSelection();
    if (!sel.rangeCount || sel.isCollapsed) return null;
    var range = sel.getRangeAt(0);
    var unit = (range.startContainer.parentElement || range.startContainer).closest(".unit");
    var text = unit && unit.querySelector(".unit-text[data-span]");
    if (!text || !text.contains(range.startContainer) || !text.contains(range.endContainer)) return null;
    var pre = document.createRange();
    pre.selectNodeContents(text);
    pre.setEnd(range.startContainer, range.startOffset);
    var start = pre.toString().length, end = start + range.toString().length;
    return end > start ? {unit: unit, start: start, end: end} : null;
  }
  function label(n) {
    var choice = palette[n - 1];
    if (!choice || !units.length) return;
    var span = selectionSpan();
    if (span) {
      focusUnit(units.indexOf(span.unit), false);
      window.getSelection().removeAllRanges();
    }
    var action = {op: "label", session: session, seq: seqOf(current), label: choice.id};
    if (span) { action.start = span.start; action.end = span.end; }
    enqueue(action, true);
  }
  function undo() {
    // An action still waiting to be sent is simply dropped; a saved one is reversed.
    for (var i = queue.length - 1; i >= (sending ? 1 : 0); i--) {
      if (queue[i].undoable && queue[i].session === session) { queue.splice(i, 1); persist(); return; }
    }
    var last = undoStack.pop();
    if (last) enqueue({op: "undo", session: session, delete: last.delete, restore: last.restore});
  }
  function verdict(accept) {
    // The event's next suggestion without a verdict (given or on its way): a, a takes two of them.
    var seq = seqOf(current);
    var asked = new Set(queue.filter(function (q) { return q.op === "suggestion"; }).map(function (q) { return q.id; }));
    var s = suggestions.filter(function (x) { return x.seq === seq && !verdicts[x.id] && !asked.has(x.id); })[0];
    if (s) enqueue({op: "suggestion", session: session, seq: seq, id: s.id, verdict: accept ? "accept" : "reject"}, accept);
  }
  var dialog = document.getElementById("note-dialog");
  var noteText = document.getElementById("note-text");
  function note() {
    var seq = seqOf(current);
    document.getElementById("note-seq").textContent = "#" + seq;
    noteText.value = notes[seq] || "";
    dialog.showModal();
    noteText.focus();
  }
  dialog.addEventListener("close", function () {
    if (dialog.returnValue === "save") enqueue({op: "review", session: session, seq: seqOf(current), note: noteText.value});
    dialog.returnValue = "";
    units[current].focus({preventScroll: true});
  });
  noteText.addEventListener("keydown", function (evt) {
    if (evt.key === "Enter" && (evt.ctrlKey || evt.metaKey)) { evt.preventDefault(); dialog.close("save"); }
  });

  document.addEventListener("keydown", function (evt) {
    if (dialog.open) return;
    var tag = (evt.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    if ((evt.ctrlKey || evt.metaKey) && evt.key.toLowerCase() === "z") { evt.preventDefault(); undo(); return; }
    if (evt.ctrlKey || evt.metaKey || evt.altKey) return;
    if (evt.key === "j" || evt.key === "ArrowDown") { evt.preventDefault(); move(1); }
    else if (evt.key === "k" || evt.key === "ArrowUp") { evt.preventDefault(); move(-1); }
    else if (/^[1-9]$/.test(evt.key)) { evt.preventDefault(); label(parseInt(evt.key, 10)); }
    else if (evt.key === "n") { evt.preventDefault(); note(); }
    else if (evt.key === "u") { evt.preventDefault(); undo(); }
    else if (evt.key === "a") { evt.preventDefault(); verdict(true); }
    else if (evt.key === "r") { evt.preventDefault(); verdict(false); }
  });
  units.forEach(function (u, i) {
    u.addEventListener("mousedown", function () { if (current !== i) focusUnit(i, false); });
  });

  units.forEach(draw);
  // Where to open: #end (coming back from the next page), #u-N, ?seq=N (a link to an event), else the first unreviewed.
  var wanted = location.hash.indexOf("#u-") === 0 ? location.hash.slice(3) : new URLSearchParams(location.search).get("seq");
  var fromHash = location.hash === "#end" ? units.length - 1 :
    units.findIndex(function (u) { return u.dataset.seq === wanted; });
  var firstOpen = units.findIndex(function (u) { return !reviewed.has(parseInt(u.dataset.seq, 10)); });
  focusUnit(fromHash >= 0 ? fromHash : Math.max(0, firstOpen));
  persist();
  flush();
  connect();
  window.collabCode = {pending: function () { return queue.length; }};
  document.body.dataset.codeReady = "1";
  performance.mark("code-ready");
})();
