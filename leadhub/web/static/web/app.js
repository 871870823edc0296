// Keyboard shortcuts of the dashboard: "/" finds, "j"/"k" move through a list's rows, "?" helps.
(function () {
  "use strict";
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  function rowLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-rows] a[data-row]"));
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(document.activeElement)) return;
    if (event.key === "/") {
      var search = document.querySelector("[data-search]");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
    } else if (event.key === "j" || event.key === "k") {
      var links = rowLinks();
      if (!links.length) return;
      var at = links.indexOf(document.activeElement);
      var next = event.key === "j" ? Math.min(at + 1, links.length - 1) : Math.max(at - 1, 0);
      event.preventDefault();
      links[next].focus();
    } else if (event.key === "?") {
      var help = document.getElementById("kbd-help");
      if (help) help.hidden = !help.hidden;
    }
  });
  // Charts: a <canvas data-chart="id-of-json-script"> is drawn with Chart.js when present.
  function drawCharts() {
    if (!window.Chart) return;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, JSON.parse(source.textContent));
    });
  }
  document.addEventListener("DOMContentLoaded", drawCharts);
  // On a phone the list comes first: secondary filters start folded (one tap opens them).
  document.addEventListener("DOMContentLoaded", function () {
    if (window.innerWidth > 700) return;
    document.querySelectorAll("details[data-collapse-narrow]").forEach(function (details) {
      var used = Array.prototype.some.call(details.querySelectorAll("select, input"), function (field) {
        return field.value !== "";
      });
      if (!used) details.open = false;
    });
  });
  document.addEventListener("htmx:afterSettle", drawCharts);
  // A form marked data-swap-errors shows the server's refusal (a 400 with the form again, the
  // field named) in place; htmx leaves 4xx answers unswapped otherwise.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = event.detail.elt;
    if (event.detail.xhr.status === 400 && form && form.closest && form.closest("[data-swap-errors]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
