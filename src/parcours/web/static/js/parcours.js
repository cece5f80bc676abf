/* Parcours: the little the pages do in the browser. Every page works without it. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";

  // Folded groups of form fields (the list's secondary filters) open on a wide screen,
  // where there is room to show every choice at once; a phone keeps them folded.
  if (window.matchMedia && window.matchMedia("(min-width: 48em)").matches) {
    var groups = document.querySelectorAll("details[data-open-wide]");
    for (var i = 0; i < groups.length; i++) groups[i].open = true;
  }

  // A zoom map comes without marks: they are copied from the map it enlarges
  // (data-zoom-of, a class), moved by data-affine ("ax bx ay by": x' = ax·x + bx)
  // and drawn with the zoom's own symbols (data-symbols "m z": #m3 becomes #z3).
  // The page so carries each mark once. The zoom's figure stays hidden without this.
  function fillZoom(zoom) {
    var source = document.querySelector("svg." + zoom.getAttribute("data-zoom-of"));
    if (!source) return;
    var f = zoom.getAttribute("data-affine").split(" ").map(Number);
    var symbols = zoom.getAttribute("data-symbols").split(" ");
    var box = zoom.viewBox.baseVal;
    var layer = document.createElementNS(SVG, "g");
    layer.setAttribute("class", "points");
    var links = source.querySelectorAll(".points a");
    for (var i = 0; i < links.length; i++) {
      var mark = links[i].querySelector("use");
      if (!mark) continue;
      var x = f[0] * parseFloat(mark.getAttribute("x")) + f[1];
      var y = f[2] * parseFloat(mark.getAttribute("y")) + f[3];
      if (!(x >= 0 && y >= 0 && x <= box.width && y <= box.height)) continue;
      var copy = links[i].cloneNode(true);
      var moved = copy.querySelector("use");
      var symbol = moved.getAttribute("href").replace("#" + symbols[0], "#" + symbols[1]);
      moved.setAttribute("href", symbol);
      moved.setAttribute("x", x.toFixed(1));
      moved.setAttribute("y", y.toFixed(1));
      // The hooks that find an establishment's mark stay unique to the map it belongs to.
      moved.removeAttribute("class");
      moved.removeAttribute("data-code");
      moved.removeAttribute("data-type");
      layer.appendChild(copy);
    }
    zoom.insertBefore(layer, zoom.querySelector(".places"));
    var figure = zoom.closest("figure");
    if (figure) figure.hidden = false;
  }

  var zooms = document.querySelectorAll("svg[data-zoom-of]");
  for (var z = 0; z < zooms.length; z++) fillZoom(zooms[z]);
})();
