// Live check of the wished subdomain on the "Start a timebank" form.
// Asks /api/slugs/check as the person types (debounced) and shows whether the address is
// valid and free, with suggestions to click. Messages come translated from the server (or from
// data- attributes on this script tag); without JavaScript the form checks on submit.
(function () {
  "use strict";
  var script = document.currentScript;
  var input = document.getElementById("slug");
  var status = document.getElementById("slug-status");
  var box = document.getElementById("slug-suggestions");
  var nameInput = document.getElementById("name");
  var placeInput = document.getElementById("place");
  if (!input || !status || !box) { return; }
  var url = input.getAttribute("data-check-url");
  var timer = null;
  var latest = 0;
  var edited = input.value !== "";

  function show(ok, message, suggestions) {
    input.classList.toggle("is-valid", ok);
    input.classList.toggle("is-invalid", !ok);
    status.className = "form-text " + (ok ? "text-success" : "text-danger");
    status.textContent = message;
    box.querySelectorAll("button").forEach(function (b) { b.remove(); });
    (suggestions || []).forEach(function (slug) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-sm btn-outline-secondary ms-1";
      button.setAttribute("data-slug", slug);
      button.textContent = slug;
      box.appendChild(button);
    });
    box.hidden = !(suggestions && suggestions.length);
  }

  function check() {
    var slug = input.value.trim().toLowerCase();
    if (!slug) { status.textContent = ""; box.hidden = true; return; }
    var ticket = ++latest;
    status.className = "form-text";
    status.textContent = script.getAttribute("data-checking");
    var query = "?slug=" + encodeURIComponent(slug) +
      "&name=" + encodeURIComponent(nameInput ? nameInput.value : "") +
      "&place=" + encodeURIComponent(placeInput ? placeInput.value : "");
    fetch(url + query, { headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (ticket !== latest) { return; }  // an older answer: the person typed on
        var ok = body.valid && body.available;
        show(ok, ok ? script.getAttribute("data-free") : (body.detail || body.message || body.title),
             body.suggestions);
      })
      .catch(function () {
        if (ticket !== latest) { return; }
        status.className = "form-text";
        status.textContent = script.getAttribute("data-offline");
      });
  }

  function later() { clearTimeout(timer); timer = setTimeout(check, 300); }

  input.addEventListener("input", function () { edited = true; later(); });
  if (nameInput) {
    // Until the person types an address, propose one from the name.
    nameInput.addEventListener("input", function () {
      if (edited) { return; }
      input.value = nameInput.value.normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
        .toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63);
      later();
    });
  }
  box.addEventListener("click", function (event) {
    var slug = event.target.getAttribute("data-slug");
    if (slug) { input.value = slug; edited = true; check(); }
  });
  if (input.value) { check(); }
}());
