// The admin's preview of a composed layer: the areas the mapping would build, before anything
// is written. Names come from an uploaded file: tooltips get text nodes, never HTML strings.

import { textElement } from "../../atlas/js/safe-content.js";

const config = JSON.parse(document.getElementById("compose-preview").textContent);
const container = document.getElementById("compose-preview-map");

if (container && config.areas.features.length) {
  const map = L.map(container);
  L.tileLayer(config.tiles.url, {
    attribution: config.tiles.attribution,
    maxZoom: config.tiles.maxZoom,
  }).addTo(map);
  const areas = L.geoJSON(config.areas, {
    style: (feature) => ({
      color: feature.properties.parts > 1 ? "#b03a00" : "#1f4e9c",
      weight: 2,
      fillOpacity: 0.15,
    }),
    onEachFeature: (feature, shape) => {
      const p = feature.properties;
      const residents = p.population == null ? "" : `, ${p.population.toLocaleString()}`;
      shape.bindTooltip(textElement("span", `${p.code} ${p.name} (${p.units}${residents})`));
    },
  }).addTo(map);
  map.fitBounds(areas.getBounds());
}
