// spendlens dashboard conveniences. Everything works without this file; it only saves clicks.
(function () {
  "use strict";
  document.documentElement.classList.add("has-js");

  // A form's error is where the person is looking: focused (screen readers read it too).
  var problem = document.querySelector("[data-focus]");
  if (problem) { problem.focus(); }

  // Filters apply as soon as a select changes.
  document.querySelectorAll("form.filters select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // A custom date range replaces the preset.
  document.querySelectorAll("form.filters input[type=date]").forEach(function (input) {
    input.addEventListener("change", function () {
      var preset = input.form.querySelector("select[name=period]");
      if (preset) { preset.value = ""; }
    });
  });

  // Inline rename: clicking a display name turns it into its form.
  document.querySelectorAll("[data-rename]").forEach(function (cell) {
    var label = cell.querySelector(".name-label");
    var form = cell.querySelector("form");
    if (!label || !form) { return; }
    form.hidden = true;
    label.hidden = false;
    label.setAttribute("tabindex", "0");
    label.setAttribute("role", "button");
    label.title = "Click to rename";
    var open = function () { label.hidden = true; form.hidden = false; form.querySelector("input[type=text]").focus(); };
    label.addEventListener("click", open);
    label.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } });
    form.addEventListener("keydown", function (e) { if (e.key === "Escape") { form.hidden = true; label.hidden = false; label.focus(); } });
  });

  // Select all rows for a bulk action.
  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=ids]").forEach(function (box) { box.checked = all.checked; });
    });
  });

  // The provider picker shows that provider's credential shape.
  var provider = document.querySelector("select[name=provider][data-shapes]");
  if (provider) {
    var shapes = JSON.parse(provider.getAttribute("data-shapes"));
    var credential = document.querySelector("[name=credential]");
    var hint = document.getElementById("credential-hint");
    var show = function () {
      var shape = shapes[provider.value] || "";
      if (credential) { credential.placeholder = shape.placeholder || ""; }
      if (hint) { hint.textContent = shape.hint || ""; }
    };
    // AWS Bedrock: three fields instead of a JSON credential.
    var aws = document.querySelector("[data-for-provider=bedrock]");
    var credentialLabel = credential ? credential.closest("label") : null;
    var showAws = function () {
      var bedrock = provider.value === "bedrock";
      if (aws) { aws.hidden = !bedrock; }
      if (credentialLabel) { credentialLabel.hidden = bedrock; }
    };
    provider.addEventListener("change", show);
    provider.addEventListener("change", showAws);
    show();
    showAws();
  }

  // A form that makes a live call says so while it runs.
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; button.textContent = form.getAttribute("data-busy"); }
    });
  });

  // While a sync runs, poll its progress and reload when it ends.
  var banner = document.querySelector("[data-sync-running]");
  if (banner) {
    var poll = function () {
      fetch("/sync-status", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (s) {
        if (s.running > 0) {
          banner.textContent = "Syncing " + s.running + " connection(s)… " + s.lines + " lines so far";
          setTimeout(poll, 1500);
        } else {
          window.location.reload();
        }
      }).catch(function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 1500);
  }
  // A live region (Cost records) is replaced in place every few seconds with the same
  // filters (they are in its URL), while the tab is visible; signed out or a bad filter stops
  // it (the part is recognized by its header), a network error retries later.
  var live = document.querySelector("[data-live]");
  if (live && window.fetch) {
    var every = (parseInt(live.getAttribute("data-live-seconds"), 10) || 5) * 1000;
    var refresh = function () {
      if (document.hidden) { setTimeout(refresh, every); return; }
      fetch(live.getAttribute("data-live"), { credentials: "same-origin", cache: "no-store" }).then(function (r) {
        if (!r.ok || r.headers.get("x-spendlens-part") !== "cost-live") { return null; }
        return r.text();
      }).then(function (html) {
        if (html === null) { return; }
        live.innerHTML = html;
        setTimeout(refresh, every);
      }).catch(function () { setTimeout(refresh, every * 6); });
    };
    setTimeout(refresh, every);
  }
  // The Providers view's forecast panel, when its first read was still running: asked for
  // until it is there (202 while the read runs), not while the tab is hidden. A response that
  // is not the panel (signed out) stops it; a failed read or three minutes of asking say so.
  var pending = document.querySelector("[data-forecast-pending]");
  if (pending && window.fetch) {
    var asked = 0;
    var giveUp = function () {
      var note = pending.querySelector("p.muted");
      if (note) { note.textContent = "The forecast could not be read just now. Reload the page to try again."; }
      pending.removeAttribute("aria-busy");
    };
    var ask = function () {
      if (document.hidden) { setTimeout(ask, 2000); return; }
      asked += 1;
      fetch("/cost/forecast/panel", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
        if (r.status === 204) { pending.remove(); return; }
        if (r.status === 202) { if (asked < 90) { setTimeout(ask, 2000); } else { giveUp(); } return; }
        if (!r.ok) { giveUp(); return; }
        if (r.headers.get("x-spendlens-part") !== "forecast-panel") { return; }
        return r.text().then(function (html) { pending.outerHTML = html; });
      }).catch(function () { if (asked < 90) { setTimeout(ask, 10000); } else { giveUp(); } });
    };
    ask();
  }
  // Copy a just-created secret (the button only exists with JavaScript).
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () { button.textContent = "Copied"; });
    });
  });
})();
