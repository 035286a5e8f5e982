/* Reading aids for every device (tested in tests/test_reader.py).
 *
 * 1. The sidebar buttons. The page has two "Site navigation" (.primary-toggle) and two
 *    "On this page" (.secondary-toggle) buttons: the theme header's, which are hidden, and
 *    the article header's, which readers see. pydata-sphinx-theme and sphinx-book-theme
 *    wire only the first of each (document.querySelector), so the visible ones did nothing.
 *    Here a click on any other toggle is forwarded to the wired one: on a wide screen that
 *    collapses or restores the sidebar, on a narrow one it opens the sidebar as a dialog,
 *    which gets a visible "Close" button (Escape and a click outside close it too).
 * 2. Boxes that scroll sideways (display equations, tables, outputs) get the class
 *    ce-scrolls-right / ce-scrolls-left while content is hidden on that side; custom.css
 *    draws a shadow there, so a reader sees that an equation goes on.
 * 3. Copying mathematics. Each display equation gets a "Copy TeX" button, and copying a
 *    selection puts each equation in it on the clipboard as its TeX ($...$ inline,
 *    $$...$$ displayed) instead of MathJax's glyphs. MathJax's own menu (copy as TeX or
 *    MathML, zoom) would add about 430 kB to every page.
 */
(function () {
  "use strict";

  function wireToggles() {
    [".primary-toggle", ".secondary-toggle"].forEach(function (selector) {
      var buttons = Array.prototype.slice.call(document.querySelectorAll(selector));
      var wired = buttons[0];
      buttons.slice(1).forEach(function (button) {
        button.addEventListener("click", function (event) {
          event.preventDefault();
          event.stopPropagation();
          wired.click();
          var dialog = document.querySelector(
            selector === ".primary-toggle" ? "#pst-primary-sidebar-modal" : "#pst-secondary-sidebar-modal"
          );
          var sidebar = document.querySelector(
            selector === ".primary-toggle" ? "#pst-primary-sidebar" : "#pst-secondary-sidebar"
          );
          if (sidebar && !(dialog && dialog.open)) {
            button.setAttribute("aria-expanded", String(!sidebar.classList.contains("pst-sidebar-hidden")));
          }
        });
      });
    });
    ["#pst-primary-sidebar-modal", "#pst-secondary-sidebar-modal"].forEach(function (id) {
      var dialog = document.querySelector(id);
      if (!dialog) return;
      var close = document.createElement("button");
      close.type = "button";
      close.className = "ce-dialog-close btn btn-sm";
      close.textContent = "Close \u00d7";
      close.addEventListener("click", function () {
        dialog.close();
      });
      // the theme moves the sidebar's nodes into the dialog when it opens and back when it closes:
      // put the button first once the nodes are in, so that it is the first thing focused
      new MutationObserver(function () {
        if (dialog.open && dialog.firstChild !== close) {
          dialog.insertBefore(close, dialog.firstChild);
          close.focus();
        }
      }).observe(dialog, { attributes: true, attributeFilter: ["open"], childList: true });
    });
  }

  var SCROLLERS = 'mjx-container[display="true"], .bd-article table, div.cell_output div.output, .bd-article div.highlight pre';

  function markScrollers() {
    document.querySelectorAll(SCROLLERS).forEach(function (box) {
      var hidden = box.scrollWidth - box.clientWidth;
      box.classList.toggle("ce-scrolls-left", hidden > 1 && box.scrollLeft > 1);
      box.classList.toggle("ce-scrolls-right", hidden > 1 && box.scrollLeft < hidden - 1);
      if (hidden > 1 && !box.hasAttribute("tabindex")) box.setAttribute("tabindex", "0"); // scrolls with the keyboard too
    });
  }

  function watchScrollers() {
    markScrollers();
    window.addEventListener("resize", markScrollers);
    document.addEventListener("scroll", function (event) {
      var box = event.target;
      if (box instanceof Element && box.matches(SCROLLERS)) markScrollers();
    }, true);
  }

  function texOf(container) {
    var items = window.MathJax && MathJax.startup && MathJax.startup.document
      ? MathJax.startup.document.getMathItemsWithin(container) : [];
    var item = items.find(function (m) { return m.typesetRoot === container; });
    if (!item) return null;
    var tex = item.math.trim();
    return item.display ? "$$" + tex + "$$" : "$" + tex + "$";
  }

  function addCopyButtons() {
    document.querySelectorAll("div.math").forEach(function (box) {
      var container = box.querySelector("mjx-container");
      if (!container || box.querySelector(".ce-copy-tex")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "ce-copy-tex";
      var number = box.querySelector(".eqno");
      var name = number ? "equation " + number.textContent.replace(/[#\s]/g, "") : "this equation";
      button.setAttribute("aria-label", "Copy the TeX of " + name);
      button.textContent = "Copy TeX";
      button.addEventListener("click", function () {
        var tex = texOf(container);
        if (tex === null) return;
        navigator.clipboard.writeText(tex).then(function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = "Copy TeX"; }, 1500);
        });
      });
      box.appendChild(button);
    });
  }

  function copyEquationsAsTex(event) {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return;
    var fragment = selection.getRangeAt(0).cloneContents();
    var originals = Array.prototype.slice.call(document.querySelectorAll("mjx-container"))
      .filter(function (m) { return selection.containsNode(m, true); });
    var copies = fragment.querySelectorAll("mjx-container");
    if (copies.length === 0) return;
    // the copies are in document order, as are the originals the selection touches
    var offset = originals.length - copies.length;
    Array.prototype.forEach.call(copies, function (copy, i) {
      var tex = texOf(originals[i + offset]);
      copy.replaceWith(document.createTextNode(tex === null ? copy.textContent : tex));
    });
    fragment.querySelectorAll(".ce-copy-tex, .headerlink").forEach(function (n) { n.remove(); });
    var holder = document.createElement("div");
    holder.appendChild(fragment);
    event.clipboardData.setData("text/plain", holder.textContent.replace(/[ \t]+\n/g, "\n"));
    event.preventDefault();
  }

  function ready(callback) {
    if (document.readyState !== "loading") callback();
    else document.addEventListener("DOMContentLoaded", callback);
  }

  ready(function () {
    wireToggles();
    document.addEventListener("copy", copyEquationsAsTex);
    // MathJax loads asynchronously: wait for its start-up promise to exist, then for it to settle
    if (!window.MathJax) {
      watchScrollers(); // a page without mathematics loads no MathJax
      return;
    }
    var tries = 0;
    (function whenTypeset() {
      if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        MathJax.startup.promise.then(function () {
          addCopyButtons();
          watchScrollers();
        });
      } else if (tries++ < 200) {
        setTimeout(whenTypeset, 50);
      } else {
        watchScrollers(); // a page without MathJax
      }
    })();
  });
})();
