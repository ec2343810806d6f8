// The team form: add, remove and reorder roles in the formset, keyboard-friendly.
(function () {
  "use strict";
  var form = document.getElementById("team-form");
  var list = document.getElementById("roles");
  var total = form.querySelector('input[name="roles-TOTAL_FORMS"]');
  var template = document.getElementById("role-template");
  var status = document.getElementById("roles-status");

  function roleForms() { return Array.prototype.slice.call(list.querySelectorAll("[data-role-form]")); }
  function field(role, name) { return role.querySelector('[name="' + role.id + "-" + name + '"]'); }
  function title(role) { return role.querySelector("[data-role-title]").textContent; }
  function say(text) { status.textContent = ""; window.setTimeout(function () { status.textContent = text; }, 50); }

  function renumber() {
    roleForms().forEach(function (role, i) {
      var order = field(role, "ORDER");
      if (order) order.value = i + 1;
    });
  }

  function wire(role) {
    role.querySelector("[data-move]").hidden = false;
    role.querySelector("[data-move-up]").addEventListener("click", function () {
      var prev = role.previousElementSibling;
      if (!prev) return;
      list.insertBefore(role, prev);
      renumber();
      this.focus();
      say(title(role) + " moved to position " + (roleForms().indexOf(role) + 1));
    });
    role.querySelector("[data-move-down]").addEventListener("click", function () {
      var next = role.nextElementSibling;
      if (!next) return;
      list.insertBefore(next, role);
      renumber();
      this.focus();
      say(title(role) + " moved to position " + (roleForms().indexOf(role) + 1));
    });
    var remove = field(role, "DELETE");
    if (remove) remove.addEventListener("change", function () { role.classList.toggle("is-removed", remove.checked); });
    var name = field(role, "name");
    var avatar = field(role, "avatar");
    var color = field(role, "color");
    function refresh() {
      role.querySelector("[data-role-title]").textContent = name.value.trim() || "New role";
      var letters = name.value.trim().split(/[\s_\-]+/).filter(Boolean).slice(0, 2);
      var initials = letters.length > 1 ? letters.map(function (w) { return w[0]; }).join("") : (letters[0] || "?").slice(0, 2);
      role.querySelector("[data-role-avatar]").textContent = avatar.value.trim() || initials.toUpperCase();
    }
    name.addEventListener("input", refresh);
    avatar.addEventListener("input", refresh);
    color.addEventListener("input", function () {
      if (/^#[0-9a-fA-F]{6}$/.test(color.value)) role.style.setProperty("--role-color", color.value);
    });
  }

  roleForms().forEach(wire);

  document.getElementById("add-role").addEventListener("click", function (event) {
    event.preventDefault();
    var index = parseInt(total.value, 10) || 0;
    list.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, String(index)));
    total.value = index + 1;
    var role = list.lastElementChild;
    var orders = roleForms().map(function (r) { return parseInt((field(r, "ORDER") || {}).value, 10) || 0; });
    field(role, "ORDER").value = Math.max.apply(null, orders) + 1;
    wire(role);
    field(role, "name").focus();
    say("New role added, at position " + roleForms().length);
  });
})();
