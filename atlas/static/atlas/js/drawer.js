// On phones the filters live in a drawer over the map; on wide screens it is a side panel.

export function setUpDrawer(drawer, toggle, close) {
  const narrow = window.matchMedia("(max-width: 47.99em)");
  toggle.hidden = false;
  close.hidden = false;

  function setOpen(open, { returnFocus = true } = {}) {
    drawer.classList.toggle("is-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    if (open) {
      drawer.querySelector("input:not([type=hidden]), select")?.focus();
    } else if (returnFocus && drawer.contains(document.activeElement)) {
      toggle.focus();
    }
  }

  toggle.addEventListener("click", () => setOpen(!drawer.classList.contains("is-open")));
  close.addEventListener("click", () => setOpen(false));
  drawer.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && narrow.matches) setOpen(false);
  });
  return {
    closeOnPhone() {
      if (narrow.matches) setOpen(false);
    },
  };
}
