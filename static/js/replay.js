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
  var busy = false;

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
  function seek(target) {
    target = Math.max(0, Math.min(last, target));
    if (busy) return Promise.resolve();
    if (target >= from - 1 && target <= to) { pos = target; render(); return Promise.resolve(); }
    if (target > to && target - to <= 100) {
      busy = true;
      return ensureAhead(target).then(function () { busy = false; pos = Math.min(target, to); render(); });
    }
    busy = true;
    return fetchHtml("upto=" + target + "&limit=60").then(function (html) {
      stream.innerHTML = "";
      var els = parse(html);
      els.forEach(function (el) { stream.appendChild(el); });
      from = els.length ? parseInt(els[0].dataset.seq, 10) : target + 1;
      to = target;
      pos = target;
      busy = false;
      render();
    });
  }
  function step(delta) { return seek(pos + delta); }
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
  root.querySelectorAll(".mark[data-seq]").forEach(function (mark) {
    mark.addEventListener("click", function () { stop(); seek(parseInt(mark.dataset.seq, 10)); });
  });
  document.addEventListener("keydown", function (evt) {
    var tag = (evt.target.tagName || "").toLowerCase();
    if (tag === "input" && evt.target.type !== "range" || tag === "textarea" || tag === "select") return;
    if (evt.target === scrub && (evt.key === "ArrowLeft" || evt.key === "ArrowRight")) return;
    if (evt.key === " ") { evt.preventDefault(); timer ? stop() : play(); }
    else if (evt.key === "ArrowRight") { evt.preventDefault(); stop(); step(1); }
    else if (evt.key === "ArrowLeft") { evt.preventDefault(); stop(); step(-1); }
    else if (evt.key === "Home") { evt.preventDefault(); stop(); seek(0); }
    else if (evt.key === "End") { evt.preventDefault(); stop(); seek(last); }
  });
  window.collabReplay = {seek: seek, position: function () { return pos; }};
  render();
})();
