// A handling unit's crew (docs/units.md) gets no report or patrol screens. This runs at the top of
// <body>, before the page paints, from the signed-in person saved on the phone (offline too); ui.js
// sets the same class again from the server's answer. A file, not an inline script: the
// Content-Security-Policy allows scripts from our own origin only (docs/security.md).
try {
  if ((JSON.parse(localStorage.getItem("gc.me") || "null") || {}).role === "unit_member") {
    document.body.classList.add("m-unit");
  }
} catch (e) { /* no saved person yet */ }
