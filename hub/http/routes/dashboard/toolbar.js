// The toolbar: search, filter, the summary counts, bulk selection and Escape to clear it.
import { drawSelection, setUpBulk } from "./bulk.js";
import { $ } from "./dom.js";
import { drawCounts, FILTERS, makeCounts } from "./find.js";
import { markAll } from "./rack.js";
import { selected, view } from "./state.js";

/** After the search, filter or selection changed. */
export function viewChanged() {
  markAll();
  drawCounts();
  drawSelection();
}

/** Wires the toolbar's controls. */
export function setUpToolbar() {
  const search = $("#search");
  search.addEventListener("input", () => {
    view.query = search.value;
    viewChanged();
  });
  const filter = $("#filter");
  for (const [name, [label]] of Object.entries(FILTERS)) {
    const o = document.createElement("option");
    o.value = name;
    o.textContent = label;
    filter.append(o);
  }
  const setFilter = (name) => {
    view.filter = name;
    filter.value = name;
    viewChanged();
  };
  filter.addEventListener("change", () => setFilter(filter.value));
  makeCounts(setFilter);
  setUpBulk({ changed: viewChanged });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !document.querySelector("dialog[open]") && selected.size > 0) {
      selected.clear();
      view.selecting = false;
      viewChanged();
    }
  });
}
