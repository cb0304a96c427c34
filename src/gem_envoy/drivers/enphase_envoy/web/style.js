// The solar pages' own stylesheet, added to the document once, by whichever page is shown
// first. Its URL comes from this module's own, so the host may serve the folder anywhere.

import { h } from "/js/dom.js";

const HREF = new URL("./solar.css", import.meta.url).pathname;

export function useStyle() {
  if (document.querySelector(`link[data-driver-style="${HREF}"]`)) return;
  document.head.append(h("link", { rel: "stylesheet", href: HREF, dataset: { driverStyle: HREF } }));
}
