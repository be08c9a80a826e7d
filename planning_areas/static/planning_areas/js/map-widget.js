// Starts the admin's map widgets from the json_script data of
// admin/planning_areas/map_widget.html: what django-leaflet's widget templates do in two
// inline scripts, which the CSP (script-src 'self', no nonce) would block.
//
// Loaded in the page head with the widget's media, after Leaflet and django-leaflet's
// scripts. django-leaflet reads its marker-image folder (force-img-path) while the head
// loads, before that element exists, and Leaflet otherwise guesses the folder from its CSS
// file's name, which collectstatic's hashed names break (.../change/marker-icon.png):
// so the folder is set here, once the document is parsed and before any map is drawn.
(function () {
  "use strict";

  function readJSON(id) {
    const element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function startWidget(container) {
    const config = readJSON(container.dataset.mapWidget);
    if (!config) return;
    const field = {
      fieldid: config.fieldid,
      modifiable: config.modifiable,
      geom_type: config.geom_type,
      srid: config.srid,
      field_store_class: L.FieldStore,
    };
    const draw = (map, options) => {
      field.precision = options.djoptions.precision;
      new L.GeometryField(field).addTo(map);
    };
    const load = () =>
      L.Map.djangoMap(container.id, {
        djoptions: config.djoptions,
        globals: false,
        callback: draw,
      });
    if (config.loadevents.length === 0) load();
    for (const event of config.loadevents) window.addEventListener(event, load);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const imagePath = readJSON("force-img-path");
    if (imagePath) L.Icon.Default.imagePath = imagePath;
    document.querySelectorAll("[data-map-widget]").forEach(startWidget);
  });
})();
