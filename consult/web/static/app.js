// Keyboard shortcuts for the review queue (progressive enhancement: every action also works
// with plain links and forms). j/k move, o/Enter open, n next case, a approve, e edit, / search.
(function () {
  "use strict";

  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT"
      || el.isContentEditable);
  }

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr.row")); }

  function select(index) {
    var all = rows();
    if (!all.length) { return; }
    index = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (r) { r.classList.remove("sel"); });
    all[index].classList.add("sel");
    all[index].scrollIntoView({ block: "nearest" });
  }

  function current() {
    var all = rows();
    for (var i = 0; i < all.length; i++) { if (all[i].classList.contains("sel")) { return i; } }
    return -1;
  }

  function confirmThen(button) {
    var question = button.getAttribute("data-confirm");
    if (!question || window.confirm(question)) { button.form.requestSubmit(button); }
  }

  document.addEventListener("click", function (ev) {
    var target = ev.target;
    if (target.closest && target.closest("a, button, input, select, textarea, form")) {
      if (target.id === "approve" && target.getAttribute("data-confirm")) {
        ev.preventDefault();
        confirmThen(target);
      }
      return;
    }
    var row = target.closest ? target.closest("tr.row") : null;
    if (row) { window.location.href = row.getAttribute("data-href"); }
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    if (typing(ev.target)) {
      if (ev.key === "Escape") { ev.target.blur(); }
      return;
    }
    var caseEl = document.getElementById("case");
    var key = ev.key;
    if (key === "j") { select(current() + 1); }
    else if (key === "k") { select(current() - 1); }
    else if (key === "o" || key === "Enter") {
      var all = rows(), i = current();
      if (i < 0 && all.length) { i = 0; }
      if (all[i]) { window.location.href = all[i].getAttribute("data-href"); }
      else { return; }
    }
    else if (key === "n") {
      if (caseEl) { window.location.href = "/cases/" + caseEl.getAttribute("data-case-id") + "/next"; }
      else { var first = rows()[0]; if (first) { window.location.href = first.getAttribute("data-href"); } }
    }
    else if (key === "a") {
      var approve = document.getElementById("approve");
      if (approve) { confirmThen(approve); } else { return; }
    }
    else if (key === "e") {
      var body = document.getElementById("draft-body");
      if (body) { body.focus(); } else { return; }
    }
    else if (key === "/") {
      var q = document.getElementById("q");
      if (q) { q.focus(); q.select(); } else { return; }
    }
    else if (key === "g") { window.location.href = "/"; }
    else { return; }
    ev.preventDefault();
  });
})();
