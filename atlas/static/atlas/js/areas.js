// The planning-area layer switcher: outlines of one layer, each clickable to list what is inside.

import { element, textElement } from "./safe-content.js";

const STYLE = { color: "#1d3557", weight: 1.5, opacity: 0.8, fillColor: "#1d3557", fillOpacity: 0.06 };
const HOVER = { weight: 3, fillOpacity: 0.15 };

export function createAreaLayer(map, config, onFilterArea) {
  let current = null;
  let currentSlug = "";
  const cache = new Map();

  async function show(slug) {
    currentSlug = slug;
    if (current) {
      map.removeLayer(current);
      current = null;
    }
    if (!slug) return;
    if (!cache.has(slug)) {
      const response = await fetch(config.urls.outlines.replace("__layer__", slug));
      if (!response.ok) return;
      cache.set(slug, await response.json());
    }
    if (slug !== currentSlug) return;
    current = L.geoJSON(cache.get(slug), {
      style: STYLE,
      onEachFeature: (feature, layer) => {
        const p = feature.properties;
        const count = config.messages.areaServices.replace("%(count)s", p.services);
        layer.bindTooltip(textElement("span", p.name), { sticky: true });
        const link = textElement("a", config.messages.areaList, "popup-link");
        link.href = p.url;
        const filter = textElement("button", config.messages.areaFilter, "link-button");
        filter.type = "button";
        filter.dataset.area = String(feature.id);
        layer.bindPopup(
          element("div", [
            textElement("h2", p.name, "popup-title"),
            textElement("p", count),
            element("p", [link]),
            element("p", [filter]),
          ], { class: "popup" }),
        );
        layer.on("mouseover", () => layer.setStyle(HOVER));
        layer.on("mouseout", () => layer.setStyle(STYLE));
        layer.on("popupopen", (event) => {
          const element = event.popup.getElement();
          element.querySelector(".popup-link")?.focus({ preventScroll: true });
          element.querySelector("[data-area]")?.addEventListener("click", () => {
            map.closePopup();
            onFilterArea(String(feature.id));
          });
        });
      },
    }).addTo(map);
    current.bringToBack();
  }

  return { show, get slug() { return currentSlug; } };
}
