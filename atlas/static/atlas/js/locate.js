// "Near me": the browser's position (asked only when the person presses the button) and a radius.

export function setUpLocate(map, form, messages, status, onChange) {
  const fieldset = form.querySelector(".near-me");
  const button = form.querySelector("#locate");
  const clear = form.querySelector('[data-clear="near"]');
  const near = form.elements.near;
  const radius = form.elements.radius;
  if (!fieldset || !button || !("geolocation" in navigator)) return { draw() {} };
  fieldset.hidden = false;
  let circle = null;

  function draw() {
    if (circle) {
      map.removeLayer(circle);
      circle = null;
    }
    // The API's order: longitude first.
    const [lng, lat] = near.value.split(",").map(Number);
    if (!Number.isFinite(lat) || !Number.isFinite(lng)) return null;
    circle = L.circle([lat, lng], {
      radius: Number(radius.value) || 1000,
      color: "#0b5394",
      weight: 2,
      fillOpacity: 0.05,
      interactive: false,
    }).addTo(map);
    clear.hidden = false;
    return circle;
  }

  button.addEventListener("click", () => {
    status.textContent = messages.locating;
    navigator.geolocation.getCurrentPosition(
      (position) => {
        near.value = `${position.coords.longitude.toFixed(5)},${position.coords.latitude.toFixed(5)}`;
        radius.disabled = false;
        const drawn = draw();
        if (drawn) map.fitBounds(drawn.getBounds());
        onChange();
      },
      () => {
        status.textContent = messages.locationFailed;
      },
      { enableHighAccuracy: false, timeout: 10000, maximumAge: 60000 },
    );
  });
  radius.addEventListener("change", () => draw());
  clear.addEventListener("click", () => {
    near.value = "";
    radius.disabled = true;
    clear.hidden = true;
    draw();
    onChange();
  });
  return { draw };
}
