// Draws every chart of the page with the inlined Vega bundle (window.vegaEmbed). Each figure
// names its specification (a JSON script element); when drawn it is marked
// data-rendered="true", when drawing failed "failed" with a note in its place.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("report-config").textContent);
  var figures = document.querySelectorAll("figure[data-chart]");
  Array.prototype.forEach.call(figures, function (figure) {
    var canvas = figure.querySelector(".chart-canvas");
    var fail = function (error) {
      figure.setAttribute("data-rendered", "failed");
      canvas.textContent = config.chartFailed;
      console.error(error);
    };
    try {
      var spec = JSON.parse(
        document.getElementById("spec-" + figure.getAttribute("data-chart")).textContent);
      window.vegaEmbed(canvas, spec, {
        renderer: "svg",
        actions: false,
        formatLocale: config.formatLocale,
        timeFormatLocale: config.timeFormatLocale
      }).then(function () {
        figure.setAttribute("data-rendered", "true");
      }, fail);
    } catch (error) {
      fail(error);
    }
  });
})();
