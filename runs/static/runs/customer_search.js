// The Run Checks customer search (runs/inc/customer_search_field.html): a combobox whose suggestion list
// htmx fills from runs:customer_search. Picking a suggestion (click, or ↓/↑ then Enter) puts the customer's
// id in the hidden `customer` field and submits the filter form; Esc closes the list. Typing clears the
// hidden id, so the form then filters by the typed text. Without JavaScript the input is a plain GET filter.
(function () {
  "use strict";

  function parts(input) {
    var box = input.closest(".customer-search");
    return {
      list: box && box.querySelector("[role=listbox]"),
      hidden: input.form && input.form.querySelector("input[type=hidden][name=customer]"),
    };
  }

  function options(list) {
    return Array.prototype.slice.call(list.querySelectorAll("[role=option][data-customer-id]"));
  }

  function setOpen(input, list, open) {
    list.classList.toggle("d-none", !open);
    input.setAttribute("aria-expanded", open ? "true" : "false");
    if (!open) {
      input.removeAttribute("aria-activedescendant");
      options(list).forEach(function (option) { mark(option, false); });
    }
  }

  function mark(option, active) {
    option.classList.toggle("active", active);
    option.setAttribute("aria-selected", active ? "true" : "false");
  }

  function move(input, list, step) {
    var items = options(list);
    if (!items.length) return;
    var current = items.findIndex(function (option) { return option.classList.contains("active"); });
    var next = current < 0 ? (step > 0 ? 0 : items.length - 1) : (current + step + items.length) % items.length;
    setOpen(input, list, true);
    items.forEach(function (option, index) { mark(option, index === next); });
    input.setAttribute("aria-activedescendant", items[next].id);
    items[next].scrollIntoView({ block: "nearest" });
  }

  function pick(input, option) {
    var found = parts(input);
    input.value = option.getAttribute("data-customer-name");
    if (found.hidden) found.hidden.value = option.getAttribute("data-customer-id");
    setOpen(input, found.list, false);
    if (input.form.requestSubmit) input.form.requestSubmit(); else input.form.submit();
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.hasAttribute || !input.hasAttribute("data-customer-search")) return;
    var found = parts(input);
    if (found.hidden) found.hidden.value = "";  // the text no longer names the picked customer
    if (!input.value.trim() && found.list) setOpen(input, found.list, false);
  });

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.hasAttribute || !input.hasAttribute("data-customer-search")) return;
    var list = parts(input).list;
    if (!list) return;
    var open = !list.classList.contains("d-none");
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      move(input, list, event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      setOpen(input, list, false);
    } else if (event.key === "Enter" && open) {
      var active = list.querySelector("[role=option].active[data-customer-id]");
      if (active) {
        event.preventDefault();
        pick(input, active);
      }
    }
  });

  // mousedown, not click: the input keeps its focus, so the list is not closed before the pick
  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest && event.target.closest(".customer-search [role=option][data-customer-id]");
    if (!option) return;
    event.preventDefault();
    var input = option.closest(".customer-search").querySelector("[data-customer-search]");
    pick(input, option);
  });

  document.addEventListener("focusout", function (event) {
    var input = event.target;
    if (!input.hasAttribute || !input.hasAttribute("data-customer-search")) return;
    var list = parts(input).list;
    if (list) setOpen(input, list, false);
  });

  // htmx swapped new suggestions in: show them (or hide an empty list)
  document.addEventListener("htmx:afterSwap", function (event) {
    var list = event.target;
    if (!list.matches || !list.matches(".customer-search [role=listbox]")) return;
    var input = list.closest(".customer-search").querySelector("[data-customer-search]");
    var hasItems = list.querySelector("[role=option]") !== null;
    setOpen(input, list, hasItems && document.activeElement === input);
  });
})();
