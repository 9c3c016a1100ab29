// Swagger UI, from needle's own files (nothing is fetched from elsewhere)
"use strict";
(function () {
  var box = document.getElementById("swagger");
  if (!box || typeof SwaggerUIBundle === "undefined") return;
  SwaggerUIBundle({ url: box.dataset.spec, dom_id: "#swagger", deepLinking: false });
})();
