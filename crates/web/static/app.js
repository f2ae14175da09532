// Quartier: sortable tables and map/table highlighting. No dependencies, no external requests.
(function () {
  "use strict";
  function sortTable(table, col, type, th) {
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows);
    var asc = th.getAttribute("aria-sort") !== "ascending";
    rows.sort(function (a, b) {
      var x = a.cells[col], y = b.cells[col];
      if (type === "num") {
        var vx = x.dataset.v === "" ? NaN : parseFloat(x.dataset.v);
        var vy = y.dataset.v === "" ? NaN : parseFloat(y.dataset.v);
        if (isNaN(vx) && isNaN(vy)) return 0;
        if (isNaN(vx)) return 1;
        if (isNaN(vy)) return -1;
        return asc ? vx - vy : vy - vx;
      }
      var c = x.textContent.localeCompare(y.textContent, "de");
      return asc ? c : -c;
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { if (h.hasAttribute("aria-sort")) h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
  }
  function highlight(area, on) {
    document.querySelectorAll('[data-area="' + CSS.escape(area) + '"]').forEach(function (el) { el.classList.toggle("hl", on); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table.sortable th button").forEach(function (b) {
      b.addEventListener("click", function () {
        var th = b.parentElement;
        sortTable(th.closest("table"), th.cellIndex, b.dataset.sort, th);
      });
    });
    var tip = document.createElement("div");
    tip.className = "tooltip";
    tip.hidden = true;
    document.body.appendChild(tip);
    document.querySelectorAll(".areas path").forEach(function (p) {
      p.addEventListener("mouseenter", function () { highlight(p.dataset.area, true); tip.textContent = p.parentNode.getAttribute("aria-label"); tip.hidden = false; });
      p.addEventListener("mousemove", function (e) { tip.style.left = (e.clientX + 12) + "px"; tip.style.top = (e.clientY + 12) + "px"; });
      p.addEventListener("mouseleave", function () { highlight(p.dataset.area, false); tip.hidden = true; });
      // A click follows the area's link to its profile (the <a> around the path).
    });
    document.querySelectorAll("#werte tbody tr").forEach(function (r) {
      r.addEventListener("mouseenter", function () { highlight(r.dataset.area, true); });
      r.addEventListener("mouseleave", function () { highlight(r.dataset.area, false); });
    });
    // The workbench checks a formula while it is typed (the server checks it as
    // `indicators load` would; the button still shows the map preview).
    var formula = document.getElementById("formel"), verdict = document.getElementById("formelpruefung");
    if (formula && verdict) {
      var timer = null, asked = 0;
      formula.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          var ask = ++asked;
          var params = new URLSearchParams(new FormData(formula.form));
          fetch("/werkstatt/indikator/pruefen?" + params.toString(), { headers: { Accept: "application/json" } })
            .then(function (r) { return r.json(); })
            .then(function (j) {
              if (ask !== asked) return;
              verdict.textContent = j.ok ? "✓ " + j.message : "✗ " + j.message;
              verdict.className = j.ok ? "note ok-inline" : "note problem-inline";
            })
            .catch(function () {});
        }, 300);
      });
    }
    // Werkstatt: a stored variable (or indicator) inserted into the formula at the cursor.
    var picker = document.getElementById("merkmal-waehler"), insert = document.getElementById("merkmal-einfuegen");
    if (formula && picker && insert) {
      insert.parentElement.hidden = false;
      insert.addEventListener("click", function () {
        var at = formula.selectionStart === null ? formula.value.length : formula.selectionStart;
        var end = formula.selectionEnd === null ? at : formula.selectionEnd;
        formula.value = formula.value.slice(0, at) + picker.value + formula.value.slice(end);
        formula.focus();
        formula.setSelectionRange(at + picker.value.length, at + picker.value.length);
        formula.dispatchEvent(new Event("input"));
      });
    }
    // Werkstatt index form: only the parts the chosen method needs are shown; rows can be
    // added; the sum of the weights follows the input.
    var indexForm = document.getElementById("index-formular");
    if (indexForm) {
      var method = indexForm.querySelector("select[name=methode]");
      var showParts = function () {
        indexForm.querySelectorAll("[data-methoden]").forEach(function (part) {
          part.hidden = part.dataset.methoden.split(" ").indexOf(method.value) < 0;
        });
      };
      if (method) { method.addEventListener("change", showParts); showParts(); }
      var sum = document.querySelector("#gewichte-summe output");
      var number = function (t) {
        t = t.trim();
        if (t === "") return 0;
        if (t.indexOf(",") >= 0) t = t.replace(/\./g, "").replace(",", ".");
        else if (/^\d{1,3}(\.\d{3})+$/.test(t)) t = t.replace(/\./g, "");
        var v = parseFloat(t);
        return isNaN(v) ? 0 : v;
      };
      var resum = function () {
        if (!sum) return;
        var total = 0;
        indexForm.querySelectorAll("input.weight").forEach(function (w) { total += number(w.value); });
        sum.textContent = String(Math.round(total * 1e9) / 1e9).replace(".", ",");
      };
      indexForm.addEventListener("input", function (e) { if (e.target.classList.contains("weight")) resum(); });
      indexForm.querySelectorAll("button.add-row").forEach(function (b) {
        b.hidden = false;
        b.addEventListener("click", function () {
          var body = document.getElementById(b.dataset.table).tBodies[0];
          var last = body.rows[body.rows.length - 1], n = body.rows.length;
          var row = last.cloneNode(true);
          row.cells[0].textContent = String(n + 1);
          row.querySelectorAll("[name]").forEach(function (el) {
            el.name = el.name.replace(/^([za])\d+_/, "$1" + n + "_");
            el.id = "f-" + el.name;
            if (el.type === "checkbox") el.checked = false; else el.value = "";
            el.removeAttribute("aria-invalid");
            el.removeAttribute("aria-describedby");
            var label = el.getAttribute("aria-label");
            if (label) el.setAttribute("aria-label", label.replace(/\d+/, String(n + 1)));
          });
          row.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
          body.appendChild(row);
          var first = row.querySelector("[name]");
          if (first) first.focus();
        });
      });
    }
    // Berichte: Markdown text blocks previewed as the report will show them (the server
    // renders them; raw HTML stays escaped).
    document.querySelectorAll("textarea[data-markdown]").forEach(function (area) {
      var target = document.getElementById(area.dataset.markdown), csrf = area.form && area.form.querySelector("input[name=csrf]");
      if (!target || !csrf) return;
      var timer = null, asked = 0;
      area.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          var ask = ++asked;
          var body = new URLSearchParams({ csrf: csrf.value, text: area.value });
          fetch("/berichte/markdown", { method: "POST", body: body })
            .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
            .then(function (html) { if (ask === asked) target.innerHTML = html; })
            .catch(function () {});
        }, 300);
      });
    });
    // Berichte: a report being generated; its progress is asked every second and the file
    // is fetched once it is ready.
    var progress = document.getElementById("bericht-fortschritt");
    if (progress) {
      var poll = function () {
        fetch(progress.dataset.status, { headers: { Accept: "application/json" } })
          .then(function (r) { return r.json(); })
          .then(function (j) {
            progress.querySelector(".stage").textContent = j.text;
            progress.querySelector(".seconds").textContent = j.seconds;
            if (j.state === "fertig" || j.state === "fehler") window.location.href = progress.dataset.ziel;
            else setTimeout(poll, 1000);
          })
          .catch(function () { setTimeout(poll, 3000); });
      };
      setTimeout(poll, 1000);
    }
    // View filters apply at once; forms that change something wait for their button.
    document.querySelectorAll("form.controls[method=get] select").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
  });
})();
