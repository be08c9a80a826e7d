// Search as you type and map clicks for the caseworker lookup page.
// The page works without this script: the form posts the typed address.

import { textElement } from "../../atlas/js/safe-content.js";

const config = JSON.parse(document.getElementById("lookup-config").textContent);
const result = JSON.parse(document.getElementById("lookup-result").textContent);
const outline = JSON.parse(document.getElementById("lookup-outline").textContent);

const form = document.getElementById("lookup-form");
const input = document.getElementById("lookup-address");
const list = document.getElementById("lookup-suggestions");
const addressId = document.getElementById("lookup-address-id");
const lat = document.getElementById("lookup-lat");
const lon = document.getElementById("lookup-lon");

let timer = null;
let controller = null;
let active = -1;

function closeList() {
  list.hidden = true;
  list.replaceChildren();
  input.setAttribute("aria-expanded", "false");
  active = -1;
}

function choose(suggestion) {
  if (suggestion.kind === "street" || !suggestion.id) {
    // A street without number: complete the text and let the caseworker type the number.
    input.value = `${suggestion.street} `;
    if (suggestion.id) {
      addressId.value = suggestion.id;
      form.submit();
      return;
    }
    closeList();
    input.focus();
    search();
    return;
  }
  input.value = suggestion.label;
  addressId.value = suggestion.id;
  closeList();
  form.submit();
}

function render(payload) {
  list.replaceChildren();
  const items = payload.results || [];
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = payload.message || config.strings.noMatch;
    list.append(li);
  }
  items.forEach((suggestion, index) => {
    const li = document.createElement("li");
    li.setAttribute("role", "option");
    li.id = `lookup-suggestion-${index}`;
    li.textContent = suggestion.kind === "street"
      ? `${suggestion.label} (${config.strings.street})`
      : suggestion.label;
    li.addEventListener("mousedown", (event) => {
      event.preventDefault();
      choose(suggestion);
    });
    li.suggestion = suggestion;
    list.append(li);
  });
  list.hidden = false;
  input.setAttribute("aria-expanded", "true");
}

async function search() {
  const text = input.value.trim();
  addressId.value = "";
  if (text.length < 2) {
    closeList();
    return;
  }
  if (controller) controller.abort();
  controller = new AbortController();
  // By POST with the page's CSRF token: the typed address never appears in a URL.
  const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  try {
    const response = await fetch(config.searchUrl, {
      method: "POST",
      signal: controller.signal,
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRFToken": token,
      },
      credentials: "same-origin",
      body: JSON.stringify({ q: text, limit: 8 }),
    });
    const payload = await response.json();
    if (!response.ok) {
      render({ results: [], message: (payload.q || [config.strings.noMatch])[0] });
      return;
    }
    render(payload);
  } catch (error) {
    if (error.name !== "AbortError") closeList();
  }
}

function highlight(index) {
  const options = [...list.querySelectorAll("[role=option]")];
  if (!options.length) return;
  active = (index + options.length) % options.length;
  options.forEach((li, i) => li.setAttribute("aria-selected", String(i === active)));
  input.setAttribute("aria-activedescendant", options[active].id);
}

input.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(search, 120);
});
input.addEventListener("keydown", (event) => {
  if (list.hidden) return;
  if (event.key === "ArrowDown") {
    event.preventDefault();
    highlight(active + 1);
  } else if (event.key === "ArrowUp") {
    event.preventDefault();
    highlight(active - 1);
  } else if (event.key === "Enter" && active >= 0) {
    event.preventDefault();
    choose(list.querySelectorAll("[role=option]")[active].suggestion);
  } else if (event.key === "Escape") {
    closeList();
  }
});
input.addEventListener("blur", () => setTimeout(closeList, 150));

const printButton = document.getElementById("lookup-print");
if (printButton) printButton.addEventListener("click", () => window.print());

// The map: the answer's point, its area and the services; a click looks the point up.
const map = L.map("lookup-map").fitBounds(config.bounds);
L.tileLayer(config.tiles.url, { attribution: config.tiles.attribution, maxZoom: config.tiles.maxZoom }).addTo(map);
if (outline) {
  const area = L.geoJSON(JSON.parse(outline), { style: { color: "#1f78b4", weight: 2, fillOpacity: 0.08 } });
  area.addTo(map);
  map.fitBounds(area.getBounds());
}
if (result && result.point) {
  const here = [result.point.lat, result.point.lon];
  L.circleMarker(here, { radius: 8, color: "#e31a1c", fillOpacity: 0.9 })
    .bindTooltip(textElement("span", result.address ? result.address.label : config.strings.point))
    .addTo(map);
  if (!outline) map.setView(here, 15);
  for (const service of result.services || []) {
    L.circleMarker([service.location.lat, service.location.lon], { radius: 5, color: "#33a02c" })
      .bindTooltip(textElement("span", `${service.name} (${service.distance_m} m)`))
      .addTo(map);
  }
}
map.on("click", (event) => {
  lat.value = event.latlng.lat.toFixed(6);
  lon.value = event.latlng.lng.toFixed(6);
  addressId.value = "";
  input.value = "";
  form.submit();
});
