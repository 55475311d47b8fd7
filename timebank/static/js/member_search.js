// The payee (or payer) field searches members as one types, on /pay and /request, and so
// does a statement's "with" filter.
// The page's select lists only favourites, recent counterparts and the chosen member; this
// hides it behind a search box that asks the select's data-search-url (at most 20 active
// members whose name starts with what was typed) and puts the one picked into the select, which
// is what the form submits. Texts come translated in data- attributes. Without JavaScript the
// select and the "Find a member" form (#member-find) do the same job.
(function () {
  "use strict";
  var select = document.querySelector("select[data-search-url]");
  if (!select || !window.fetch) { return; }
  var url = select.getAttribute("data-search-url");
  var finder = document.getElementById("member-find");
  if (finder) { finder.hidden = true; }

  var input = document.createElement("input");
  input.type = "search";
  input.className = "form-control";
  input.id = select.id + "-search";
  input.autocomplete = "off";
  input.placeholder = select.getAttribute("data-placeholder") || "";
  input.setAttribute("aria-controls", select.id + "-results");
  var results = document.createElement("div");
  results.className = "list-group mt-1";
  results.id = select.id + "-results";
  var status = document.createElement("div");
  status.className = "form-text";
  status.setAttribute("aria-live", "polite");
  var label = document.querySelector('label[for="' + select.id + '"]');
  if (label) { label.htmlFor = input.id; }
  if (select.value && select.value !== "0") {
    input.value = select.options[select.selectedIndex].text;
  }
  select.hidden = true;
  select.parentNode.insertBefore(input, select);
  select.parentNode.insertBefore(results, select);
  select.parentNode.insertBefore(status, select);

  var timer = null;
  var latest = 0;

  function choose(id, name) {
    var option = Array.prototype.find.call(select.options, function (o) { return o.value === String(id); });
    if (!option) {
      option = new Option(name, String(id));
      select.appendChild(option);
    }
    select.value = String(id);
    input.value = name;
    results.replaceChildren();
    status.textContent = "";
  }

  function show(members) {
    results.replaceChildren();
    members.forEach(function (member) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "list-group-item list-group-item-action";
      button.textContent = member.name;
      button.addEventListener("click", function () { choose(member.id, member.name); });
      results.appendChild(button);
    });
    status.textContent = members.length ? "" : (select.getAttribute("data-nothing-found") || "");
  }

  function search() {
    var query = input.value.trim();
    if (!query) { results.replaceChildren(); status.textContent = ""; return; }
    var ticket = ++latest;
    var address = new URL(url, window.location.href);  // may carry ?currency= already
    address.searchParams.set("q", query);
    fetch(address, {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : { members: [] };
    }).then(function (body) {
      if (ticket === latest) { show(body.members || []); }
    }).catch(function () { /* offline: the select keeps what was chosen */ });
  }

  input.addEventListener("input", function () {
    select.value = "0";  // typing again undoes the choice until a name is picked
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });
})();
