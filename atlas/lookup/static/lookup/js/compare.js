// Both layers of the compare page on one map: the first solid, the second dashed, the chosen
// area highlighted. The table beside it is server-rendered; this only draws.

import { textElement } from "../../atlas/js/safe-content.js";

const config = JSON.parse(document.getElementById("compare-config").textContent);
const map = L.map("compare-map");
L.tileLayer(config.tiles.url, { attribution: config.tiles.attribution, maxZoom: config.tiles.maxZoom }).addTo(map);
// Until the layers arrive, the atlas's extent (or the whole world, when it has none yet).
if (config.bounds) map.fitBounds(config.bounds);
else map.setView([0, 0], 1);

const styles = {
  first: { color: "#1f4e9c", weight: 2, fillOpacity: 0.05 },
  second: { color: "#b03a00", weight: 2, dashArray: "6 4", fill: false },
};

async function draw(key) {
  const url = config.layers[key];
  if (!url) return null;
  const response = await fetch(url, { headers: { Accept: "application/geo+json" } });
  if (!response.ok) return null;
  const data = await response.json();
  const layer = L.geoJSON(data, {
    style: (feature) =>
      key === "first" && feature.properties.code === config.selected
        ? { ...styles.first, fillOpacity: 0.35, weight: 3 }
        : styles[key],
    onEachFeature: (feature, shape) => {
      // Names come from uploads: text nodes only, never an HTML string.
      shape.bindTooltip(textElement("span", `${feature.properties.code} ${feature.properties.name}`));
    },
  }).addTo(map);
  return layer;
}

const [first, second] = await Promise.all([draw("first"), draw("second")]);
let focus = null;
if (first && config.selected) {
  first.eachLayer((shape) => {
    if (shape.feature.properties.code === config.selected) focus = shape.getBounds();
  });
}
if (!focus) {
  for (const layer of [first, second]) {
    if (layer && layer.getBounds().isValid()) {
      focus = focus ? focus.extend(layer.getBounds()) : layer.getBounds();
    }
  }
}
if (focus) map.fitBounds(focus);
