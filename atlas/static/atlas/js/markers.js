// Service markers: compact points from the server, clustered by Leaflet.markercluster,
// each marker and cluster coloured by category.

import { element, textElement } from "./safe-content.js";

const FALLBACK_COLOUR = "#5f6b7a";

export function createClusterLayer(categoriesById, messages) {
  return L.markerClusterGroup({
    chunkedLoading: true,
    chunkInterval: 100,
    chunkDelay: 10,
    showCoverageOnHover: false,
    spiderfyOnMaxZoom: true,
    removeOutsideVisibleBounds: true,
    iconCreateFunction: (cluster) => clusterIcon(cluster, categoriesById, messages),
  });
}

// Markers per category below a cluster, kept on the cluster while its size is unchanged, so
// an icon costs as much as its sub-clusters, not as its (up to tens of thousands) markers.
function categoryShares(cluster) {
  if (cluster._atlasShares && cluster._atlasSharesCount === cluster._childCount) {
    return cluster._atlasShares;
  }
  const shares = new Map();
  for (const marker of cluster._markers) {
    const id = marker.options.categoryId;
    shares.set(id, (shares.get(id) || 0) + 1);
  }
  for (const child of cluster._childClusters) {
    for (const [id, n] of categoryShares(child)) shares.set(id, (shares.get(id) || 0) + n);
  }
  cluster._atlasShares = shares;
  cluster._atlasSharesCount = cluster._childCount;
  return shares;
}

function clusterIcon(cluster, categoriesById, messages) {
  const count = cluster.getChildCount();
  const shares = categoryShares(cluster);
  let start = 0;
  const stops = [];
  for (const [id, n] of [...shares.entries()].sort((a, b) => b[1] - a[1])) {
    const colour = categoriesById.get(id)?.colour || FALLBACK_COLOUR;
    const end = start + (n / count) * 360;
    stops.push(`${colour} ${start.toFixed(1)}deg ${end.toFixed(1)}deg`);
    start = end;
  }
  const size = count < 10 ? 34 : count < 100 ? 40 : count < 1000 ? 46 : 52;
  const label = messages.cluster.replace("%(count)s", count);
  // Styles are set through the DOM, not as style attributes in HTML, which the CSP refuses.
  const countElement = textElement("span", count, "cluster-count");
  countElement.setAttribute("aria-hidden", "true");
  const ring = element("span", [countElement, textElement("span", label, "visually-hidden")], {
    class: "cluster-ring",
  });
  ring.style.background = `conic-gradient(${stops.join(", ")})`;
  return L.divIcon({ className: "cluster", iconSize: L.point(size, size), html: ring });
}

const iconCache = new Map();

// A divIcon whose dot gets its colour through the DOM (a fresh element per marker: one DOM
// node cannot sit in several markers).
const ServiceIcon = L.DivIcon.extend({
  createIcon(oldIcon) {
    const dot = document.createElement("span");
    dot.style.background = this.options.colour;
    this.options.html = dot;
    return L.DivIcon.prototype.createIcon.call(this, oldIcon);
  },
});

function serviceIcon(colour) {
  if (!iconCache.has(colour)) {
    iconCache.set(colour, new ServiceIcon({ className: "service-marker", iconSize: L.point(22, 22), colour }));
  }
  return iconCache.get(colour);
}

export function buildMarkers(points, categoriesById) {
  const markers = new Array(points.length);
  for (let i = 0; i < points.length; i++) {
    const [id, lat, lng, categoryId, name] = points[i];
    const colour = categoriesById.get(categoryId)?.colour || FALLBACK_COLOUR;
    markers[i] = L.marker([lat, lng], {
      icon: serviceIcon(colour),
      title: name,
      keyboard: true,
      serviceId: id,
      categoryId,
    });
  }
  return markers;
}

export async function fetchPoints(url, signal) {
  const response = await fetch(url, {
    signal,
    headers: { Accept: "application/json" },
  });
  if (!response.ok) throw new Error(`points: HTTP ${response.status}`);
  return response.json();
}

function isEnter(event) {
  return event.originalEvent?.key === "Enter" || event.originalEvent?.keyCode === 13;
}

export function bindPopups(layer, popupUrl, messages) {
  // Markers and clusters are buttons: Enter opens a popup or zooms into a cluster.
  layer.on("keypress", (event) => {
    if (isEnter(event)) openPopup(event);
  });
  layer.on("click", (event) => openPopup(event));
  layer.on("clusterkeypress", (event) => {
    if (!isEnter(event)) return;
    const map = layer._map;
    event.layer.zoomToBounds({ padding: [24, 24] });
    map?.once("moveend", () => map.getContainer().focus({ preventScroll: true }));
  });

  async function openPopup(event) {
    const marker = event.layer;
    const id = marker.options.serviceId;
    if (!marker.getPopup()) {
      marker.bindPopup(textElement("p", messages.popupLoading), { maxWidth: 280, autoPanPadding: [24, 24] });
    }
    marker.openPopup();
    if (marker.options.popupLoaded) return focusPopup(marker);
    const response = await fetch(popupUrl.replace("/0/", `/${id}/`));
    if (response.ok) {
      marker.setPopupContent(await response.text());
      marker.options.popupLoaded = true;
      focusPopup(marker);
    }
  }

  layer.on("popupclose", (event) => {
    const element = event.layer?.getElement?.();
    if (element && element.contains(document.activeElement) === false) {
      element.focus({ preventScroll: true });
    }
  });
}

function focusPopup(marker) {
  // Keyboard users land on the popup's link; Escape closes it and returns to the marker.
  const element = marker.getPopup()?.getElement();
  element?.querySelector(".popup-link")?.focus({ preventScroll: true });
}
