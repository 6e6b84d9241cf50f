// Starts Swagger UI on /docs. A file rather than an inline script: the page's
// Content-Security-Policy allows scripts from this server only.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    deepLinking: true,
    // No badge from the public validator service: nothing may come from another origin.
    validatorUrl: null,
  });
});
