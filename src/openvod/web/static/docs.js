/* Starts Swagger UI on /docs. A file of its own rather than an inline script, so the page's
 * Content-Security-Policy can say script-src 'self' and nothing else. The OpenAPI document's URL
 * is the page's data-openapi-url attribute. */
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
