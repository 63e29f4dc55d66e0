/* critmin dashboard: searchable pickers, adding and removing instruments, the busy countdown.
   Everything works without it (plain checkboxes, server-side add/remove). */
(function () {
  "use strict";
  // what only works with this script (the pickers' search and chips) is shown only with it
  document.documentElement.classList.add("js");

  function words(text) { return text.toLowerCase().split(/\s+/).filter(Boolean); }

  function setupPicker(box) {
    var search = box.querySelector(".picker-search");
    var chips = box.querySelector(".picked");
    var empty = box.querySelector(".picker-empty");
    var watch = box.classList.contains("watch");
    function filter() {
      var q = words(search.value);
      var shown = 0;
      box.querySelectorAll(".picker-section").forEach(function (section) {
        var any = false;
        section.querySelectorAll(".opt").forEach(function (opt) {
          var hay = opt.getAttribute("data-search");
          var ok = q.every(function (w) { return hay.indexOf(w) >= 0; });
          opt.hidden = !ok;
          if (ok) { any = true; shown += 1; }
        });
        section.hidden = !any;
      });
      if (empty) { empty.hidden = shown > 0; }
    }
    function showChips() {
      chips.innerHTML = "";
      box.querySelectorAll("input[type=checkbox]:checked").forEach(function (input) {
        var chip = document.createElement("span");
        chip.className = "chip" + (watch ? " watch" : "");
        var label = input.parentNode.querySelector(".main").textContent;
        chip.textContent = box.hasAttribute("data-chip-names") ? label : input.value;
        chip.title = label;
        var remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "×";
        remove.setAttribute("aria-label", "Remove " + chip.title);
        remove.addEventListener("click", function () {
          var next = chip.nextElementSibling || chip.previousElementSibling;
          input.checked = false;
          showChips();
          // keep the keyboard where it was: the chip that takes its place, else the search
          var target = next && chips.querySelector('[title="' + CSS.escape(next.title) + '"] button');
          (target || box.querySelector("input[type=search]") || chips).focus();
        });
        chip.appendChild(remove);
        chips.appendChild(chip);
      });
      var summary = box.closest("details") && box.closest("details").querySelector(".pp-summary");
      if (summary) {
        var n = box.querySelectorAll("input[type=checkbox]:checked").length;
        summary.textContent = n ? n + " chosen" : "all products of the scenario";
      }
    }
    // Keyboard: the list is one stop of the Tab order (the option last focused, else the
    // first shown), the arrow keys, Home and End move between the shown options and Space
    // ticks one; ArrowDown in the search box enters the list. With every checkbox a stop of
    // its own, the designer's Run button was 584 presses of Tab from the top.
    var list = box.querySelector(".picker-list");
    function shownOptions() {
      return Array.prototype.filter.call(box.querySelectorAll(".opt input"), function (input) {
        return !input.closest("[hidden]");
      });
    }
    function rove(target) {
      box.querySelectorAll(".opt input").forEach(function (input) {
        input.tabIndex = input === target ? 0 : -1;
      });
    }
    function roveToShown() {
      var shown = shownOptions();
      var current = box.querySelector(".opt input[tabindex='0']");
      rove(shown.indexOf(current) >= 0 ? current : shown[0]);
    }
    list.addEventListener("focusin", function (e) {
      if (e.target.matches(".opt input")) { rove(e.target); }
    });
    list.addEventListener("keydown", function (e) {
      var shown = shownOptions();
      var at = shown.indexOf(document.activeElement);
      var moves = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: shown.length - 1,
                    PageDown: at + 10, PageUp: at - 10 };
      if (at < 0 || !(e.key in moves)) { return; }
      e.preventDefault();
      if (e.key === "ArrowUp" && at === 0) { search.focus(); return; }
      var next = shown[Math.max(0, Math.min(shown.length - 1, moves[e.key]))];
      rove(next);
      next.focus();
    });
    search.addEventListener("input", function () { filter(); roveToShown(); });
    search.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); }
      if (e.key === "ArrowDown" && shownOptions().length) {
        e.preventDefault();
        roveToShown();
        box.querySelector(".opt input[tabindex='0']").focus();
      }
    });
    box.addEventListener("change", showChips);
    filter();
    showChips();
    roveToShown();
  }

  function syncPolicy(box) {
    var type = box.querySelector(".policy-type").value;
    box.setAttribute("data-type", type);
    box.querySelectorAll("[data-for]").forEach(function (el) {
      el.hidden = !(type && el.getAttribute("data-for").split(" ").indexOf(type) >= 0);
    });
  }

  // An untouched importers field follows the type's default: "all" for a quota or licence
  // (one cap on total exports), "members" for a tariff or ban.
  function defaultImporters(box) {
    var field = box.querySelector("input[name$='-importers']");
    if (!field) { return; }
    var type = box.querySelector(".policy-type").value;
    var capped = type === "export_quota" || type === "export_licensing";
    if (capped && field.value === "members") { field.value = "all"; }
    else if (!capped && field.value === "all" && field.defaultValue !== "all") { field.value = "members"; }
  }

  // An add button is disabled, and says why, while its list holds as many boxes as it adds.
  function limitAdd(button, count, most) {
    if (!button.getAttribute("data-text")) {
      button.setAttribute("data-text", button.textContent);
    }
    var full = count >= most;
    button.disabled = full;
    button.textContent = full ? "At most " + most + " can be added here" : button.getAttribute("data-text");
  }

  // The boxes of a list numbered in their order ("Instrument 1", "Market shock 2", ...) and
  // its add button limited to the list's data-max.
  function renumberBoxes(holder, selector, word, addId) {
    var boxes = holder.querySelectorAll(selector);
    boxes.forEach(function (box, k) {
      box.querySelector(".box-title").textContent = word + " " + (k + 1);
    });
    var add = document.getElementById(addId);
    if (add) { limitAdd(add, boxes.length, parseInt(holder.getAttribute("data-max"), 10)); }
  }

  function renumber(list) { renumberBoxes(list, ".policy", "Instrument", "add-policy"); }

  // After a box is removed the keyboard stays in the list: on the last box's type, else on
  // the button that adds one (focus would otherwise fall back to the top of the page).
  function focusAfterRemoval(list, selector, addId) {
    var boxes = list.querySelectorAll(selector);
    var last = boxes.length ? boxes[boxes.length - 1].querySelector("select") : null;
    var target = last || document.getElementById(addId);
    if (target) { target.focus(); }
  }

  function setupPolicy(box, list) {
    syncPolicy(box);
    box.querySelector(".policy-type").addEventListener("change", function () {
      syncPolicy(box);
      defaultImporters(box);
    });
    box.querySelector(".remove-policy").addEventListener("click", function (e) {
      e.preventDefault();
      box.parentNode.removeChild(box);
      renumber(list);
      focusAfterRemoval(list, ".policy", "add-policy");
    });
    box.querySelectorAll("[data-picker]").forEach(setupPicker);
  }

  document.querySelectorAll("[data-picker]").forEach(function (box) {
    if (!box.closest(".policy")) { setupPicker(box); }
  });

  // The index of a new box: one past the highest of the list, so that the boxes' order on
  // the page is the order of their indices, in which the server reads them (all of them,
  // gaps left by removed boxes included).
  function nextIndex(holder, selector) {
    var next = 0;
    holder.querySelectorAll(selector).forEach(function (box) {
      next = Math.max(next, parseInt(box.getAttribute("data-index"), 10) + 1);
    });
    return next;
  }

  // A new box from a <template> (its "__i__" replaced by the next index), appended to
  // holder, set up and focused on its type; nothing while the holder has "most" boxes.
  function addBox(holder, selector, template, most, setup) {
    if (holder.querySelectorAll(selector).length >= most) { return; }
    var html = template.innerHTML.replace(/__i__/g, String(nextIndex(holder, selector)));
    var wrap = document.createElement("div");
    wrap.innerHTML = html.trim();
    var box = wrap.firstElementChild;
    holder.appendChild(box);
    setup(box);
    box.querySelector("select").focus();
  }

  var list = document.getElementById("policies");
  if (list) {
    list.querySelectorAll(".policy").forEach(function (box) { setupPolicy(box, list); });
    renumber(list);
    var template = document.getElementById("policy-template");
    document.getElementById("add-policy").addEventListener("click", function (e) {
      e.preventDefault();
      addBox(list, ".policy", template, parseInt(list.getAttribute("data-max"), 10), function (box) {
        setupPolicy(box, list);
        renumber(list);
      });
    });
  }

  function renumberShocks(shocks) { renumberBoxes(shocks, ".shock", "Market shock", "add-shock"); }

  function setupShock(box, shocks) {
    box.querySelector(".remove-shock").addEventListener("click", function (e) {
      e.preventDefault();
      box.parentNode.removeChild(box);
      renumberShocks(shocks);
      focusAfterRemoval(shocks, ".shock", "add-shock");
    });
    box.querySelectorAll("[data-picker]").forEach(setupPicker);
  }

  var shocks = document.getElementById("shocks");
  if (shocks) {
    shocks.querySelectorAll(".shock").forEach(function (box) { setupShock(box, shocks); });
    renumberShocks(shocks);
    var shockTemplate = document.getElementById("shock-template");
    document.getElementById("add-shock").addEventListener("click", function (e) {
      e.preventDefault();
      var most = parseInt(shocks.getAttribute("data-max"), 10);
      addBox(shocks, ".shock", shockTemplate, most, function (box) {
        setupShock(box, shocks);
        renumberShocks(shocks);
      });
    });
  }

  // say that the model is running (the button's label and aria-busy); a second click does
  // not send the form twice. pick(e) is the button that ran it, or null for another submit.
  function busyOnSubmit(form, pick) {
    form.addEventListener("submit", function (e) {
      var button = pick(e);
      if (!button) { return; }
      if (form.getAttribute("data-sent")) { e.preventDefault(); return; }
      form.setAttribute("data-sent", "1");
      setTimeout(function () {
        button.setAttribute("data-label", button.textContent);
        button.textContent = button.getAttribute("data-busy") ||
          (button.value === "save" ? "Saving…" : "Running…");
        button.setAttribute("aria-busy", "true");
      }, 0);
    });
    window.addEventListener("pageshow", function () {  // back to a page kept by the browser
      form.removeAttribute("data-sent");
      form.querySelectorAll("button[data-label]").forEach(function (b) {
        b.textContent = b.getAttribute("data-label");
        b.removeAttribute("data-label");
        b.removeAttribute("aria-busy");
      });
    });
  }

  var form = document.getElementById("designer-form");
  if (form) {
    busyOnSubmit(form, function (e) {
      var button = e.submitter;
      if (button && button.classList.contains("default-submit")) {  // Enter in a field
        button = document.getElementById("run") || button;
      }
      return button && /^(run|save)$/.test(button.value) ? button : null;
    });
  }
  // the other pages' long runs (paths, coalitions, a sweep, Monte Carlo draws): a form whose
  // submit button has data-busy, sent by that button or by Enter in a field
  document.querySelectorAll("form button[data-busy]").forEach(function (button) {
    busyOnSubmit(button.form, function () { return button; });
  });

  // a refused form: the keyboard starts at the list of what to change (it started at the top
  // of the page, above the navigation), from which each item links to its field
  var refused = document.querySelector("#designer-error, #form-error");
  if (refused && !location.hash) {
    refused.setAttribute("tabindex", "-1");
    refused.focus({ preventScroll: false });
  }

  var busy = document.querySelector("[data-retry]");
  if (busy) {
    var left = parseInt(busy.getAttribute("data-retry"), 10);
    var out = busy.querySelector(".countdown");
    var timer = setInterval(function () {
      left -= 1;
      if (left <= 0) {
        clearInterval(timer);
        busy.innerHTML = "<strong>Ready to retry.</strong> Your form is kept below: press <em>Run</em>.";
        return;
      }
      out.textContent = String(left);
    }, 1000);
  }
})();
