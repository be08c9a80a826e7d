// Tells Leaflet where its marker images are, for django-leaflet's admin map widgets.
// Leaflet guesses the folder from the URL of its CSS file, which collectstatic's hashed names
// break (the widget asked for .../change/marker-icon.png). django-leaflet writes the folder
// into a json_script element but reads it while the page head loads, before that element
// exists; its maps are drawn on the window's load event, after this handler has run.
document.addEventListener("DOMContentLoaded", () => {
  const element = document.getElementById("force-img-path");
  const path = element ? JSON.parse(element.textContent) : null;
  if (path && window.L) L.Icon.Default.imagePath = path;
});
