// The one way our map scripts put text into Leaflet tooltips and popups.
// Leaflet inserts a string given to bindTooltip/bindPopup/setContent as HTML, so names typed by
// organisations (services, areas, addresses) must never reach it as a string: these helpers
// build DOM nodes whose text is set with textContent, which Leaflet inserts as they are.

// An element with the given text (never parsed as HTML) and optional class name.
export function textElement(tag, text, className = "") {
  const element = document.createElement(tag);
  element.textContent = text == null ? "" : String(text);
  if (className) element.className = className;
  return element;
}

// An element holding children (nodes or plain strings, both inserted as text).
export function element(tag, children = [], attributes = {}) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children.map((child) => (child instanceof Node ? child : String(child))));
  return node;
}
