// A per-event link (?seq=N) opens the page holding the event: bring it into view.
document.addEventListener("DOMContentLoaded", function () {
  var stream = document.querySelector(".stream.transcript[data-target]");
  var el = stream && document.getElementById(stream.dataset.target);
  if (el) el.scrollIntoView({block: "center"});
});
