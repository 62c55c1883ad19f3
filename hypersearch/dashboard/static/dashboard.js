// hypersearch dashboard: polls the JSON API and renders with textContent only
// (stored strings are never parsed as HTML).
"use strict";

(function () {
  var REFRESH_MS = Math.max(250, 1000 * parseFloat(document.body.dataset.refresh || "2"));
  var PLOT_REFRESH_MS = Math.max(REFRESH_MS, 10000);

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function fmt(v) {
    if (v === null || v === undefined) return "";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+(e|$)/, "$1");
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", cache: "no-store"}).then(function (r) {
      if (!r.ok && r.status !== 422) throw new Error(url + ": HTTP " + r.status);
      return r.json();
    });
  }

  function setStatus(text) {
    var s = document.getElementById("status");
    if (s) s.textContent = text;
  }

  // -- the study list ------------------------------------------------------------------------
  function studyList() {
    var body = document.querySelector("#studies tbody");
    function render(rows) {
      body.replaceChildren();
      if (!rows.length) {
        var tr = el("tr", null, "empty"); var td = el("td", "No study in this storage yet.");
        td.colSpan = 6; tr.appendChild(td); body.appendChild(tr); return;
      }
      rows.forEach(function (s) {
        var tr = el("tr"); tr.dataset.studyId = s.study_id;
        var a = el("a", s.name); a.href = "study/" + s.study_id;
        var td = el("td"); td.appendChild(a); tr.appendChild(td);
        tr.appendChild(el("td", s.directions.join(", ")));
        tr.appendChild(el("td", s.n_trials, "num"));
        tr.appendChild(el("td", Object.keys(s.state_counts).sort().map(function (k) {
          return k.toLowerCase() + ": " + s.state_counts[k];
        }).join(", ")));
        tr.appendChild(el("td", (s.best_values || []).map(fmt).join(", "), "num"));
        tr.appendChild(el("td", s.datetime_start ? s.datetime_start.replace("T", " ").slice(0, 19) : ""));
        body.appendChild(tr);
      });
    }
    function poll() {
      getJSON("api/studies").then(function (rows) { render(rows); setStatus("live"); })
        .catch(function (e) { setStatus("offline: " + e.message); })
        .finally(function () { setTimeout(poll, REFRESH_MS); });
    }
    setTimeout(poll, REFRESH_MS);
  }

  // -- one study -----------------------------------------------------------------------------
  function studyPage(root) {
    var base = "../api/studies/" + root.dataset.studyId;
    var trials = {};        // number -> row
    var maxNumber = -1;
    var paramNames = [];
    var nObjectives = 1;
    var sortKey = "number", sortDir = 1;
    var selected = null;
    var plots = {};         // key -> {div, shown}
    var head = document.getElementById("trials-head");
    var tbody = document.getElementById("trials-body");
    var fState = document.getElementById("filter-state");
    var fParam = document.getElementById("filter-param");
    var fValue = document.getElementById("filter-value");

    function columns() {
      var cols = [{key: "number", title: "#", num: true}, {key: "state", title: "State"}];
      if (nObjectives === 1) cols.push({key: "value", title: "Value", num: true});
      else for (var k = 0; k < nObjectives; k++) cols.push({key: "value" + k, title: "Value " + k, num: true});
      cols.push({key: "duration_s", title: "Duration (s)", num: true});
      paramNames.forEach(function (p) { cols.push({key: "param:" + p, title: p, param: p}); });
      return cols;
    }

    function cell(row, key) {
      if (key === "value") return row.values ? row.values[0] : null;
      if (key.indexOf("value") === 0 && key !== "value") return row.values ? row.values[+key.slice(5)] : null;
      if (key.indexOf("param:") === 0) return row.params[key.slice(6)];
      return row[key];
    }

    function matches(row) {
      if (fState.value && row.state !== fState.value) return false;
      var q = fValue.value.trim();
      if (!q) return true;
      var names = fParam.value ? [fParam.value] : Object.keys(row.params);
      var m = /^(<=|>=|<|>|=)\s*(-?[\d.]+(?:e-?\d+)?)$/i.exec(q);
      return names.some(function (n) {
        var v = row.params[n];
        if (v === undefined) return false;
        if (m) {
          var x = parseFloat(v), y = parseFloat(m[2]);
          if (isNaN(x)) return false;
          return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y, "=": x === y}[m[1]];
        }
        return String(v).toLowerCase().indexOf(q.toLowerCase()) >= 0;
      });
    }

    function renderHead() {
      head.replaceChildren();
      columns().forEach(function (c) {
        var th = el("th", c.title);
        th.dataset.key = c.key;
        if (c.key === sortKey) th.className = sortDir > 0 ? "sorted-asc" : "sorted-desc";
        th.addEventListener("click", function () {
          if (sortKey === c.key) sortDir = -sortDir; else { sortKey = c.key; sortDir = 1; }
          renderHead(); renderBody();
        });
        head.appendChild(th);
      });
      var have = Array.prototype.map.call(fParam.options, function (o) { return o.value; });
      paramNames.forEach(function (p) {
        if (have.indexOf(p) < 0) { var o = el("option", p); o.value = p; fParam.appendChild(o); }
      });
    }

    function compare(a, b) {
      var x = cell(a, sortKey), y = cell(b, sortKey);
      if (x === y) return a.number - b.number;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      if (typeof x === "number" && typeof y === "number") return sortDir * (x - y);
      return sortDir * String(x).localeCompare(String(y));
    }

    function renderBody() {
      var cols = columns();
      var rows = Object.keys(trials).map(function (k) { return trials[k]; }).filter(matches).sort(compare);
      var frag = document.createDocumentFragment();
      rows.forEach(function (r) {
        var tr = el("tr");
        tr.dataset.number = r.number;
        if (r.number === selected) tr.className = "selected";
        cols.forEach(function (c) {
          var v = cell(r, c.key);
          var td = el("td", c.key === "duration_s" && v !== null ? v.toFixed(2) : fmt(v), c.num ? "num" : "");
          if (c.key === "state") td.className = "state-" + r.state;
          tr.appendChild(td);
        });
        tr.addEventListener("click", function () { showDetail(r.number); });
        frag.appendChild(tr);
      });
      tbody.replaceChildren(frag);
      document.getElementById("trial-count").textContent =
        "(" + rows.length + " shown of " + Object.keys(trials).length + ")";
    }

    function unfinished() {
      return Object.keys(trials).filter(function (k) {
        var s = trials[k].state; return s === "RUNNING" || s === "WAITING" || s === "PAUSED";
      });
    }

    function pollTrials() {
      var url = base + "/trials?after=" + maxNumber + "&numbers=" + unfinished().join(",");
      return getJSON(url).then(function (data) {
        var newParams = false;
        data.trials.forEach(function (r) {
          trials[r.number] = r;
          if (r.number > maxNumber) maxNumber = r.number;
          if (r.values && r.values.length > nObjectives) nObjectives = r.values.length;
          Object.keys(r.params).forEach(function (p) {
            if (paramNames.indexOf(p) < 0) { paramNames.push(p); newParams = true; }
          });
        });
        if (newParams) { paramNames.sort(); renderHead(); }
        if (data.trials.length) renderBody();
        if (selected !== null && data.trials.some(function (r) { return r.number === selected; })) showDetail(selected);
        setStatus("live, " + new Date().toLocaleTimeString());
      });
    }

    function renderSummary(s) {
      nObjectives = s.directions.length;
      var dl = document.getElementById("summary-list");
      dl.replaceChildren();
      function item(k, v) { dl.appendChild(el("dt", k)); dl.appendChild(el("dd", v)); }
      item("Directions", s.directions.join(", "));
      item("Trials", s.n_trials + " (" + Object.keys(s.state_counts).sort().map(function (k) {
        return k.toLowerCase() + ": " + s.state_counts[k];
      }).join(", ") + ")");
      if (s.datetime_start) item("Started", s.datetime_start.replace("T", " ").slice(0, 19));
      (s.test_evaluations || []).forEach(function (e) { item("Test value (trial " + e.trial + ")", fmt(e.value)); });
      var best = document.getElementById("best");
      best.replaceChildren();
      if (s.best.length) {
        best.appendChild(el("h3", s.best.length > 1 ? "Pareto front (" + s.best.length + " trials)" : "Best trial"));
        var t = el("table"); t.id = "best-table";
        s.best.forEach(function (b) {
          var tr = el("tr");
          tr.appendChild(el("td", "#" + b.number, "num"));
          tr.appendChild(el("td", (b.values || []).map(fmt).join(", "), "num"));
          tr.appendChild(el("td", Object.keys(b.params).sort().map(function (k) {
            return k + " = " + fmt(b.params[k]);
          }).join(", ")));
          t.appendChild(tr);
        });
        best.appendChild(t);
      } else if (s.best_note) {
        best.appendChild(el("p", s.best_note, "note"));
      }
      s.plots.forEach(function (p) {
        if (plots[p.key]) return;
        var box = el("div"); box.id = "plot-box-" + p.key;
        var div = el("div", null, "plot"); div.id = "plot-" + p.key;
        box.appendChild(div);
        document.getElementById("plots").appendChild(box);
        plots[p.key] = {div: div, drawn: false};
        drawPlot(p.key);
      });
    }

    function drawPlot(key) {
      var p = plots[key];
      return getJSON(base + "/plots/" + encodeURIComponent(key)).then(function (fig) {
        if (fig.error) { p.div.replaceChildren(el("p", fig.error, "plot-error")); return; }
        if (typeof Plotly === "undefined") { p.div.replaceChildren(el("p", "plotly is not installed", "plot-error")); return; }
        (p.drawn ? Plotly.react : Plotly.newPlot)(p.div, fig.data, fig.layout, {responsive: true});
        p.drawn = true;
        p.div.dataset.points = fig.data.reduce(function (n, tr) { return n + (tr.x ? tr.x.length : 0); }, 0);
      }).catch(function (e) { p.div.replaceChildren(el("p", String(e), "plot-error")); });
    }

    function pollSummary() {
      return getJSON(base).then(renderSummary);
    }

    function showDetail(number) {
      selected = number;
      Array.prototype.forEach.call(tbody.rows, function (tr) {
        tr.className = +tr.dataset.number === number ? "selected" : "";
      });
      getJSON(base + "/trials/" + number).then(function (t) {
        var aside = document.getElementById("detail");
        aside.hidden = false;
        document.getElementById("detail-title").textContent = "Trial " + t.number + " (" + t.state + ")";
        var dl = document.getElementById("detail-list");
        dl.replaceChildren();
        function item(k, v, pre) {
          dl.appendChild(el("dt", k));
          var dd = el("dd"); if (pre) dd.appendChild(el("pre", v)); else dd.textContent = v; dl.appendChild(dd);
        }
        if (t.values) item("Values", t.values.map(fmt).join(", "));
        Object.keys(t.params).sort().forEach(function (k) { item(k, fmt(t.params[k])); });
        if (t.fail_reason) item("Failure", t.fail_reason, true);
        if (t.worker) item("Worker", t.worker);
        if (t.datetime_start) item("Started", t.datetime_start.replace("T", " ").slice(0, 19));
        if (t.duration_s !== null) item("Duration", t.duration_s.toFixed(2) + " s");
        Object.keys(t.user_attrs).sort().forEach(function (k) { item("user: " + k, fmt(t.user_attrs[k]), true); });
        var steps = Object.keys(t.intermediate).map(Number).sort(function (a, b) { return a - b; });
        var curve = document.getElementById("detail-curve");
        if (steps.length && typeof Plotly !== "undefined") {
          Plotly.react(curve, [{x: steps, y: steps.map(function (s) { return t.intermediate[s]; }), mode: "lines+markers"}],
            {height: 260, margin: {l: 50, r: 10, t: 30, b: 40}, title: {text: "Intermediate values"}}, {responsive: true});
        } else { curve.replaceChildren(); }
      });
    }

    [fState, fParam, fValue].forEach(function (x) { x.addEventListener("input", renderBody); });
    renderHead();
    pollSummary().then(pollTrials).catch(function (e) { setStatus("offline: " + e.message); });
    (function loop() {
      setTimeout(function () {
        pollTrials().catch(function (e) { setStatus("offline: " + e.message); }).finally(loop);
      }, REFRESH_MS);
    })();
    (function plotLoop() {
      setTimeout(function () {
        pollSummary().then(function () {
          return Promise.all(Object.keys(plots).map(drawPlot));
        }).catch(function () {}).finally(plotLoop);
      }, PLOT_REFRESH_MS);
    })();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var study = document.querySelector('[data-page="study"]');
    if (study) studyPage(study);
    else if (document.querySelector('[data-page="index"]')) studyList();
  });
})();
