// The analysis choropleth: the table's figures on the map, coloured by the legend's classes.
// Configuration comes through json_script; tooltips are built with textContent only.

const element = document.getElementById("analysis-map");
const configElement = document.getElementById("analysis-map-config");

function tooltipFor(properties, config) {
  const box = document.createElement("div");
  const name = document.createElement("strong");
  name.textContent = properties.name;
  box.append(name);
  const value = config.values[properties.code];
  const line = document.createElement("div");
  line.textContent =
    value === null || value === undefined
      ? "–"
      : `${value.toLocaleString(document.documentElement.lang, { maximumFractionDigits: 1 })} ${config.unit}`;
  box.append(line);
  return box;
}

if (element && configElement) {
  const config = JSON.parse(configElement.textContent);
  const map = L.map(element, { scrollWheelZoom: false });
  L.tileLayer(config.tiles.url, { maxZoom: config.tiles.maxZoom }).addTo(map);
  const attribution = document.createElement("p");
  attribution.className = "map-attribution";
  // The attribution is operator configuration (a setting), not user data.
  attribution.innerHTML = config.tiles.attribution;
  element.after(attribution);
  fetch(config.outlines)
    .then((response) => (response.ok ? response.json() : null))
    .then((data) => {
      if (!data) return;
      const layer = L.geoJSON(data, {
        style: (feature) => {
          const klass = config.classes[feature.properties.code];
          const colour = klass === null || klass === undefined ? "#d9d9d9" : config.colours[klass];
          return { color: "#333333", weight: 0.6, fillColor: colour, fillOpacity: 0.75 };
        },
        onEachFeature: (feature, shape) => {
          shape.bindTooltip(() => tooltipFor(feature.properties, config), { sticky: true });
          shape.on("click", () => {
            if (feature.properties.url) window.location.assign(feature.properties.url);
          });
        },
      }).addTo(map);
      if (layer.getBounds().isValid()) map.fitBounds(layer.getBounds());
    });
}
