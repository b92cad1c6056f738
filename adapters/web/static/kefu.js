// Live updates: the server says "change" (server-sent events) whenever a ticket changed
// anywhere; the parts of the page that show tickets fetch themselves again (htmx).
(function () {
  if (!window.EventSource || location.pathname === "/login") return;
  var source = new EventSource("/events");
  source.addEventListener("change", function () {
    document.body.dispatchEvent(new CustomEvent("kefu-change"));
  });
  document.addEventListener("htmx:configRequest", function (e) {
    var token = document.querySelector("input[name=csrf]");
    if (token) e.detail.headers["X-CSRF-Token"] = token.value;
  });
})();
