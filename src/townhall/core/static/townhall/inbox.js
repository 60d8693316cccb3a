// Inbox pages: keyboard shortcuts, the canned-reply picker, bulk selection, and form errors swapped in place.
"use strict";

(() => {
  const isTyping = (el) =>
    Boolean(el) && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
  const rows = () => Array.from(document.querySelectorAll("tr.conversation-row"));
  const help = () => document.getElementById("shortcut-help");

  function moveSelection(step) {
    const all = rows();
    if (!all.length) return;
    const current = all.findIndex((row) => row.classList.contains("selected"));
    const next = current < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, current + step));
    select(all[next]);
  }

  function select(row) {
    for (const other of rows()) {
      other.classList.remove("selected");
      other.removeAttribute("aria-selected");
    }
    row.classList.add("selected");
    row.setAttribute("aria-selected", "true");
    row.scrollIntoView({ block: "nearest" });
  }

  function toggleHelp(show) {
    const overlay = help();
    if (!overlay) return;
    overlay.hidden = show === undefined ? !overlay.hidden : !show;
    if (!overlay.hidden) overlay.querySelector("[data-close-help]")?.focus();
  }

  function focusBox(id) {
    const box = document.getElementById(id);
    if (!box) return false;
    box.focus();
    box.scrollIntoView({ block: "center" });
    return true;
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      if (help() && !help().hidden) toggleHelp(false);
      else if (isTyping(event.target)) event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
    let handled = true;
    switch (event.key) {
      case "j":
        moveSelection(1);
        break;
      case "k":
        moveSelection(-1);
        break;
      case "Enter": {
        // Enter on a focused link or button keeps its own meaning.
        const row = document.querySelector("tr.conversation-row.selected");
        if (!row || (event.target !== document.body && !event.target.matches("tr"))) return;
        window.location.href = row.dataset.href;
        break;
      }
      case "r":
        handled = focusBox("reply-text");
        break;
      case "n":
        handled = focusBox("note-text");
        break;
      case "e": {
        const form = document.getElementById("resolve-form");
        if (form) form.requestSubmit();
        handled = Boolean(form);
        break;
      }
      case "?":
        toggleHelp();
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  });

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-open-help]")) return toggleHelp(true);
    if (event.target.closest("[data-close-help]") || event.target === help()) return toggleHelp(false);
    const row = event.target.closest("tr.conversation-row");
    if (row && !event.target.closest("a, input, button")) select(row);
  });

  // Bulk selection: the header box ticks every row shown; the bar says how many are ticked.
  function countTicked() {
    const label = document.getElementById("bulk-count");
    if (!label) return;
    const ticked = document.querySelectorAll("input[name=ids]:checked").length;
    label.textContent = ticked ? `${ticked} selected` : "None selected";
  }

  document.addEventListener("change", (event) => {
    const target = event.target;
    if (target.id === "pick-all") {
      for (const box of document.querySelectorAll("input[name=ids]")) box.checked = target.checked;
      countTicked();
    } else if (target.name === "ids") {
      countTicked();
    } else if (target.id === "canned-picker" && target.value) {
      insertCanned(target);
    }
  });

  // A canned reply goes in at the cursor, with this conversation's variables already filled in.
  async function insertCanned(picker) {
    const box = document.getElementById("reply-text");
    const response = await fetch(picker.value, { headers: { Accept: "application/json" } });
    picker.value = "";
    if (!box || !response.ok) return;
    const { text } = await response.json();
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    box.value = box.value.slice(0, start) + text + box.value.slice(end);
    box.focus();
    box.selectionStart = box.selectionEnd = start + text.length;
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // A form the service turned down comes back as 422 with its errors: show it rather than drop it.
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
