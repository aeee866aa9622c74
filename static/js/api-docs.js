// ReDoc over the generated OpenAPI document (templates/apidocs/redoc.html); no fonts or assets from the web.
(function () {
  var el = document.getElementById("redoc");
  Redoc.init(el.dataset.specUrl, {hideDownloadButton: false, expandResponses: "200,201", nativeScrollbars: true}, el);
})();
