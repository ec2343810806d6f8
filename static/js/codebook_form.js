// The codebook form: "Add label" appends an empty row, with the next colour of the palette.
(function () {
  "use strict";
  var rows = document.getElementById("label-rows");
  var add = document.getElementById("add-label");
  if (!rows || !add) return;
  var colors = (rows.getAttribute("data-colors") || "").split(" ");
  add.hidden = false;
  add.addEventListener("click", function () {
    var all = rows.querySelectorAll(".label-row");
    var blank = rows.querySelector(".label-row.new");
    if (!blank) return;
    var i = all.length;  // rows are numbered 0..n-1
    var row = blank.cloneNode(true);
    row.querySelectorAll("input, textarea").forEach(function (field) {
      field.name = field.name.replace(/^label-\d+-/, "label-" + i + "-");
      field.value = field.type === "color" ? (colors[i % colors.length] || "#4f46e5") : "";
    });
    rows.insertBefore(row, add);
    row.querySelector('input[name$="-name"]').focus();
  });
})();
