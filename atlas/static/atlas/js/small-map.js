// The small, static map on service and area pages. It repeats what the text says (the address,
// the area's outline), so it is an image to assistive technology and takes no keyboard focus.

const element = document.getElementById("detail-map");
const config = JSON.parse(document.getElementById("detail-map-config").textContent);

if (element) {
  const map = L.map(element, {
    zoomControl: false,
    attributionControl: false,
    dragging: false,
    touchZoom: false,
    scrollWheelZoom: false,
    doubleClickZoom: false,
    boxZoom: false,
    keyboard: false,
  });
  L.tileLayer(config.tiles.url, { maxZoom: config.tiles.maxZoom }).addTo(map);
  const attribution = document.createElement("p");
  attribution.className = "map-attribution";
  attribution.innerHTML = config.tiles.attribution;
  element.after(attribution);

  const bounds = L.latLngBounds([]);
  for (const point of config.points) {
    L.circleMarker([point.lat, point.lng], {
      radius: 9,
      color: "#ffffff",
      weight: 3,
      fillColor: "#c0392b",
      fillOpacity: 1,
      interactive: false,
    }).addTo(map);
    bounds.extend([point.lat, point.lng]);
  }
  if (bounds.isValid()) map.setView(bounds.getCenter(), config.points.length > 1 ? 14 : 16);
  if (bounds.isValid() && config.points.length > 1) map.fitBounds(bounds.pad(0.3));

  if (config.outline) {
    fetch(config.outline)
      .then((response) => (response.ok ? response.json() : null))
      .then((data) => {
        if (!data) return;
        const outline = L.geoJSON(data, {
          style: { color: "#1d3557", weight: 2, fillOpacity: 0.08 },
          interactive: false,
        }).addTo(map);
        map.fitBounds(outline.getBounds(), { padding: [8, 8] });
      });
  } else if (!bounds.isValid()) {
    element.hidden = true;
  }
}
