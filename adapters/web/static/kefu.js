// Live updates: the server says "change" (server-sent events) whenever a ticket changed
// anywhere; the parts of the page that show tickets fetch themselves again (htmx).
(function () {
  document.addEventListener("htmx:configRequest", function (e) {
    var token = document.querySelector("input[name=csrf]");
    if (token) e.detail.headers["X-CSRF-Token"] = token.value;
  });
  // Signed out meanwhile (elsewhere, or the account removed): the page itself asks again,
  // which leads to the sign-in page and back here, instead of a page that stopped updating.
  document.addEventListener("htmx:responseError", function (e) {
    if (e.detail.xhr && e.detail.xhr.status === 401) location.reload();
  });
  // Only pages with live parts (the queue, a ticket) listen; they were loaded by GET, so
  // loading them again is safe.
  if (!window.EventSource || !document.querySelector('[hx-trigger^="kefu-change"]')) return;
  var source = new EventSource("/events");
  source.addEventListener("change", function () {
    document.body.dispatchEvent(new CustomEvent("kefu-change"));
  });
  // The stream refused (signed out) rather than dropped (then it reconnects by itself):
  // load the page again, which asks to sign in if that is what it was.
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) {
      setTimeout(function () { location.reload(); }, 3000);
    }
  });
})();
