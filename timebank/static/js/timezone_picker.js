// The time-zone picker (issue 17): a search box above every select[data-timezone-picker], and
// the zone this device reports offered first (and chosen, on a new form: data-prefer-browser).
// Labels come from the select's data attributes, so they are translated with the page. No
// inline script: the CSP allows only files.
(function () {
  "use strict";
  function enhance(select) {
    var browserZone = "";
    try {
      browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) { /* an old browser: no hint */ }
    if (browserZone) {
      var known = Array.prototype.find.call(select.options, function (option) {
        return option.value === browserZone;
      });
      if (known) {
        var group = document.createElement("optgroup");
        group.label = select.dataset.browserLabel || browserZone;
        var option = document.createElement("option");
        option.value = known.value;
        option.textContent = known.textContent;
        group.appendChild(option);
        select.insertBefore(group, select.firstChild);
        // A new form (data-prefer-browser) starts on this device's zone.
        if (select.dataset.preferBrowser) { select.value = browserZone; }
      }
    }
    var search = document.createElement("input");
    search.type = "search";
    search.className = "form-control mb-1";
    search.placeholder = select.dataset.searchLabel || "";
    search.setAttribute("aria-label", select.dataset.searchLabel || "");
    if (select.id) { search.setAttribute("aria-controls", select.id); }
    search.addEventListener("input", function () {
      var typed = search.value.trim().toLowerCase();
      var first = null;
      Array.prototype.forEach.call(select.options, function (option) {
        var text = (option.value + " " + option.textContent).toLowerCase().replace(/_/g, " ");
        var match = !typed || text.indexOf(typed) !== -1;
        option.hidden = !match;
        if (match && first === null) { first = option; }
      });
      // Browsers that ignore hidden options still land on the first match.
      if (typed && first !== null) { select.value = first.value; }
    });
    select.parentNode.insertBefore(search, select);
  }
  document.querySelectorAll("select[data-timezone-picker]").forEach(enhance);
}());
