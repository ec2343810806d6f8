// Behaviour every page shares, as a file: the Content-Security-Policy allows no inline script or handler.
(function () {
  "use strict";
  // A flash message's close button.
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest ? evt.target.closest(".flash-close") : null;
    if (button) button.closest(".flash").remove();
  });
})();
