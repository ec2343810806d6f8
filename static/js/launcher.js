// New session page: show the parameter fields of the picked cards only, and
// the "advanced JSON" toggle, which shows those parameters as valid JSON (and
// writes JSON edits back into the fields when switched off).
(function () {
  var form = document.getElementById("launcher");
  if (!form) return;
  var groups = ["scenario", "protocol", "topology"];
  var toggle = document.getElementById("id_advanced");
  var boxes = {
    scenario: document.getElementById("id_scenario_params"),
    protocol: document.getElementById("id_protocol_params"),
    topology: document.getElementById("id_topology_params")
  };

  function picked(group) {
    var radio = form.querySelector("input[name=" + group + "]:checked");
    return radio ? radio.value : "";
  }
  function panel(group) {
    return form.querySelector(".params[data-group=" + group + "][data-key='" + picked(group) + "']");
  }
  function fieldValue(input) {
    var kind = input.dataset.kind;
    if (kind === "bool") return input.checked;
    var text = input.value.trim();
    if (kind === "int" || kind === "float") return text === "" ? undefined : Number(text);
    if (kind === "list") return text.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
    if (kind === "json") {
      if (text === "") return undefined;
      try { return JSON.parse(text); } catch (e) { return text; }
    }
    return input.value;
  }
  function setField(input, value) {
    var kind = input.dataset.kind;
    if (kind === "bool") input.checked = !!value;
    else if (kind === "list") input.value = Array.isArray(value) ? value.join(", ") : String(value);
    else if (kind === "json") input.value = typeof value === "string" ? value : JSON.stringify(value, null, 2);
    else input.value = value;
  }
  function paramsOf(group) {
    var params = {}, box = panel(group);
    if (!box) return params;
    box.querySelectorAll("[data-param]").forEach(function (input) {
      if (input.dataset.kind === "strategy" || /-strategy$/.test(input.name)) return;
      var value = fieldValue(input);
      if (value !== undefined) params[input.dataset.param] = value;
    });
    return params;
  }
  function fieldsToJson(group) {
    if (boxes[group]) boxes[group].value = JSON.stringify(paramsOf(group), null, 2);
  }
  function jsonToFields(group) {
    var box = panel(group), params;
    if (!box || !boxes[group]) return;
    try { params = JSON.parse(boxes[group].value || "{}"); } catch (e) { return; }  // the server says what is wrong
    if (!params || typeof params !== "object") return;
    box.querySelectorAll("[data-param]").forEach(function (input) {
      if (Object.prototype.hasOwnProperty.call(params, input.dataset.param)) setField(input, params[input.dataset.param]);
    });
  }
  function sync() {
    var json = toggle && toggle.checked;
    groups.forEach(function (group) {
      var current = picked(group);
      form.querySelectorAll(".params[data-group=" + group + "]").forEach(function (box) {
        box.hidden = box.dataset.key !== current;
      });
    });
    var protocolStep = document.getElementById("pick-protocol");
    if (protocolStep) protocolStep.hidden = picked("scenario") !== "";
    form.classList.toggle("json-mode", !!json);
    var advanced = document.getElementById("advanced-json");
    if (advanced) advanced.hidden = !json;
    if (boxes.scenario) boxes.scenario.closest(".field").hidden = picked("scenario") === "";
    if (boxes.protocol) boxes.protocol.closest(".field").hidden = picked("scenario") !== "";
  }
  form.addEventListener("change", function (evt) {
    var target = evt.target;
    if (target === toggle) {
      groups.forEach(toggle.checked ? fieldsToJson : jsonToFields);
    } else if (target.type === "radio" && groups.indexOf(target.name) >= 0 && toggle && toggle.checked) {
      fieldsToJson(target.name);
    }
    sync();
  });
  sync();
  var firstError = form.querySelector(".has-error input, .has-error select, .has-error textarea");
  if (firstError) firstError.focus();
})();
