// The drivers' own pages. A driver may ship ES modules, which the host serves under
// /drivers/<name>/; each of its pages becomes a tab, and its module is imported the first
// time the page is shown. A page module exports mount(main, ctx), like the host's views.

import { driverInfo, driverNames } from "./drivers.js";

const modules = new Map(); // module URL -> a promise of the module

/**
 * Every page of every driver, in driver-name order: [{route, title, module, driver}].
 * A route already taken (by the host's own pages or an earlier driver) is skipped, with a
 * warning: the first one keeps it, so no driver can hide another's page or an admin page.
 */
export async function driverPages(taken) {
  const routes = new Set(taken);
  const pages = [];
  for (const name of await driverNames()) {
    let info;
    try {
      info = await driverInfo(name);
    } catch (err) {
      console.warn(`the pages of driver ${name} are not shown: ${err.message}`);
      continue;
    }
    for (const page of info.pages) {
      if (routes.has(page.route)) {
        console.warn(`driver ${name}: the route #/${page.route} is taken; page not shown`);
        continue;
      }
      routes.add(page.route);
      pages.push({ ...page, driver: name });
    }
  }
  return pages;
}

/** The page's module, imported once. */
export function pageModule(page) {
  if (!modules.has(page.module)) {
    const loading = import(page.module);
    loading.catch(() => modules.delete(page.module)); // a failed load is tried again
    modules.set(page.module, loading);
  }
  return modules.get(page.module);
}
