// The public map page (and /embed/): wires map, markers, filters, areas and URL state together.

import { createAreaLayer } from "./areas.js";
import { setUpDrawer } from "./drawer.js";
import { setUpLocate } from "./locate.js";
import { bindPopups, buildMarkers, createClusterLayer, fetchPoints } from "./markers.js";
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

const clusters = createClusterLayer(categoriesById, messages).addTo(map);
bindPopups(clusters, config.urls.popup, messages);

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
// The first request is the one the page preloads (same URL, built by the server).
let pointsUrl = config.urls.initialPoints;

async function apply() {
  writeUrl(stateParams(), map);
  linkLists();
  controller?.abort();
  controller = new AbortController();
  status.textContent = messages.loading;
  document.body.classList.add("is-loading");
  let data;
  try {
    const url = pointsUrl || `${config.urls.points}?${filterParams()}`;
    pointsUrl = null;
    data = await fetchPoints(url, controller.signal);
  } catch (error) {
    if (error.name === "AbortError") return;
    status.textContent = messages.loadFailed;
    document.body.classList.remove("is-loading");
    return;
  }
  performance.mark("atlas:points-received");
  clusters.clearLayers();
  const markers = buildMarkers(data.points, categoriesById);
  performance.mark("atlas:markers-built");
  clusters.options.chunkProgress = (done, total) => {
    if (done === total) {
      document.body.classList.remove("is-loading");
      document.body.dataset.markers = String(data.count);
      performance.mark("atlas:markers-drawn");
      status.textContent =
        data.count === 0
          ? messages.countNone
          : data.count === 1
            ? messages.countOne
            : messages.count.replace("%(count)s", data.count.toLocaleString(document.documentElement.lang));
    }
  };
  clusters.addLayers(markers);
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
