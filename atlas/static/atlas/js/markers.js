// Service markers per map tile: the server clusters them per web-mercator tile
// (/karte/kacheln/z/x/y.json, atlas/site/tiles.py), so the browser fetches and draws only the
// clusters and single markers of the tiles in view, however many services there are.
// Clusters and markers are Leaflet markers (DOM elements): focusable, named for screen
// readers, Enter zooms into a cluster or opens a marker's popup.

import { element, textElement } from "./safe-content.js";

const FALLBACK_COLOUR = "#5f6b7a";
// Tiles are asked for one zoom level above the map's and drawn 512 px wide: a quarter of
// the requests of 256-px tiles, with the server's cells still 64 px on screen.
const TILE_SIZE = 512;
// Tiles kept in memory, so panning back draws at once without a request.
const CACHE_LIMIT = 400;

function clusterIcon(count, shares, categoriesById, messages) {
  let start = 0;
  const stops = [];
  for (const [id, n] of shares) {
    const colour = categoriesById.get(id)?.colour || FALLBACK_COLOUR;
    const end = start + (n / count) * 360;
    stops.push(`${colour} ${start.toFixed(1)}deg ${end.toFixed(1)}deg`);
    start = end;
  }
  const size = count < 10 ? 34 : count < 100 ? 40 : count < 1000 ? 46 : 52;
  const shown = count.toLocaleString(document.documentElement.lang);
  const label = messages.cluster.replace("%(count)s", shown);
  // Styles are set through the DOM, not as style attributes in HTML, which the CSP refuses.
  const countElement = textElement("span", shown, "cluster-count");
  countElement.setAttribute("aria-hidden", "true");
  const ring = element("span", [countElement, textElement("span", label, "visually-hidden")], {
    class: "cluster-ring",
  });
  ring.style.background = `conic-gradient(${stops.join(", ")})`;
  return L.divIcon({ className: "cluster", iconSize: L.point(size, size), html: ring });
}

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

const iconCache = new Map();

function serviceIcon(colour) {
  if (!iconCache.has(colour)) {
    iconCache.set(colour, new ServiceIcon({ className: "service-marker", iconSize: L.point(22, 22), colour }));
  }
  return iconCache.get(colour);
}

function tileLayer(data, categoriesById, messages) {
  const layers = [];
  for (const [lat, lng, count, [south, west, north, east], shares] of data.clusters) {
    layers.push(
      L.marker([lat, lng], {
        icon: clusterIcon(count, shares, categoriesById, messages),
        keyboard: true,
        clusterBounds: L.latLngBounds([south, west], [north, east]),
        count,
      }),
    );
  }
  // Services at one point (one address) would lie on top of each other even at the highest
  // zoom: one marker stands for all of them and its popup lists them.
  const places = new Map();
  for (const marker of data.markers) {
    const key = `${marker[1]},${marker[2]}`;
    if (!places.has(key)) places.set(key, []);
    places.get(key).push(marker);
  }
  for (const place of places.values()) {
    const [id, lat, lng, categoryId, name] = place[0];
    const colour = categoriesById.get(categoryId)?.colour || FALLBACK_COLOUR;
    if (place.length === 1) {
      layers.push(L.marker([lat, lng], { icon: serviceIcon(colour), title: name, keyboard: true, serviceId: id }));
      continue;
    }
    const label = messages.place.replace("%(count)s", place.length.toLocaleString(document.documentElement.lang));
    layers.push(
      L.marker([lat, lng], {
        icon: placeIcon(colour, place.length),
        title: label,
        keyboard: true,
        services: place.map(([serviceId, , , , serviceName]) => [serviceId, serviceName]),
      }),
    );
  }
  return L.featureGroup(layers);
}

// A marker for several services at one point: the dot with their number.
function placeIcon(colour, count) {
  const dot = textElement("span", String(count), "place-count");
  dot.setAttribute("aria-hidden", "true");
  dot.style.borderColor = colour;
  return L.divIcon({ className: "service-marker place-marker", iconSize: L.point(26, 26), html: dot });
}

// Each tile is drawn in a task of its own: tiles from the cache would otherwise all be
// drawn in one task (hundreds of markers after a zoom: a long task while panning).
function nextTask() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function tileCount(data) {
  let n = data.markers.length;
  for (const cluster of data.clusters) n += cluster[2];
  return n;
}

// The layer of service markers. `show(query)` draws the filtered services (query: the
// filters as URLSearchParams text); the tiles in view follow the map as it moves.
// `onDrawn({ shown })` is called once every tile of the view is drawn.
export function createServiceMarkers(map, config, categoriesById, messages, { onFirst, onDrawn, onFailed }) {
  const group = L.featureGroup().addTo(map);
  const drawn = new Map(); // tile key -> layer on the map
  const cache = new Map(); // URL -> tile data (insertion order: oldest first)
  let query = null;
  let controller = null;
  let generation = 0;

  function tileUrl(z, x, y) {
    const path = config.urls.tile.replace("{z}", z).replace("{x}", x).replace("{y}", y);
    return query ? `${path}?${query}` : path;
  }

  async function fetchTile(url, signal) {
    if (cache.has(url)) return cache.get(url);
    const response = await fetch(url, { signal, headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`tile: HTTP ${response.status}`);
    const data = await response.json();
    cache.set(url, data);
    if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value);
    return data;
  }

  function tilesInView() {
    const z = Math.max(Math.round(map.getZoom()) - 1, 0);
    const bounds = map.getPixelBounds();
    const last = 2 ** z - 1;
    const clamp = (n) => Math.min(Math.max(n, 0), last);
    const tiles = [];
    for (let x = clamp(Math.floor(bounds.min.x / TILE_SIZE)); x <= clamp(Math.floor(bounds.max.x / TILE_SIZE)); x++) {
      for (let y = clamp(Math.floor(bounds.min.y / TILE_SIZE)); y <= clamp(Math.floor(bounds.max.y / TILE_SIZE)); y++) {
        tiles.push({ z, x, y, key: `${z}/${x}/${y}` });
      }
    }
    return tiles;
  }

  async function update() {
    if (query === null) return;
    const current = ++generation;
    // Tests and the benchmark wait for "drawn": every tile of the view is on the map.
    map.getContainer().dataset.tiles = "loading";
    controller?.abort();
    controller = new AbortController();
    const signal = controller.signal;
    const tiles = tilesInView();
    const wanted = new Set(tiles.map((t) => t.key));
    let shown = 0;
    let first = drawn.size > 0;
    const draw = (tile, data) => {
      if (current !== generation) return;
      shown += tileCount(data);
      if (drawn.has(tile.key)) return;
      // Another zoom level's clusters would overlap these: they go with the first new tile.
      for (const [key, layer] of drawn) {
        if (!key.startsWith(`${tile.z}/`)) {
          group.removeLayer(layer);
          drawn.delete(key);
        }
      }
      const layer = tileLayer(data, categoriesById, messages);
      drawn.set(tile.key, layer);
      group.addLayer(layer);
      if (!first) {
        first = true;
        onFirst?.();
      }
    };
    const loads = tiles.map((tile) =>
      fetchTile(tileUrl(tile.z, tile.x, tile.y), signal).then(async (data) => {
        await nextTask();
        draw(tile, data);
      }),
    );
    try {
      await Promise.all(loads);
    } catch (error) {
      if (error.name !== "AbortError" && current === generation) onFailed?.(error);
      return;
    }
    if (current !== generation) return;
    // Tiles that left the view (or another zoom level's) go only now, so the map is never
    // empty while the new ones load.
    for (const [key, layer] of drawn) {
      if (!wanted.has(key)) {
        group.removeLayer(layer);
        drawn.delete(key);
      }
    }
    map.getContainer().dataset.tiles = "drawn";
    onDrawn?.({ shown });
  }

  map.on("moveend", update);

  return {
    group,
    show(newQuery) {
      if (newQuery !== query) {
        query = newQuery;
        group.clearLayers();
        drawn.clear();
      }
      return update();
    },
  };
}

export async function fetchCount(url, signal) {
  const response = await fetch(url, { signal, headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`count: HTTP ${response.status}`);
  return (await response.json()).count;
}

function isEnter(event) {
  return event.originalEvent?.key === "Enter" || event.originalEvent?.keyCode === 13;
}

function zoomInto(map, cluster) {
  // The cluster's services lie in its bounds: show them, at least one level closer.
  const bounds = cluster.options.clusterBounds;
  const target = Math.max(map.getBoundsZoom(bounds.pad(0.2)), map.getZoom() + 1);
  map.setView(bounds.getCenter(), Math.min(target, map.getMaxZoom()));
}

// The popup of a marker for several services: their names (as text), each a link to its page.
function placePopup(marker, serviceUrl, messages) {
  const services = marker.options.services;
  const items = services.map(([id, name], index) => {
    const link = textElement("a", name, index === 0 ? "popup-link" : "");
    link.href = serviceUrl.replace("/0/", `/${id}/`);
    return element("li", [link]);
  });
  return element(
    "div",
    [textElement("h2", marker.options.title, "popup-title"), element("ul", items, { class: "popup-places" })],
    { class: "popup" },
  );
}

// urls: `popup` and `service`, each with 0 in place of the service id.
export function bindPopups(layer, urls, messages) {
  // Markers and clusters are buttons: Enter opens a popup or zooms into a cluster.
  layer.on("keypress", (event) => {
    if (!isEnter(event)) return;
    if (event.layer.options.clusterBounds) {
      const map = layer._map;
      zoomInto(map, event.layer);
      map.once("moveend", () => map.getContainer().focus({ preventScroll: true }));
    } else {
      openPopup(event);
    }
  });
  layer.on("click", (event) => {
    if (event.layer.options.clusterBounds) zoomInto(layer._map, event.layer);
    else openPopup(event);
  });

  async function openPopup(event) {
    const marker = event.layer;
    if (marker.options.services) {
      if (!marker.getPopup()) {
        marker.bindPopup(placePopup(marker, urls.service, messages), { maxWidth: 280, autoPanPadding: [24, 24] });
      }
      marker.openPopup();
      return focusPopup(marker);
    }
    const id = marker.options.serviceId;
    if (!marker.getPopup()) {
      marker.bindPopup(textElement("p", messages.popupLoading), { maxWidth: 280, autoPanPadding: [24, 24] });
    }
    marker.openPopup();
    if (marker.options.popupLoaded) return focusPopup(marker);
    const response = await fetch(urls.popup.replace("/0/", `/${id}/`));
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
