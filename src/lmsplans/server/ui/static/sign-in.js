// A sign-in link's page: go on at once. The link is used by this form only, never by
// opening the page, so mail scanners and link previews cannot use it up.
window.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-auto-submit]");
  if (form) {
    form.requestSubmit();
  }
});
