/* The main navigation's menus are <details> elements: they open and close without a script.
   This only keeps one open at a time and closes them on Escape or a click elsewhere. */
(function () {
  "use strict";
  var menus = document.querySelectorAll(".mainnav details.navmenu");
  function closeAll(except) {
    menus.forEach(function (menu) {
      if (menu !== except) { menu.removeAttribute("open"); }
    });
  }
  menus.forEach(function (menu) {
    menu.addEventListener("toggle", function () {
      if (menu.open) { closeAll(menu); }
    });
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest(".mainnav details.navmenu")) { closeAll(null); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = document.querySelector(".mainnav details.navmenu[open]");
    if (open) {
      open.removeAttribute("open");
      open.querySelector("summary").focus();
    }
  });
})();
