// Replay: the page holds a window of rendered events (#stream children with
// data-seq) and shows those up to `pos`; it fetches more from the server as
// it plays or seeks, and keeps the position in the URL (?at=SEQ).
(function () {
  var root = document.getElementById("replay");
  if (!root) return;
  var stream = document.getElementById("stream");
  var empty = document.getElementById("replay-empty");
  var playBtn = document.getElementById("replay-play");
  var scrub = document.getElementById("replay-scrub");
  var speed = document.getElementById("replay-speed");
  var speedOut = document.getElementById("replay-speed-value");
  var atOut = document.getElementById("replay-at");
  var url = root.dataset.eventsUrl;
  var last = parseInt(root.dataset.last, 10);
  var pos = parseInt(root.dataset.at, 10);
  var from = parseInt(root.dataset.from, 10); // first seq in the window
  var to = pos; // last seq in the window
  var timer = null;
  var wanted = pos; // the position last asked for; `pos` catches up with it
  var pending = null; // the fetch-and-move under way, if any

  function items() { return stream.children; }
  function fetchHtml(query) {
    return fetch(url + "?" + query, {credentials: "same-origin"}).then(function (r) {
      var l = parseInt(r.headers.get("X-Last-Seq") || last, 10);
      if (l > last) { last = l; scrub.max = l; document.getElementById("replay-last").textContent = l; }
      return r.text();
    });
  }
  function parse(html) {
    var box = document.createElement("div");
    box.innerHTML = html;
    return Array.prototype.slice.call(box.children);
  }
  function render() {
    Array.prototype.forEach.call(items(), function (el) {
      el.hidden = parseInt(el.dataset.seq, 10) > pos;
    });
    atOut.textContent = pos;
    scrub.value = pos;
    empty.hidden = pos > 0;
    var params = new URLSearchParams(window.location.search);
    params.set("at", pos);
    history.replaceState(null, "", "?" + params.toString());
    var current = document.getElementById("ev-" + pos);
    if (current) current.scrollIntoView({block: "nearest"});
    if (!root.dataset.ready) { root.dataset.ready = "1"; performance.mark("replay-ready"); }
  }
  function ensureAhead(seq) {
    // The window must reach `seq`; fetch the next chunk when it does not.
    if (seq <= to || to >= last) return Promise.resolve();
    return fetchHtml("after=" + to).then(function (html) {
      parse(html).forEach(function (el) { el.hidden = true; stream.appendChild(el); to = parseInt(el.dataset.seq, 10); });
    });
  }
  function settle() {
    // Move to `wanted`, fetching what the window lacks. Seeks asked for
    // while a fetch is out only move `wanted`; they are taken up when it lands.
    var target = wanted;
    if (target >= from - 1 && target <= to) { pos = target; render(); return Promise.resolve(); }
    var load;
    if (target > to && target - to <= 100) {
      load = ensureAhead(target).then(function () {
        pos = Math.min(target, to);
        if (wanted === target) wanted = pos; // the log ends before the target
      });
    } else {
      load = fetchHtml("upto=" + target + "&limit=60").then(function (html) {
        stream.innerHTML = "";
        var els = parse(html);
        els.forEach(function (el) { stream.appendChild(el); });
        from = els.length ? parseInt(els[0].dataset.seq, 10) : target + 1;
        to = target;
        pos = target;
      });
    }
    return load.then(function () {
      render();
      if (wanted !== pos) return settle();
    });
  }
  function seek(target) {
    wanted = Math.max(0, Math.min(last, target));
    if (pending) return pending;
    if (wanted >= from - 1 && wanted <= to) { pos = wanted; render(); return Promise.resolve(); }
    pending = settle().then(function () { pending = null; }, function (err) { pending = null; wanted = pos; throw err; });
    return pending;
  }
  function step(delta) { return seek(wanted + delta); }
  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    playBtn.textContent = "▶ Play";
    playBtn.setAttribute("aria-label", "Play");
  }
  function play() {
    if (pos >= last) seek(0);
    playBtn.textContent = "⏸ Pause";
    playBtn.setAttribute("aria-label", "Pause");
    schedule();
  }
  function schedule() {
    if (timer) clearInterval(timer);
    timer = setInterval(function () {
      if (pos >= last) { stop(); return; }
      step(1);
    }, 1000 / parseInt(speed.value, 10));
  }
  playBtn.addEventListener("click", function () { timer ? stop() : play(); });
  document.getElementById("replay-forward").addEventListener("click", function () { stop(); step(1); });
  document.getElementById("replay-back").addEventListener("click", function () { stop(); step(-1); });
  speed.addEventListener("input", function () { speedOut.textContent = speed.value + "×"; if (timer) schedule(); });
  scrub.addEventListener("change", function () { stop(); seek(parseInt(scrub.value, 10)); });
  // The marks are one tab stop (a toolbar with a roving tabindex): ← → move
  // between them, Enter or a click jumps; [ and ] jump to the previous or next
  // mark from anywhere on the page.
  var marks = Array.prototype.slice.call(root.querySelectorAll(".scrubber-marks .mark[data-seq]"));
  function markSeq(mark) { return parseInt(mark.dataset.seq, 10); }
  function focusMark(i) {
    marks.forEach(function (m, j) { m.tabIndex = j === i ? 0 : -1; });
    marks[i].focus();
  }
  marks.forEach(function (mark, i) {
    mark.addEventListener("click", function () { stop(); seek(markSeq(mark)); });
    mark.addEventListener("keydown", function (evt) {
      var next = {ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: marks.length - 1}[evt.key];
      if (next === undefined) return;
      evt.preventDefault();
      evt.stopPropagation(); // these keys move between marks here, not through the replay
      focusMark(Math.max(0, Math.min(marks.length - 1, next)));
    });
  });
  function jumpMark(forward) {
    var seqs = marks.map(markSeq).sort(function (a, b) { return a - b; });
    var target = forward ? seqs.find(function (s) { return s > wanted; })
                         : seqs.slice().reverse().find(function (s) { return s < wanted; });
    if (target !== undefined) { stop(); seek(target); }
  }
  document.addEventListener("keydown", function (evt) {
    var tag = (evt.target.tagName || "").toLowerCase();
    if (tag === "input" && evt.target.type !== "range" || tag === "textarea" || tag === "select") return;
    if (evt.target === scrub && (evt.key === "ArrowLeft" || evt.key === "ArrowRight")) return;
    if (evt.key === " ") { evt.preventDefault(); timer ? stop() : play(); }
    else if (evt.key === "ArrowRight") { evt.preventDefault(); stop(); step(1); }
    else if (evt.key === "ArrowLeft") { evt.preventDefault(); stop(); step(-1); }
    else if (evt.key === "Home") { evt.preventDefault(); stop(); seek(0); }
    else if (evt.key === "End") { evt.preventDefault(); stop(); seek(last); }
    else if (evt.key === "]") { evt.preventDefault(); jumpMark(true); }
    else if (evt.key === "[") { evt.preventDefault(); jumpMark(false); }
  });
  window.collabReplay = {seek: seek, position: function () { return pos; }};
  render();
})();
