/* A new request: beside each line's quantity, the unit of the item chosen on that line
   (templates/allocation/request_form.html; the units from the page's "item-units" data).
   Without a script the server shows the unit of the item it received, and each item's
   name in the list ends with its unit. */
(function () {
  "use strict";

  var data = document.getElementById("item-units");
  if (!data) return;
  var units = JSON.parse(data.textContent);

  Array.prototype.forEach.call(document.querySelectorAll(".unit-beside[data-unit-of]"), function (unit) {
    var select = document.querySelector('select[name="' + unit.dataset.unitOf + '"]');
    if (!select) return;
    function show() {
      unit.textContent = units[select.value] || "";
    }
    select.addEventListener("change", show);
    show();
  });
})();
