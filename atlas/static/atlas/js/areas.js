// The planning-area layer switcher: outlines of one layer, each clickable to list what is inside.

const STYLE = { color: "#1d3557", weight: 1.5, opacity: 0.8, fillColor: "#1d3557", fillOpacity: 0.06 };
const HOVER = { weight: 3, fillOpacity: 0.15 };

function escapeHtml(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span.innerHTML;
}

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
        layer.bindTooltip(escapeHtml(p.name), { sticky: true });
        layer.bindPopup(
          `<div class="popup"><h2 class="popup-title">${escapeHtml(p.name)}</h2><p>${count}</p>` +
            `<p><a class="popup-link" href="${p.url}">${config.messages.areaList}</a></p>` +
            `<p><button type="button" class="link-button" data-area="${feature.id}">${config.messages.areaFilter}</button></p></div>`,
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
