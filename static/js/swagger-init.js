// Starts Swagger UI on /docs from a file, so the page needs no inline script under the CSP.
(function () {
  var el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: el.dataset.openapiUrl, dom_id: "#swagger-ui", deepLinking: true });
})();
