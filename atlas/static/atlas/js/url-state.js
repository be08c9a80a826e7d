// The map's state lives in its URL, so every view can be shared or bookmarked:
// filters in the query string (the same parameters /liste/ and /embed/ understand)
// and the map view in the hash as #zoom/lat/lng.

export function formParams(form, extra = {}) {
  // Several checked boxes of one name become one comma-separated value, as the API expects.
  const values = new Map();
  for (const [name, value] of new FormData(form)) {
    if (value === "") continue;
    values.set(name, [...(values.get(name) || []), value]);
  }
  const params = new URLSearchParams();
  for (const [name, list] of values) params.set(name, list.join(","));
  if (!params.has("near")) params.delete("radius");
  for (const [name, value] of Object.entries(extra)) {
    if (value) params.set(name, value);
  }
  return params;
}

export function readView(hash) {
  const parts = hash.replace(/^#/, "").split("/").map(Number);
  if (parts.length !== 3 || parts.some((n) => !Number.isFinite(n))) return null;
  const [zoom, lat, lng] = parts;
  if (zoom < 0 || zoom > 22 || Math.abs(lat) > 90 || Math.abs(lng) > 180) return null;
  return { zoom, lat, lng };
}

export function viewHash(map) {
  const center = map.getCenter();
  return `#${map.getZoom()}/${center.lat.toFixed(5)}/${center.lng.toFixed(5)}`;
}

export function writeUrl(params, map) {
  const query = params.toString();
  const url = `${window.location.pathname}${query ? `?${query}` : ""}${viewHash(map)}`;
  if (url !== window.location.pathname + window.location.search + window.location.hash) {
    window.history.replaceState(null, "", url);
  }
}
