// Wide tables reflow on a phone: each row becomes a card whose cells are labelled with their
// column (style.css shows `data-label` before each cell below 600 px). The labels are copied
// from the table's own header here, so every table of every page gets them without its
// template repeating each header on each cell; without this script a wide table keeps its
// columns and scrolls inside its card.
(function () {
  "use strict";
  // A table of this many columns or fewer fits a phone as it is (a month's chart tables).
  var FITS_A_PHONE = 3;

  function headers(table) {
    var rows = table.tHead ? table.tHead.rows : [];
    if (!rows.length) return null;
    return Array.prototype.map.call(rows[rows.length - 1].cells, function (cell) {
      return cell.textContent.replace(/[▲▼]/g, "").replace(/\s+/g, " ").trim();
    });
  }

  // display:block takes table semantics away in some browsers: say them with ARIA.
  function keepSemantics(table) {
    table.setAttribute("role", "table");
    Array.prototype.forEach.call(table.querySelectorAll("thead, tbody, tfoot"), function (group) {
      group.setAttribute("role", "rowgroup");
    });
    Array.prototype.forEach.call(table.rows, function (row) {
      row.setAttribute("role", "row");
      Array.prototype.forEach.call(row.cells, function (cell) {
        var header = cell.tagName === "TH";
        var inHead = row.parentNode.tagName === "THEAD";
        cell.setAttribute("role", !header ? "cell" : inHead ? "columnheader" : "rowheader");
      });
    });
  }

  function reflow(table) {
    var labels = headers(table);
    if (!labels || labels.length <= FITS_A_PHONE || table.hasAttribute("data-keep-columns")) return;
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        Array.prototype.forEach.call(row.cells, function (cell, i) {
          if (labels[i]) cell.setAttribute("data-label", labels[i]);
          if (!cell.textContent.trim() && !cell.children.length) cell.classList.add("blank");
        });
      });
    });
    keepSemantics(table);
    table.classList.add("reflow");
  }

  function reflowAll(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("table.table"), reflow);
  }

  // Tables a page's script adds later (the suggestions page's) announce themselves so.
  document.addEventListener("content:added", function (event) { reflowAll(event.target); });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { reflowAll(); });
  } else reflowAll();
})();
