// Admission desk: search as the agent types (the form works the same without this script).
// After a pause in typing, the results part of the page is fetched and swapped in place.
(function () {
  "use strict";
  var form = document.getElementById("patient-search");
  var results = document.getElementById("search-results");
  if (!form || !results || !window.fetch || !window.DOMParser) return;
  var box = form.querySelector("[data-live-search]");
  var timer = null;
  var latest = 0;

  function search() {
    var query = new URLSearchParams(new FormData(form));
    var q = (query.get("q") || "").trim();
    if (q.length < 3 && !query.get("birth_date")) return;
    var url = form.getAttribute("action") + "?" + query.toString();
    var ticket = ++latest;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null || ticket !== latest) return;
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("search-results");
        if (!fresh) return;
        results.replaceChildren.apply(results, Array.prototype.slice.call(fresh.childNodes));
        window.history.replaceState(null, "", url);
      })
      .catch(function () { /* the submit button still works */ });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 350);
  }

  if (box) box.addEventListener("input", later);
  form.addEventListener("change", later);
})();
