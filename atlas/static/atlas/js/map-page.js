// The public map page (and /embed/): wires map, markers, filters, areas and URL state together.

import { createAreaLayer } from "./areas.js";
import { setUpDrawer } from "./drawer.js";
import { setUpLocate } from "./locate.js";
import { bindPopups, createServiceMarkers, fetchCount } from "./markers.js";
import { formParams, readView, writeUrl } from "./url-state.js";

const config = JSON.parse(document.getElementById("map-config").textContent);
const messages = config.messages;
const form = document.getElementById("filter-form");
const status = document.getElementById("map-status");
const categoriesById = new Map(config.categories.map((c) => [c.id, c]));
const initial = new URLSearchParams(window.location.search);

const map = L.map("map", { zoomControl: true, minZoom: config.minZoom, maxZoom: config.tiles.maxZoom });
L.tileLayer(config.tiles.url, { attribution: config.tiles.attribution, maxZoom: config.tiles.maxZoom }).addTo(map);
map.attributionControl.setPrefix(false);
map.attributionControl.addAttribution(config.dataAttribution);
const view = readView(window.location.hash);
if (view) map.setView([view.lat, view.lng], view.zoom);
else map.fitBounds(config.bounds);

const drawer = setUpDrawer(
  document.getElementById("drawer"),
  document.querySelector(".drawer-toggle"),
  document.querySelector(".drawer-close"),
);
const locate = setUpLocate(map, form, messages, status, () => apply());
locate.draw();

const areaRadios = document.querySelectorAll('input[name="areas"]');
const areas = createAreaLayer(map, config, (areaId) => {
  setHidden("area", areaId);
  apply();
});

function setHidden(name, value) {
  let input = form.elements[name];
  if (!input) {
    input = Object.assign(document.createElement("input"), { type: "hidden", name });
    form.prepend(input);
  }
  input.value = value;
}

function stateParams() {
  return formParams(form, { areas: areas.slug });
}

function filterParams() {
  const params = formParams(form);
  params.delete("areas");
  return params;
}

function linkLists() {
  const query = filterParams().toString();
  for (const link of document.querySelectorAll("#list-link, .list-link-text")) {
    link.href = `${config.urls.list}${query ? `?${query}` : ""}`;
  }
}

let controller = null;
let total = null;
// The first count is the one the page preloads (same URL, built by the server).
let countUrl = config.urls.initialCount;

function showStatus() {
  document.body.classList.remove("is-loading");
  document.body.dataset.markers = String(total);
  performance.mark("atlas:markers-drawn");
  status.textContent =
    total === 0
      ? messages.countNone
      : total === 1
        ? messages.countOne
        : messages.count.replace("%(count)s", total.toLocaleString(document.documentElement.lang));
}

const markers = createServiceMarkers(map, config, categoriesById, messages, {
  onFirst: () => performance.mark("atlas:first-markers"),
  onFailed: () => {
    status.textContent = messages.loadFailed;
    document.body.classList.remove("is-loading");
  },
});
bindPopups(markers.group, config.urls, messages);

async function apply() {
  writeUrl(stateParams(), map);
  linkLists();
  controller?.abort();
  controller = new AbortController();
  status.textContent = messages.loading;
  document.body.classList.add("is-loading");
  delete document.body.dataset.markers;
  const query = filterParams().toString();
  const count = fetchCount(countUrl || `${config.urls.count}${query ? `?${query}` : ""}`, controller.signal);
  countUrl = null;
  const signal = controller.signal;
  try {
    // The tiles in view and the number of services the filters match, side by side.
    const [, found] = await Promise.all([markers.show(query), count]);
    total = found;
  } catch (error) {
    if (error.name === "AbortError" || signal.aborted) return;
    status.textContent = messages.loadFailed;
    document.body.classList.remove("is-loading");
    return;
  }
  if (!signal.aborted) showStatus();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  drawer.closeOnPhone();
  apply();
});
form.addEventListener("change", (event) => {
  if (event.target.name === "q") return;
  apply();
});
let typing = null;
form.elements.q.addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(apply, 400);
});
form.addEventListener("click", (event) => {
  const name = event.target.dataset?.clear;
  if (name === "area") {
    form.elements.area.value = "";
    event.target.closest(".active-area")?.remove();
    apply();
  }
});
form.querySelector('a.button[href]')?.addEventListener("click", (event) => {
  event.preventDefault();
  form.reset();
  for (const input of form.querySelectorAll("input[type=checkbox]")) input.checked = false;
  for (const input of form.querySelectorAll("input[type=search], input[type=number], input[type=hidden]")) {
    input.value = "";
  }
  form.querySelector(".active-area")?.remove();
  locate.draw();
  apply();
});

for (const radio of areaRadios) {
  radio.checked = radio.value === (initial.get("areas") || "");
  radio.addEventListener("change", () => {
    areas.show(radio.value).then(() => writeUrl(stateParams(), map));
  });
}
if (initial.get("areas")) areas.show(initial.get("areas"));

map.on("moveend", () => writeUrl(stateParams(), map));
apply();
